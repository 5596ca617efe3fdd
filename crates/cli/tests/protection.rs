//! The real `nigehban` binary against an insider with the database but not
//! the audit key: a forged row with the whole chain recomputed, a cut tail
//! with the head moved back, an emptied log, a database rolled back to an
//! earlier genuine state (caught by a head anchored with `audit head`);
//! `audit verify` that needs the key and changes nothing; a data directory
//! nobody else can read; and, on PostgreSQL, a server role that cannot touch
//! the audit log's protection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use nigehban_app::model::{
    Actor, ActorKind, AuditAction, AuditEntry, ChainHash, JsonText, Timestamp,
};

use postgres::{ScratchDatabase, psql};
use server::{Server, Session, create_user, nigehban, serve};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Creates users with `admin create-user` (the first sets the platform up).
fn create_users(storage: &[&str], users: &[&str]) {
    for username in users {
        create_user(storage, username, &[], "a long enough passphrase");
    }
}

fn audit(storage: &[&str], args: &[&str]) -> Output {
    nigehban()
        .arg("audit")
        .args(args)
        .args(storage)
        .output()
        .unwrap()
}

/// `audit verify`: (exit code, standard output, standard error).
fn verify(storage: &[&str], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    let output = audit(storage, &args);
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// `audit head`: the `SEQ:HASH` line.
fn head(storage: &[&str]) -> String {
    let output = audit(storage, &["head"]);
    assert!(output.status.success(), "{output:?}");
    let line = text(&output.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    line.trim().to_owned()
}

/// Every audit entry as stored, read the way an attacker with the file would.
fn entries(db: &rusqlite::Connection) -> Vec<AuditEntry> {
    let mut stmt = db
        .prepare("SELECT seq, id, instance_id, tenant_id, at_micros, actor_kind, actor_user, actor_token, actor_tenant, action, record_kind, record_id, before_json, after_json, remote_addr, prev_hash, hash FROM audit_log ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([], |row| {
            let id = |i: usize| row.get::<_, Option<String>>(i);
            let hash = |i: usize| {
                row.get::<_, Vec<u8>>(i)
                    .map(|b| ChainHash::from_slice(&b).unwrap())
            };
            Ok(AuditEntry {
                seq: row.get::<_, i64>(0)? as u64,
                id: row.get::<_, String>(1)?.parse().unwrap(),
                instance: row.get::<_, String>(2)?.parse().unwrap(),
                tenant: row.get::<_, String>(3)?.parse().unwrap(),
                at: Timestamp::from_unix_micros(row.get(4)?),
                actor: Actor {
                    kind: ActorKind::from_word(&row.get::<_, String>(5)?).unwrap(),
                    user: id(6)?.map(|t| t.parse().unwrap()),
                    token: id(7)?.map(|t| t.parse().unwrap()),
                    tenant: id(8)?.map(|t| t.parse().unwrap()),
                },
                action: AuditAction::named(row.get::<_, String>(9)?),
                record_kind: row.get(10)?,
                record_id: row.get(11)?,
                before: row.get::<_, Option<String>>(12)?.map(JsonText::from_stored),
                after: row.get::<_, Option<String>>(13)?.map(JsonText::from_stored),
                remote_addr: row.get(14)?,
                prev_hash: hash(15)?,
                hash: hash(16)?,
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// An insider's first step: the triggers that keep the log append-only go.
fn open_as_insider(data_dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(data_dir.join("nigehban.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         DROP TRIGGER audit_macs_no_update; DROP TRIGGER audit_macs_no_delete;",
    )
    .unwrap();
    db
}

struct Platform {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
}

/// Whether no write is waiting in the database's write-ahead log: the file is
/// absent, or empty (a read-only reader of a WAL database leaves an empty one).
fn no_wal_frames(data_dir: &std::path::Path) -> bool {
    std::fs::metadata(data_dir.join("nigehban.db-wal")).map_or(true, |wal| wal.len() == 0)
}

impl Platform {
    /// An embedded platform with three users: entries 1-4 in its audit log.
    fn new() -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let platform = Platform {
            _dir: dir,
            data_dir,
        };
        create_users(&platform.storage(), &["chief", "watch", "night"]);
        platform
    }

    fn storage(&self) -> [&str; 2] {
        ["--data-dir", self.data_dir.to_str().unwrap()]
    }
}

#[test]
fn a_forged_row_with_the_chain_recomputed_fails_verify_at_that_row() {
    let platform = Platform::new();
    let storage = platform.storage();
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(0), "{verdict}");

    // Entry 2 (the first administrator's creation) is rewritten, and every
    // hash after it recomputed, as the hash chain alone would let anyone do.
    let db = open_as_insider(&platform.data_dir);
    let mut log = entries(&db);
    assert_eq!(log.len(), 4);
    log[1].after = Some(JsonText::from_stored(
        log[1]
            .after
            .as_ref()
            .unwrap()
            .as_str()
            .replace("administrator", "auditor"),
    ));
    for index in 1..log.len() {
        log[index].prev_hash = log[index - 1].hash;
        log[index].hash = log[index].compute_hash();
    }
    for entry in &log[1..] {
        db.execute(
            "UPDATE audit_log SET after_json = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![
                entry.after.as_ref().map(JsonText::as_str),
                entry.prev_hash.as_bytes().as_slice(),
                entry.hash.as_bytes().as_slice(),
                entry.seq as i64
            ],
        )
        .unwrap();
    }
    let last = log.last().unwrap();
    db.execute(
        "UPDATE audit_chain_head SET hash = ?1",
        [last.hash.as_bytes().as_slice()],
    )
    .unwrap();
    drop(db);

    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("audit entry seq 2 ") && verdict.contains("recomputed without the key"),
        "{verdict}"
    );
}

#[test]
fn a_cut_tail_a_rollback_and_an_emptied_log_fail_verify() {
    let platform = Platform::new();
    let storage = platform.storage();
    let database = platform.data_dir.join("nigehban.db");
    // The operator anchors the head after entry 4 on write-once media.
    let anchors = platform._dir.path().join("anchors.txt");
    let anchor = head(&storage);
    assert!(anchor.starts_with("4:"), "{anchor}");
    std::fs::write(&anchors, format!("# written once\n{anchor}\n")).unwrap();
    let anchors_arg = ["--expect-heads-from", anchors.to_str().unwrap()];
    let (code, verdict, _) = verify(&storage, &anchors_arg);
    assert_eq!(code, Some(0), "{verdict}");
    // Every process closed the database: it is whole in its one file.
    assert!(no_wal_frames(&platform.data_dir));
    let genuine = std::fs::read(&database).unwrap();

    // The last two entries go, and the head is moved back to entry 2.
    let db = open_as_insider(&platform.data_dir);
    let log = entries(&db);
    db.execute_batch("DELETE FROM audit_log WHERE seq > 2; DELETE FROM audit_macs WHERE seq > 2")
        .unwrap();
    db.execute(
        "UPDATE audit_chain_head SET seq = 2, hash = ?1",
        [log[1].hash.as_bytes().as_slice()],
    )
    .unwrap();
    drop(db);
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("seq 2") && verdict.contains("may have been deleted"),
        "{verdict}"
    );
    let (code, verdict, _) = verify(&storage, &anchors_arg);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("seq 4") && verdict.contains("cut off"),
        "{verdict}"
    );

    // A rollback to a genuine earlier state: only the anchor shows it.
    std::fs::write(&database, &genuine).unwrap();
    create_users(&storage, &["late"]);
    let later = head(&storage);
    assert!(later.starts_with("5:"), "{later}");
    assert!(no_wal_frames(&platform.data_dir));
    std::fs::write(&database, &genuine).unwrap();
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(
        code,
        Some(0),
        "a genuine earlier state verifies alone: {verdict}"
    );
    let (code, verdict, _) = verify(&storage, &["--expect-head", &later]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(verdict.contains("seq 5"), "{verdict}");
    let (code, _, stderr) = verify(&storage, &["--expect-head", "5:nonsense"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SEQ:HASH"), "{stderr}");

    // Every entry deleted, the head reset to an empty log's.
    let db = open_as_insider(&platform.data_dir);
    db.execute_batch(
        "DELETE FROM audit_log; DELETE FROM audit_macs;
         UPDATE audit_chain_head SET seq = 0, hash = zeroblob(32), mac = NULL;",
    )
    .unwrap();
    drop(db);
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("empty although the platform is set up"),
        "{verdict}"
    );
    // `audit head` prints no anchor for a log that does not verify.
    let output = audit(&storage, &["head"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(!text(&output.stdout).contains("0:"), "{output:?}");
}

#[test]
fn audit_verify_needs_the_key_and_changes_nothing() {
    let platform = Platform::new();
    let storage = platform.storage();
    let database = platform.data_dir.join("nigehban.db");
    let key = platform.data_dir.join("audit.key");
    let before = std::fs::read(&database).unwrap();
    let modified = std::fs::metadata(&database).unwrap().modified().unwrap();
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(0), "{verdict}");
    assert!(std::fs::read(&database).unwrap() == before);
    assert_eq!(
        std::fs::metadata(&database).unwrap().modified().unwrap(),
        modified
    );
    assert!(no_wal_frames(&platform.data_dir));

    // Without the key: nothing to check with, and writers refuse to make a new one.
    let kept = platform._dir.path().join("audit.key.kept");
    std::fs::rename(&key, &kept).unwrap();
    let (code, _, stderr) = verify(&storage, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no audit key at") && stderr.contains("audit.key"),
        "{stderr}"
    );
    let output = nigehban().args(["migrate"]).args(storage).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        text(&output.stderr).contains("sealed with the key of fingerprint"),
        "{output:?}"
    );
    assert!(!key.exists(), "no new key for a sealed log");
    let (code, verdict, _) = verify(&storage, &["--audit-key-file", kept.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{verdict}");
    std::fs::rename(&kept, &key).unwrap();

    // A database of an older schema is refused, not migrated.
    let db = rusqlite::Connection::open(&database).unwrap();
    db.execute("DELETE FROM schema_migrations WHERE version = 3", [])
        .unwrap();
    drop(db);
    let before = std::fs::read(&database).unwrap();
    let (code, _, stderr) = verify(&storage, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("older than this program") && stderr.contains("nigehban migrate"),
        "{stderr}"
    );
    assert!(
        std::fs::read(&database).unwrap() == before,
        "verify migrated"
    );
}

/// Every directory and file under `root`, with its permission bits.
fn modes(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut found = vec![(
        root.to_path_buf(),
        true,
        std::fs::metadata(root).unwrap().permissions().mode() & 0o777,
    )];
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(modes(&entry.path()));
        } else if kind.is_file() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            found.push((entry.path(), false, mode));
        }
    }
    found
}

fn assert_private(root: &Path, expected: &[&str]) {
    let found = modes(root);
    for name in expected {
        assert!(
            found.iter().any(|(path, _, _)| path.ends_with(name)),
            "{name} is not in the data directory: {found:?}"
        );
    }
    for (path, is_dir, mode) in &found {
        assert_eq!(
            mode & 0o077,
            0,
            "{} is mode {mode:o}: other users can reach it",
            path.display()
        );
        if *is_dir {
            assert_eq!(*mode, 0o700, "{}", path.display());
        }
    }
}

/// The data directory's files (database with password hashes, WAL, the audit
/// key, bus segments and the index) were world-readable (0644).
#[test]
fn the_data_directory_is_private_after_serve_and_so_are_backups() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(&data_dir);
    let password = server.one_time_password.clone().unwrap();
    Session::sign_in(server.address, "admin", &password);
    // While it runs, the WAL is there too.
    assert_private(
        &data_dir,
        &["nigehban.db", "nigehban.db-wal", "audit.key", "bus"],
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
    assert_private(&data_dir, &["nigehban.db", "audit.key", "bus"]);
    let files = modes(&data_dir)
        .iter()
        .filter(|(_, is_dir, _)| !is_dir)
        .count();
    assert!(files >= 3, "{:?}", modes(&data_dir));

    // An installation from before: everything 0644 / 0755. The next start closes it.
    for (path, is_dir, _) in modes(&data_dir) {
        let mode = if is_dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let server = Server::start(&data_dir);
    assert_private(&data_dir, &["nigehban.db", "audit.key"]);
    assert!(server.terminate().success(), "serve did not stop cleanly");
    assert_private(&data_dir, &["nigehban.db", "audit.key"]);

    let backup = dir.path().join("backup.db");
    let output = nigehban()
        .args(["backup", "--data-dir"])
        .arg(&data_dir)
        .arg("--to")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup holds password hashes");
}

#[test]
fn a_cut_tail_and_an_emptied_log_fail_verify_on_postgresql() {
    let Some(server_url) = nigehban_testkit::postgres_url() else {
        return;
    };
    let database = ScratchDatabase::create(&server_url, "protect");
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("audit.key");
    let storage = [
        "--database",
        database.url.as_str(),
        "--audit-key-file",
        key_file.to_str().unwrap(),
    ];
    create_users(&storage, &["chief", "watch", "night"]);
    let anchor = head(&storage);
    assert!(anchor.starts_with("4:"), "{anchor}");
    let (ok, out) = psql(
        &database.url,
        "DROP TRIGGER audit_log_no_change ON audit_log; DROP TRIGGER audit_macs_no_change ON audit_macs;
         DELETE FROM audit_log WHERE seq > 2; DELETE FROM audit_macs WHERE seq > 2;
         UPDATE audit_chain_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2);",
    );
    assert!(ok, "{out}");
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("seq 2") && verdict.contains("may have been deleted"),
        "{verdict}"
    );
    let (code, verdict, _) = verify(&storage, &["--expect-head", &anchor]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(
        verdict.contains("seq 4") && verdict.contains("cut off"),
        "{verdict}"
    );

    let (ok, out) = psql(
        &database.url,
        "DELETE FROM audit_log; DELETE FROM audit_macs;
         UPDATE audit_chain_head SET seq = 0, hash = decode(repeat('00', 32), 'hex'), mac = NULL;",
    );
    assert!(ok, "{out}");
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(1), "{verdict}");
    assert!(verdict.contains("empty"), "{verdict}");
}

/// CERTs serve with `--database postgres://server_role@...`, a member of
/// `nigehban_app`: the platform works, and that role cannot delete or change
/// audit rows or drop or disable the audit triggers.
#[test]
fn the_server_role_serves_and_cannot_touch_the_audit_log_on_postgresql() {
    let Some(server_url) = nigehban_testkit::postgres_url() else {
        return;
    };
    let mut database = ScratchDatabase::create(&server_url, "protect");
    let role = format!("{}_server", database.name);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // The schema's owner migrates (creating nigehban_app) and makes the server's role.
    let migrate = nigehban()
        .args(["migrate", "--database", &database.url, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let (ok, out) = psql(
        &database.url,
        &format!("CREATE ROLE {role} LOGIN IN ROLE nigehban_app"),
    );
    assert!(ok, "{out}");
    database.roles.push(role.clone());
    let server_role_url = database.url_as(&role);

    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(&data_dir)
        .env("NIGEHBAN_DATABASE", &server_role_url);
    let server = Server::spawn(command);
    let password = server.one_time_password.clone().unwrap();
    Session::sign_in(server.address, "admin", &password);
    assert!(server.terminate().success(), "serve did not stop cleanly");

    for sql in [
        "DELETE FROM audit_log",
        "UPDATE audit_log SET action = 'x'",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "TRUNCATE audit_log",
        "DELETE FROM audit_macs",
    ] {
        let (ok, out) = psql(&server_role_url, sql);
        assert!(!ok, "the server's role could run {sql}");
        assert!(
            out.contains("permission denied") || out.contains("must be owner"),
            "{sql}: {out}"
        );
    }
    let storage = [
        "--database",
        server_role_url.as_str(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    let (code, verdict, _) = verify(&storage, &[]);
    assert_eq!(code, Some(0), "{verdict}");
}
