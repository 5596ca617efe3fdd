//! What the test suites need from outside the repository, and the one way a
//! test says it could not run.
//!
//! A test that needs a PostgreSQL or NATS server, an installed program
//! (`rsyslogd`, `logger`, `openssl`, `nats-server`, `chromium`), the PyPI
//! `openapi-spec-validator`, `aiosmtpd`, `icalendar`, `pymisp` or `stix2-validator`, or the outside corpus asks for it here. When it
//! is missing:
//!
//! * if it is **required**, the test fails with a message naming what is
//!   missing. Services and programs are required under
//!   `NIGEHBAN_REQUIRE_SERVICES=1`, the corpus under
//!   `NIGEHBAN_REQUIRE_CORPUS=1` (`cargo xtask test` sets both), except the
//!   needs listed in `NIGEHBAN_ALLOW_MISSING` (comma-separated [`Need`]
//!   names, e.g. `nats,rsyslog`; `cargo xtask test --allow-missing nats`
//!   sets it);
//! * otherwise the test is **skipped**: it prints the marker line
//!   `nigehban-skip: <need>: <detail>` and appends `<need>\t<test>\t<detail>`
//!   to the file named by `NIGEHBAN_SKIP_LOG`, if set. `cargo test` hides the
//!   output of passing tests, so `cargo xtask test` counts skips from that
//!   file and prints them by reason at the end of the run.
//!
//! ```no_run
//! # fn demo() {
//! let Some(url) = nigehban_testkit::postgres_url() else { return };
//! # let _ = url;
//! # }
//! ```
//!
//! Standard library only: `xtask` shares the [`Need`] vocabulary.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The variable that makes services and programs required.
pub const REQUIRE_SERVICES: &str = "NIGEHBAN_REQUIRE_SERVICES";
/// The variable that makes the corpus required.
pub const REQUIRE_CORPUS: &str = "NIGEHBAN_REQUIRE_CORPUS";
/// The variable listing needs allowed to be missing even when required.
pub const ALLOW_MISSING: &str = "NIGEHBAN_ALLOW_MISSING";
/// The variable naming the file skip markers are appended to.
pub const SKIP_LOG: &str = "NIGEHBAN_SKIP_LOG";
/// The prefix of the line a skipped test prints.
pub const SKIP_MARKER: &str = "nigehban-skip:";

/// Something a test needs from outside the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// A PostgreSQL server (`NIGEHBAN_TEST_POSTGRES_URL`).
    Postgres,
    /// A nats-server with JetStream (`NIGEHBAN_TEST_NATS_URL`, or the `nats-server` program).
    Nats,
    /// `rsyslogd` with its TLS driver (Debian `rsyslog`, `rsyslog-openssl`).
    Rsyslog,
    /// util-linux `logger` (Debian `bsdutils`).
    Logger,
    /// The `openssl` command.
    Openssl,
    /// The PyPI `openapi-spec-validator`, importable by `python3`.
    OpenapiValidator,
    /// Headless Chromium and its WebDriver (Debian `chromium`, `chromium-driver`),
    /// and `npm` to fetch axe-core, for the console's browser tests.
    Chromium,
    /// The PyPI `aiosmtpd`, importable by `python3`: the SMTP server e-mail
    /// notifications are delivered to in the paging tests.
    Aiosmtpd,
    /// The PyPI `icalendar`, importable by `python3`: the independent parser
    /// the shift feed is read with.
    Icalendar,
    /// The PyPI `pymisp`, importable by `python3`: the independent reader
    /// the exported MISP feed is read back with.
    Pymisp,
    /// The PyPI `stix2-validator`, importable by `python3`: the OASIS
    /// validator every exported STIX bundle must pass.
    Stix2Validator,
    /// The PyPI `taxii2-client`, importable by `python3`: the independent
    /// TAXII 2.1 client the TAXII server is tested with.
    Taxii2Client,
    /// The PyPI `medallion`, importable by `python3`: the TAXII 2.1 server
    /// the TAXII client pulls from in the tests.
    Medallion,
    /// The outside test corpus (`NIGEHBAN_CORPUS`, default `../shared/data`).
    Corpus,
}

impl Need {
    /// Every need, in the order runs report them.
    pub const ALL: [Need; 14] = [
        Need::Postgres,
        Need::Nats,
        Need::Rsyslog,
        Need::Logger,
        Need::Openssl,
        Need::OpenapiValidator,
        Need::Chromium,
        Need::Aiosmtpd,
        Need::Icalendar,
        Need::Pymisp,
        Need::Stix2Validator,
        Need::Taxii2Client,
        Need::Medallion,
        Need::Corpus,
    ];

    /// The name used in `NIGEHBAN_ALLOW_MISSING`, `--allow-missing` and skip markers.
    pub const fn name(self) -> &'static str {
        match self {
            Need::Postgres => "postgres",
            Need::Nats => "nats",
            Need::Rsyslog => "rsyslog",
            Need::Logger => "logger",
            Need::Openssl => "openssl",
            Need::OpenapiValidator => "openapi-validator",
            Need::Chromium => "chromium",
            Need::Aiosmtpd => "aiosmtpd",
            Need::Icalendar => "icalendar",
            Need::Pymisp => "pymisp",
            Need::Stix2Validator => "stix2-validator",
            Need::Taxii2Client => "taxii2-client",
            Need::Medallion => "medallion",
            Need::Corpus => "corpus",
        }
    }

    /// The need called `name`, if there is one.
    pub fn parse(name: &str) -> Option<Need> {
        Need::ALL
            .into_iter()
            .find(|need| need.name() == name.trim())
    }

    /// The variable that makes this need required.
    pub const fn requirement(self) -> &'static str {
        match self {
            Need::Corpus => REQUIRE_CORPUS,
            _ => REQUIRE_SERVICES,
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The needs listed in `NIGEHBAN_ALLOW_MISSING`; an unknown name fails loudly, so
/// that a typo never turns a requirement off.
pub fn allowed_missing() -> Vec<Need> {
    let list = std::env::var(ALLOW_MISSING).unwrap_or_default();
    parse_needs(&list).unwrap_or_else(|unknown| {
        panic!(
            "{ALLOW_MISSING} names {unknown:?}, which is not one of: {}",
            names()
        )
    })
}

/// Parses a comma-separated list of need names; `Err` holds the first unknown name.
pub fn parse_needs(list: &str) -> Result<Vec<Need>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| Need::parse(name).ok_or_else(|| name.to_owned()))
        .collect()
}

/// Every need's name, comma-separated (for help and error texts).
pub fn names() -> String {
    Need::ALL.map(Need::name).join(", ")
}

/// Whether a test must fail, rather than skip, when `need` is missing.
pub fn required(need: Need) -> bool {
    std::env::var(need.requirement()).is_ok_and(|v| v == "1") && !allowed_missing().contains(&need)
}

/// Says that the running test cannot run because `need` is missing (`detail`
/// says how it was looked for): fails the test when the need is required,
/// otherwise prints the skip marker and logs it. The caller returns after this.
#[track_caller]
pub fn skip(need: Need, detail: &str) {
    if required(need) {
        panic!(
            "{detail}, and {}=1 requires {need} (set {ALLOW_MISSING}={need} or run `cargo xtask test --allow-missing {need}` to let it be missing)",
            need.requirement()
        );
    }
    let test = current_test();
    println!("{SKIP_MARKER} {need}: {detail} ({test})");
    if let Some(path) = std::env::var_os(SKIP_LOG) {
        let line = format!("{need}\t{test}\t{}\n", detail.replace(['\t', '\n'], " "));
        // One write of a short line to a file opened for appending: lines from
        // test processes running side by side do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            panic!(
                "cannot append to {SKIP_LOG} {}: {error}",
                Path::new(&path).display()
            );
        }
    }
}

/// The running test's name: libtest names each test's thread after it.
fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map_or_else(
            || {
                std::env::args()
                    .next()
                    .unwrap_or_else(|| "<unknown test>".to_owned())
            },
            str::to_owned,
        )
}

/// A non-empty environment variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The PostgreSQL server for tests (`NIGEHBAN_TEST_POSTGRES_URL`), or `None` after [`skip`].
#[track_caller]
pub fn postgres_url() -> Option<String> {
    let url = var("NIGEHBAN_TEST_POSTGRES_URL");
    if url.is_none() {
        skip(Need::Postgres, "NIGEHBAN_TEST_POSTGRES_URL is not set");
    }
    url
}

/// The NATS server for tests (`NIGEHBAN_TEST_NATS_URL`), or `None` after [`skip`].
#[track_caller]
pub fn nats_url() -> Option<String> {
    let url = var("NIGEHBAN_TEST_NATS_URL");
    if url.is_none() {
        skip(Need::Nats, "NIGEHBAN_TEST_NATS_URL is not set");
    }
    url
}

/// The `nats-server` program, for tests that run (and kill) a server of their
/// own: `NIGEHBAN_NATS_SERVER`, else the `PATH`, else `/usr/sbin`; or `None` after [`skip`].
#[track_caller]
pub fn nats_server_program() -> Option<PathBuf> {
    let found = var("NIGEHBAN_NATS_SERVER")
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .or_else(|| find_program("nats-server"));
    if found.is_none() {
        skip(
            Need::Nats,
            "the nats-server program is not installed (Debian package nats-server)",
        );
    }
    found
}

/// An installed program for `need`: `program` is a name looked up on the
/// `PATH` (and in `/usr/sbin`, `/sbin`) or an absolute path; `package` is the
/// Debian package that provides it. `None` after [`skip`].
#[track_caller]
pub fn program(need: Need, program: &str, package: &str) -> Option<PathBuf> {
    let found = if program.starts_with('/') {
        Some(PathBuf::from(program)).filter(|path| path.exists())
    } else {
        find_program(program)
    };
    if found.is_none() {
        skip(
            need,
            &format!("{program} is not installed (Debian package {package})"),
        );
    }
    found
}

/// `name` on the `PATH` or in the system directories that are often not on it.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether `python3` can import the PyPI `openapi-spec-validator`; `false` after [`skip`].
#[track_caller]
pub fn openapi_validator() -> bool {
    let importable = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !importable {
        skip(
            Need::OpenapiValidator,
            "python3 cannot import openapi_spec_validator (pip install openapi-spec-validator)",
        );
    }
    importable
}

/// Whether `python3` can import `module` (PyPI `package`), the module `need`
/// names; `false` after [`skip`].
#[track_caller]
pub fn python_module(need: Need, module: &str, package: &str) -> bool {
    let importable = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !importable {
        skip(
            need,
            &format!("python3 cannot import {module} (pip install {package})"),
        );
    }
    importable
}

/// Where the outside corpus is looked for: `NIGEHBAN_CORPUS`, else
/// `../shared/data` beside the workspace.
pub fn corpus_path() -> PathBuf {
    var("NIGEHBAN_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

/// The outside corpus, or `None` after [`skip`].
#[track_caller]
pub fn corpus() -> Option<PathBuf> {
    corpus_with("")
}

/// The outside corpus if it has `part` (a path inside it, e.g. `sigma`), or `None` after [`skip`].
#[track_caller]
pub fn corpus_with(part: &str) -> Option<PathBuf> {
    let root = corpus_path();
    if root.join(part).exists() {
        return Some(root);
    }
    skip(
        Need::Corpus,
        &format!("no corpus at {}", root.join(part).display()),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_names_round_trip() {
        for need in Need::ALL {
            assert_eq!(Need::parse(need.name()), Some(need));
        }
        assert_eq!(
            parse_needs(" nats, corpus ,"),
            Ok(vec![Need::Nats, Need::Corpus])
        );
        assert_eq!(parse_needs("nats,natz"), Err("natz".to_owned()));
        assert_eq!(parse_needs(""), Ok(vec![]));
    }
}
