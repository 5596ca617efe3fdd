//! Walking collections: recursion in name order, symbolic links, loops, special files; and
//! reading from a FIFO.

use std::path::{Path, PathBuf};
use std::process::Command;

use nigehban_logfiles::{ErrorKind, Format, LogFile, ReadOptions, walk};

use crate::util::read_all;

/// What a walk gave: files as paths relative to `root`, errors as `path: kind`.
fn walked(root: &Path, paths: &[PathBuf]) -> Vec<String> {
    walk(paths)
        .map(|item| match item {
            Ok(path) => path.strip_prefix(root).unwrap().display().to_string(),
            Err(error) => {
                let relative = error
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                let kind = match error.kind() {
                    ErrorKind::DirectoryLoop => "loop",
                    ErrorKind::BrokenSymlink => "broken link",
                    ErrorKind::NotAFile(_) => "not a file",
                    ErrorKind::Io(_) => "io",
                    other => panic!("{other}"),
                };
                format!("{relative}: {kind}")
            }
        })
        .collect()
}

/// Makes a named pipe with coreutils' `mkfifo`, on every Linux machine the tests run on.
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status();
    assert!(
        status.as_ref().is_ok_and(|status| status.success()),
        "mkfifo {}: {status:?}",
        path.display()
    );
}

#[test]
fn directories_are_walked_in_name_order_following_links_without_loops() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("collection");
    std::fs::create_dir_all(root.join("host-b/logs")).unwrap();
    std::fs::create_dir_all(root.join("host-a")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    for file in [
        "host-a/Security.evtx",
        "host-b/logs/eve.json",
        "host-b/.hidden.ndjson",
        "host-b/README",
    ] {
        std::fs::write(root.join(file), "{}\n").unwrap();
    }
    let symlink =
        |target: &str, link: &str| std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    symlink("..", "host-b/logs/up"); // a loop back to host-b
    symlink("host-a/Security.evtx", "same-file.evtx"); // read once
    symlink("nowhere.json", "broken.json");
    mkfifo(&root.join("host-b/pipe"));

    let mut expected = vec![
        "empty/",
        "host-a/Security.evtx",
        "host-b/.hidden.ndjson",
        "host-b/README",
        "host-b/logs/eve.json",
        "host-b/logs/up: loop",
        "host-b/pipe: not a file",
        "broken.json: broken link",
    ];
    expected.retain(|line| *line != "empty/");
    // `broken.json` sorts before `empty`, `host-a`...
    expected.retain(|line| *line != "broken.json: broken link");
    expected.insert(0, "broken.json: broken link");
    assert_eq!(walked(&root, std::slice::from_ref(&root)), expected);
}

#[test]
fn given_paths_are_taken_in_order_and_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("logs")).unwrap();
    std::fs::write(root.join("logs/b.json"), "{}\n").unwrap();
    std::fs::write(root.join("a.json"), "{}\n").unwrap();
    let paths = [
        root.join("logs"),
        root.join("a.json"),
        root.join("logs/b.json"),
        root.join("missing.json"),
        root.join("logs"),
    ];
    assert_eq!(
        walked(root, &paths),
        ["logs/b.json", "a.json", "missing.json: io", "logs: loop"]
    );
}

#[test]
fn a_fifo_given_by_name_is_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("events.pipe");
    mkfifo(&fifo);
    let lines: String = (1..=1000).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let writer = {
        let fifo = fifo.clone();
        let lines = lines.clone();
        std::thread::spawn(move || std::fs::write(fifo, lines).unwrap())
    };
    assert_eq!(
        walked(dir.path(), std::slice::from_ref(&fifo)),
        ["events.pipe"]
    );
    let file = LogFile::open(&fifo).unwrap();
    assert_eq!(file.format(), Format::JsonLines);
    let (records, errors) = {
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for item in file.records() {
            match item {
                Ok(record) => records.push(record),
                Err(error) => errors.push(error),
            }
        }
        (records, errors)
    };
    writer.join().unwrap();
    assert!(errors.is_empty());
    assert_eq!(records.len(), 1000);
    assert_eq!(records[999].event["n"], 1000);
}

#[test]
fn evtx_through_a_fifo_reads_like_the_file() {
    let Some(corpus) = crate::util::corpus() else {
        return;
    };
    let sample = corpus.join(
        "events/evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    );
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("evtx.pipe");
    mkfifo(&fifo);
    let bytes = std::fs::read(&sample).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    let (streamed, errors) = read_all(&fifo, &ReadOptions::default());
    writer.join().unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let (from_file, _) = read_all(&sample, &ReadOptions::default());
    // A stream's chunks come in stored order, the file's in record order: same records.
    let key = |record: &nigehban_logfiles::Record| (record.position, record.event.to_string());
    let mut streamed: Vec<_> = streamed.iter().map(key).collect();
    let mut from_file: Vec<_> = from_file.iter().map(key).collect();
    streamed.sort();
    from_file.sort();
    assert_eq!(streamed, from_file);
}
