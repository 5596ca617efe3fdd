//! Project automation, run as `cargo xtask <command>`.
//!
//! `cargo xtask test` is the one command that runs every test, the command
//! README.md gives and `.ci/run` calls. It
//! 1. installs missing Debian and PyPI packages when run as root (PostgreSQL,
//!    nats-server, rsyslog with its TLS driver, logger, openssl, the OpenAPI
//!    validator, Chromium with chromedriver and npm),
//! 2. checks that everything the tests need is there — the programs, the
//!    corpus (`NIGEHBAN_CORPUS`, default `../shared/data`) — and starts
//!    throwaway services on loopback (a PostgreSQL cluster, a nats-server with
//!    JetStream) in a temporary directory. Anything missing FAILS the run
//!    with a message naming it, unless it is allowed to be missing with
//!    `--allow-missing NEED` (or `NIGEHBAN_ALLOW_MISSING=NEED,...`), where
//!    NEED is one of `postgres`, `nats`, `rsyslog`, `logger`, `openssl`,
//!    `openapi-validator`, `chromium`, `corpus` ([`nigehban_testkit::Need`]),
//! 3. exports the services' addresses (`NIGEHBAN_TEST_POSTGRES_URL`,
//!    `NIGEHBAN_TEST_NATS_URL`), `NIGEHBAN_REQUIRE_SERVICES=1` and
//!    `NIGEHBAN_REQUIRE_CORPUS=1` (so that a test needing something missing
//!    fails instead of skipping), `NIGEHBAN_ALLOW_MISSING` (the needs allowed
//!    to be missing, whose tests skip) and `NIGEHBAN_SKIP_LOG` (where skipped
//!    tests log themselves),
//! 4. runs `cargo fmt --check`, `cargo clippy -D warnings`, the whole test
//!    suite with `--no-fail-fast` (every crate's tests run even after a
//!    failure), and checks that the fuzz targets build — every step runs
//!    whatever an earlier one did,
//! 5. stops the services, whatever happened, and ends with a summary: each
//!    step's result, every failed test and test target, and the skipped tests
//!    counted by reason.
//!
//! `NIGEHBAN_XTASK_HIDE=nats-server,...` makes xtask act as if these
//! programs (or Debian/PyPI packages) were not installed and could not be
//! installed; it is how the tests of xtask show that a missing nats-server
//! fails the run.
//!
//! `cargo xtask services` starts the same services and waits, printing the
//! environment to export, for working on one test by hand.
//!
//! It uses only the standard library (and the std-only `nigehban-testkit`)
//! so that it builds in seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fs;
use std::io::{self, BufRead as _, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nigehban_testkit::Need;

/// Programs (or packages) xtask acts as if were not installed (for its own tests).
const HIDE: &str = "NIGEHBAN_XTASK_HIDE";
/// Set in the environment of the commands xtask runs, so that a test suite
/// never runs itself again.
const RUNNING: &str = "NIGEHBAN_XTASK_RUNNING";

/// How a need's presence is checked.
#[derive(Debug, Clone, Copy)]
enum Probe {
    /// A program on the `PATH` or in the system directories.
    Program(&'static str),
    /// A file at this absolute path.
    File(&'static str),
    /// A module `python3` can import.
    PythonModule(&'static str),
    /// PostgreSQL server binaries under `/usr/lib/postgresql/<version>/bin`.
    PostgresServer,
}

/// Something installed that a need depends on.
#[derive(Debug, Clone, Copy)]
struct Requirement {
    need: Need,
    /// The package that provides it.
    package: &'static str,
    /// Whether `package` comes from PyPI rather than Debian.
    pypi: bool,
    probe: Probe,
}

/// Every package the test suite needs, with the need it serves.
const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        need: Need::Postgres,
        package: "postgresql",
        pypi: false,
        probe: Probe::PostgresServer,
    },
    Requirement {
        need: Need::Nats,
        package: "nats-server",
        pypi: false,
        probe: Probe::Program("nats-server"),
    },
    Requirement {
        need: Need::Rsyslog,
        package: "rsyslog",
        pypi: false,
        probe: Probe::Program("rsyslogd"),
    },
    // rsyslog's TLS driver, for the syslog-over-TLS intake tests.
    Requirement {
        need: Need::Rsyslog,
        package: "rsyslog-openssl",
        pypi: false,
        probe: Probe::File("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so"),
    },
    Requirement {
        need: Need::Logger,
        package: "bsdutils",
        pypi: false,
        probe: Probe::Program("logger"),
    },
    Requirement {
        need: Need::Openssl,
        package: "openssl",
        pypi: false,
        probe: Probe::Program("openssl"),
    },
    // The console's browser tests: headless Chromium driven over WebDriver,
    // and npm to fetch axe-core for the accessibility checks.
    Requirement {
        need: Need::Chromium,
        package: "chromium",
        pypi: false,
        probe: Probe::Program("chromium"),
    },
    Requirement {
        need: Need::Chromium,
        package: "chromium-driver",
        pypi: false,
        probe: Probe::Program("chromedriver"),
    },
    Requirement {
        need: Need::Chromium,
        package: "npm",
        pypi: false,
        probe: Probe::Program("npm"),
    },
    Requirement {
        need: Need::OpenapiValidator,
        package: "openapi-spec-validator",
        pypi: true,
        probe: Probe::PythonModule("openapi_spec_validator"),
    },
    // The paging tests: a real SMTP server on loopback, and an independent
    // iCalendar parser for the shift feed.
    Requirement {
        need: Need::Aiosmtpd,
        package: "aiosmtpd",
        pypi: true,
        probe: Probe::PythonModule("aiosmtpd"),
    },
    Requirement {
        need: Need::Icalendar,
        package: "icalendar",
        pypi: true,
        probe: Probe::PythonModule("icalendar"),
    },
    // The MISP feed test: PyMISP reads the exported feed back.
    Requirement {
        need: Need::Pymisp,
        package: "pymisp",
        pypi: true,
        probe: Probe::PythonModule("pymisp"),
    },
    // The STIX tests: the OASIS validator every exported bundle must pass.
    Requirement {
        need: Need::Stix2Validator,
        package: "stix2-validator",
        pypi: true,
        probe: Probe::PythonModule("stix2validator"),
    },
    // The TAXII tests: taxii2-client talks to our server; our client pulls from medallion.
    Requirement {
        need: Need::Taxii2Client,
        package: "taxii2-client",
        pypi: true,
        probe: Probe::PythonModule("taxii2client"),
    },
    Requirement {
        need: Need::Medallion,
        package: "medallion",
        pypi: true,
        probe: Probe::PythonModule("medallion"),
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => Options::parse(&args[1..]).and_then(|options| test(&options)),
        Some("services") => services(),
        _ => {
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    format!(
        "usage: cargo xtask test [--allow-missing NEED[,NEED...]]... [-- extra cargo test args]\n       \
         cargo xtask services\n\n\
         NEED is one of: {}. Anything the tests need that is missing fails the run\n\
         unless allowed to be missing (also: NIGEHBAN_ALLOW_MISSING=NEED,...); the tests\n\
         that need it are then skipped and counted at the end.",
        nigehban_testkit::names()
    )
}

/// What `cargo xtask test` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    /// Needs allowed to be missing (their tests skip).
    allow_missing: BTreeSet<Need>,
    /// Extra arguments for `cargo test`.
    extra: Vec<String>,
}

impl Options {
    /// Reads the command line after `test`, and `NIGEHBAN_ALLOW_MISSING`.
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options::default();
        let from_env = env::var(nigehban_testkit::ALLOW_MISSING).unwrap_or_default();
        options
            .allow(&from_env)
            .map_err(|e| format!("{}: {e}\n{}", nigehban_testkit::ALLOW_MISSING, usage()))?;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                options.extra = args.cloned().collect();
                break;
            }
            let list = if arg == "--allow-missing" {
                args.next()
                    .ok_or_else(|| format!("--allow-missing needs a value\n{}", usage()))?
                    .as_str()
            } else if let Some(list) = arg.strip_prefix("--allow-missing=") {
                list
            } else {
                return Err(format!("unknown argument {arg:?}\n{}", usage()));
            };
            options
                .allow(list)
                .map_err(|e| format!("--allow-missing: {e}\n{}", usage()))?;
        }
        Ok(options)
    }

    fn allow(&mut self, list: &str) -> Result<(), String> {
        let needs = nigehban_testkit::parse_needs(list)
            .map_err(|unknown| format!("{unknown:?} is not something the tests need"))?;
        self.allow_missing.extend(needs);
        Ok(())
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The programs and packages `NIGEHBAN_XTASK_HIDE` names.
#[derive(Debug, Default, Clone)]
struct Hidden(BTreeSet<String>);

impl Hidden {
    fn from_env() -> Hidden {
        Hidden(
            env::var(HIDE)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    fn hides(&self, name: &str) -> bool {
        let file_name = Path::new(name)
            .file_name()
            .map_or(name.into(), |n| n.to_string_lossy());
        self.0.contains(name) || self.0.contains(file_name.as_ref())
    }
}

/// Something the tests need that is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Missing {
    need: Need,
    /// What is missing, e.g. "nats-server is not installed (Debian package nats-server)".
    what: String,
}

/// The failure message for what is missing and not allowed to be, or `None`.
fn refusal(missing: &[Missing], allowed: &BTreeSet<Need>) -> Option<String> {
    let refused: Vec<&Missing> = missing
        .iter()
        .filter(|m| !allowed.contains(&m.need))
        .collect();
    if refused.is_empty() {
        return None;
    }
    let mut message = String::from("the tests cannot all run; missing:\n");
    for m in &refused {
        message.push_str(&format!("  {}: {}\n", m.need, m.what));
    }
    let needs: BTreeSet<Need> = refused.iter().map(|m| m.need).collect();
    let needs: Vec<&str> = needs.iter().map(|n| n.name()).collect();
    message.push_str(&format!(
        "Install what is missing (run as root, cargo xtask test installs Debian and PyPI packages; \
         set NIGEHBAN_CORPUS for the corpus), or run `cargo xtask test --allow-missing {}` \
         to let the tests that need it be skipped and counted.",
        needs.join(",")
    ));
    Some(message)
}

/// Prints what is missing but allowed to be.
fn report_allowed(missing: &[Missing], allowed: &BTreeSet<Need>) {
    for m in missing.iter().filter(|m| allowed.contains(&m.need)) {
        println!(
            "xtask: allowed to be missing: {}: {} (tests needing it are skipped)",
            m.need, m.what
        );
    }
}

fn test(options: &Options) -> Result<(), String> {
    let root = workspace_root();
    env::set_current_dir(&root).map_err(|e| format!("cannot enter {}: {e}", root.display()))?;
    let started = Instant::now();
    let hidden = Hidden::from_env();

    // 1-2. Packages, programs and the corpus: everything missing is named at once.
    install_missing_packages(&hidden);
    let mut missing = missing_requirements(&hidden);
    let corpus = corpus_dir(&root);
    match &corpus {
        Some(corpus) => println!("xtask: corpus at {}", corpus.display()),
        None => missing.push(Missing {
            need: Need::Corpus,
            what: format!(
                "no corpus at {} (set NIGEHBAN_CORPUS)",
                corpus_path(&root).display()
            ),
        }),
    }
    if let Some(message) = refusal(&missing, &options.allow_missing) {
        return Err(message);
    }
    let to_start: Vec<Need> = [Need::Postgres, Need::Nats]
        .into_iter()
        .filter(|need| !missing.iter().any(|m| m.need == *need))
        .collect();
    let (services, not_started) = Services::start(&root, &to_start, &hidden)?;
    missing.extend(not_started);
    if let Some(message) = refusal(&missing, &options.allow_missing) {
        return Err(message);
    }
    report_allowed(&missing, &options.allow_missing);
    if let Ok(pid) = env::var(RUNNING) {
        return Err(format!(
            "cargo xtask test is already running (process {pid}) and would run the test suite inside itself; refusing"
        ));
    }

    // 3. The environment of every command below (and so of every test).
    let skip_log = services.dir.join("skips.log");
    let mut env = services.env();
    env.push((
        nigehban_testkit::REQUIRE_SERVICES.to_owned(),
        "1".to_owned(),
    ));
    if let Some(corpus) = &corpus {
        env.push(("NIGEHBAN_CORPUS".to_owned(), corpus.display().to_string()));
        env.push((nigehban_testkit::REQUIRE_CORPUS.to_owned(), "1".to_owned()));
    }
    let allowed: Vec<&str> = options.allow_missing.iter().map(|n| n.name()).collect();
    env.push((
        nigehban_testkit::ALLOW_MISSING.to_owned(),
        allowed.join(","),
    ));
    env.push((
        nigehban_testkit::SKIP_LOG.to_owned(),
        skip_log.display().to_string(),
    ));
    env.push((RUNNING.to_owned(), std::process::id().to_string()));

    // 4. Every step runs, whatever happened before.
    let mut steps: Vec<Step> = Vec::new();
    run_step(
        &mut steps,
        "cargo fmt",
        &["fmt", "--all", "--", "--check"],
        &env,
    );
    run_step(
        &mut steps,
        "cargo clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &env,
    );
    let begun = Instant::now();
    let mut test_args = vec!["test", "--workspace", "--no-fail-fast"];
    test_args.extend(options.extra.iter().map(String::as_str));
    println!("xtask: cargo test: cargo {}", test_args.join(" "));
    let outcome = cargo_test(&test_args, &env);
    let test_result = match &outcome {
        Ok(outcome) if outcome.success && outcome.failed_tests.is_empty() => Ok(()),
        Ok(_) => Err("some tests failed".to_owned()),
        Err(e) => Err(e.clone()),
    };
    steps.push(("cargo test", test_result, begun.elapsed()));
    if root.join("fuzz/Cargo.toml").is_file() {
        run_step(
            &mut steps,
            "fuzz targets build",
            &["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"],
            &env,
        );
    }
    let skips = fs::read_to_string(&skip_log).unwrap_or_default();
    drop(services);

    // 5. The summary.
    println!(
        "\nxtask: summary ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    for (name, result, took) in &steps {
        let verdict = match result {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("FAILED: {e}"),
        };
        println!("  {name}: {verdict} ({:.0} s)", took.as_secs_f64());
    }
    if let Ok(outcome) = &outcome {
        print!("{}", outcome.report());
    }
    print!("{}", skip_report(&skips, &options.allow_missing));
    if corpus.is_none() {
        println!(
            "xtask: NOTE: the corpus tests did not run: no corpus at {} (set NIGEHBAN_CORPUS)",
            corpus_path(&root).display()
        );
    }
    let failed: Vec<&str> = steps
        .iter()
        .filter(|(_, result, _)| result.is_err())
        .map(|(name, _, _)| *name)
        .collect();
    if failed.is_empty() {
        println!(
            "xtask: all tests passed in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!("FAILED: {}", failed.join(", ")))
    }
}

/// A step of the run: its name, result and duration.
type Step = (&'static str, Result<(), String>, Duration);

/// Runs one cargo step and records how it went.
fn run_step(steps: &mut Vec<Step>, name: &'static str, args: &[&str], env: &[(String, String)]) {
    println!("xtask: {name}: cargo {}", args.join(" "));
    let begun = Instant::now();
    let result = cargo(args, env);
    match &result {
        Ok(()) => println!("xtask: {name}: ok"),
        Err(e) => println!("xtask: {name}: FAILED: {e}"),
    }
    steps.push((name, result, begun.elapsed()));
}

/// Counts the skip log's lines (`need \t test \t detail`) by need and detail.
fn skip_report(log: &str, allowed: &BTreeSet<Need>) -> String {
    let mut by_need: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, '\t');
        let need = parts.next().unwrap_or_default().to_owned();
        let _test = parts.next();
        let detail = parts.next().unwrap_or_default().to_owned();
        *by_need.entry(need).or_default().entry(detail).or_default() += 1;
    }
    if by_need.is_empty() {
        return "xtask: skipped tests: none\n".to_owned();
    }
    let total: usize = by_need.values().flat_map(BTreeMap::values).sum();
    let mut out = format!("xtask: skipped tests: {total}, by reason:\n");
    for (need, details) in &by_need {
        let count: usize = details.values().sum();
        let allowance = match Need::parse(need) {
            Some(n) if allowed.contains(&n) => " (allowed to be missing)",
            _ => "",
        };
        out.push_str(&format!("  {need}{allowance}: {count}\n"));
        for (detail, n) in details {
            out.push_str(&format!("    {n} × {detail}\n"));
        }
    }
    out
}

fn services() -> Result<(), String> {
    let root = workspace_root();
    let hidden = Hidden::from_env();
    install_missing_packages(&hidden);
    let (services, missing) = Services::start(&root, &[Need::Postgres, Need::Nats], &hidden)?;
    for m in &missing {
        println!("xtask: {}: {}", m.need, m.what);
    }
    println!("# services are running; export these, then press Enter to stop them:");
    for (key, value) in services.env() {
        println!("export {key}={value}");
    }
    if missing.is_empty() {
        println!("export {}=1", nigehban_testkit::REQUIRE_SERVICES);
    }
    let mut line = String::new();
    let _ = io::stdin().read_line(&mut line);
    drop(services);
    Ok(())
}

/// Runs cargo with `args`, adding `env` to its environment.
fn cargo(args: &[&str], env: &[(String, String)]) -> Result<(), String> {
    let mut command = cargo_command(args, env);
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

fn cargo_command(args: &[&str], env: &[(String, String)]) -> Command {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// What a `cargo test` run showed.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestOutcome {
    /// Whether cargo exited successfully.
    success: bool,
    /// `test NAME ... FAILED` lines' names.
    failed_tests: Vec<String>,
    /// Test targets cargo reported as failed (`-p CRATE --test NAME`).
    failed_targets: Vec<String>,
    /// Crates that did not compile.
    not_compiled: Vec<String>,
    /// Tests passed, in all `test result:` lines.
    passed: usize,
    /// Tests marked `#[ignore]`, in all `test result:` lines.
    ignored: usize,
}

impl TestOutcome {
    /// Reads one line of cargo's or a test binary's output.
    fn read_line(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... FAILED")
        {
            self.failed_tests.push(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("test result: ") {
            self.passed += count_before(rest, " passed");
            self.ignored += count_before(rest, " ignored");
        } else if let Some(rest) = line.split("to rerun pass `").nth(1) {
            let target = rest.trim_end_matches('`').to_owned();
            if !self.failed_targets.contains(&target) {
                self.failed_targets.push(target);
            }
        } else if let Some(rest) = line.strip_prefix("error: could not compile `") {
            self.not_compiled
                .push(rest.split('`').next().unwrap_or(rest).to_owned());
        }
    }

    /// The failed tests and targets, and the count of passed and ignored tests.
    fn report(&self) -> String {
        let mut out = format!(
            "xtask: tests passed: {}; #[ignore]d (not run): {}\n",
            self.passed, self.ignored
        );
        if !self.failed_tests.is_empty() {
            out.push_str(&format!(
                "xtask: {} failed tests:\n",
                self.failed_tests.len()
            ));
            for name in &self.failed_tests {
                out.push_str(&format!("  {name}\n"));
            }
        }
        if !self.failed_targets.is_empty() {
            out.push_str("xtask: failed test targets (rerun one with `cargo test ...`):\n");
            for target in &self.failed_targets {
                out.push_str(&format!("  {target}\n"));
            }
        }
        for krate in &self.not_compiled {
            out.push_str(&format!("xtask: did not compile: {krate}\n"));
        }
        out
    }
}

/// The number just before `word` in `text` ("3 passed; 0 failed" → 3 for " passed").
fn count_before(text: &str, word: &str) -> usize {
    text.split(';')
        .find_map(|part| part.trim().strip_suffix(word.trim()))
        .and_then(|before| before.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Runs `cargo test`, passing its output through while reading it.
fn cargo_test(args: &[&str], env: &[(String, String)]) -> Result<TestOutcome, String> {
    let mut child = cargo_command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    let (lines, read) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(pass_through(stdout, io::stdout(), lines.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(pass_through(stderr, io::stderr(), lines.clone()));
    }
    drop(lines);
    let mut outcome = TestOutcome::default();
    for line in read {
        outcome.read_line(&line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo {}: {e}", args.join(" ")))?;
    outcome.success = status.success();
    Ok(outcome)
}

/// Copies `from` to `to` line by line as it comes, sending each line to `lines`.
fn pass_through(
    from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    lines: mpsc::Sender<String>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match from.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let _ = to.write_all(&line);
                    let _ = to.flush();
                    let _ = lines.send(String::from_utf8_lossy(&line).into_owned());
                }
            }
        }
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Where the corpus is looked for: `NIGEHBAN_CORPUS`, else `../shared/data`.
fn corpus_path(root: &Path) -> PathBuf {
    env::var_os("NIGEHBAN_CORPUS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"))
}

/// The corpus directory, made absolute, if it is there.
fn corpus_dir(root: &Path) -> Option<PathBuf> {
    let path = corpus_path(root);
    path.is_dir()
        .then(|| fs::canonicalize(&path).unwrap_or(path))
}

/// A program on the `PATH` or in the system directories, unless hidden.
fn find_program(program: &str, hidden: &Hidden) -> Option<PathBuf> {
    if hidden.hides(program) {
        return None;
    }
    nigehban_testkit::find_program(program)
}

/// Whether `NIGEHBAN_XTASK_HIDE` names the requirement's package or program.
fn is_hidden(requirement: &Requirement, hidden: &Hidden) -> bool {
    hidden.hides(requirement.package)
        || match requirement.probe {
            Probe::Program(name) | Probe::File(name) | Probe::PythonModule(name) => {
                hidden.hides(name)
            }
            Probe::PostgresServer => hidden.hides("pg_ctl"),
        }
}

/// Whether a requirement is installed (a hidden one never is).
fn present(requirement: &Requirement, hidden: &Hidden) -> bool {
    if is_hidden(requirement, hidden) {
        return false;
    }
    match requirement.probe {
        Probe::Program(program) => find_program(program, hidden).is_some(),
        Probe::File(path) => !hidden.hides(path) && Path::new(path).exists(),
        Probe::PythonModule(module) => {
            find_program("python3", hidden).is_some()
                && Command::new("python3")
                    .args(["-c", &format!("import {module}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        }
        Probe::PostgresServer => postgres_bin_dir(hidden).is_some(),
    }
}

/// Every requirement that is not installed, named.
fn missing_requirements(hidden: &Hidden) -> Vec<Missing> {
    REQUIREMENTS
        .iter()
        .filter(|r| !present(r, hidden))
        .map(|r| Missing {
            need: r.need,
            what: match r.probe {
                Probe::Program(program) => {
                    format!("{program} is not installed (Debian package {})", r.package)
                }
                Probe::File(path) => {
                    format!("{path} is not installed (Debian package {})", r.package)
                }
                Probe::PythonModule(module) => format!(
                    "python3 cannot import {module} (PyPI package {})",
                    r.package
                ),
                Probe::PostgresServer => format!(
                    "no PostgreSQL server binaries in /usr/lib/postgresql (Debian package {})",
                    r.package
                ),
            },
        })
        .collect()
}

fn install_missing_packages(hidden: &Hidden) {
    let missing: Vec<&Requirement> = REQUIREMENTS
        .iter()
        .filter(|r| !is_hidden(r, hidden) && !present(r, hidden))
        .collect();
    if missing.is_empty() {
        return;
    }
    if !is_root() {
        let names: Vec<&str> = missing.iter().map(|r| r.package).collect();
        println!(
            "xtask: missing packages ({}); run as root to have them installed, or install them yourself",
            names.join(" ")
        );
        return;
    }
    let debian: Vec<&str> = missing
        .iter()
        .filter(|r| !r.pypi)
        .map(|r| r.package)
        .collect();
    if !debian.is_empty() {
        println!("xtask: installing Debian packages: {}", debian.join(" "));
        let _ = Command::new("apt-get")
            .args(["update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        let status = Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&debian)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            println!("xtask: apt-get install failed");
        }
    }
    for requirement in missing.iter().filter(|r| r.pypi) {
        if find_program("python3", hidden).is_none() {
            break;
        }
        println!("xtask: installing PyPI package {}", requirement.package);
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "-q", requirement.package])
            .status();
    }
}

/// A free TCP port on loopback (racy by nature, but the window is small).
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn wait_for_port(port: u16, what: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{what} did not start listening on 127.0.0.1:{port}"
    ))
}

/// Throwaway services on loopback, stopped when dropped.
struct Services {
    dir: PathBuf,
    postgres: Option<Postgres>,
    nats: Option<(Child, u16)>,
}

/// A throwaway PostgreSQL cluster.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl Services {
    /// Starts the services `needs` names in a fresh directory under the
    /// target directory; what did not start is returned, named.
    fn start(root: &Path, needs: &[Need], hidden: &Hidden) -> Result<(Self, Vec<Missing>), String> {
        let base = env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let dir = base.join(format!("xtask-services-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut services = Services {
            dir: dir.clone(),
            postgres: None,
            nats: None,
        };
        let mut missing = Vec::new();
        if needs.contains(&Need::Postgres) {
            match Postgres::start(&dir, hidden) {
                Ok(pg) => services.postgres = Some(pg),
                Err(what) => missing.push(Missing {
                    need: Need::Postgres,
                    what: format!("PostgreSQL did not start: {what}"),
                }),
            }
        }
        if needs.contains(&Need::Nats) {
            match start_nats(&dir, hidden) {
                Ok(nats) => services.nats = Some(nats),
                Err(what) => missing.push(Missing {
                    need: Need::Nats,
                    what: format!("nats-server did not start: {what}"),
                }),
            }
        }
        Ok((services, missing))
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        if let Some(pg) = &self.postgres {
            vars.push((
                "NIGEHBAN_TEST_POSTGRES_URL".to_owned(),
                format!("postgres://nigehban@127.0.0.1:{}/postgres", pg.port),
            ));
        }
        if let Some((_, port)) = &self.nats {
            vars.push((
                "NIGEHBAN_TEST_NATS_URL".to_owned(),
                format!("nats://127.0.0.1:{port}"),
            ));
        }
        vars
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            pg.stop();
        }
        if let Some((child, _)) = &mut self.nats {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Postgres {
    fn start(dir: &Path, hidden: &Hidden) -> Result<Self, String> {
        let bin = postgres_bin_dir(hidden).ok_or(
            "no PostgreSQL server binaries in /usr/lib/postgresql (Debian package postgresql)",
        )?;
        let as_postgres_user = is_root();
        let pg_dir = dir.join("postgres");
        fs::create_dir_all(&pg_dir).map_err(|e| e.to_string())?;
        if as_postgres_user {
            // PostgreSQL refuses to run as root: hand its directory to the postgres user.
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg_dir)
                .status();
            // ... which must be able to reach it through the target directory.
            let mut parent = pg_dir.parent();
            while let Some(p) = parent {
                let _ = Command::new("chmod").arg("o+x").arg(p).status();
                parent = p.parent();
            }
        }
        let data = pg_dir.join("data");
        let port = free_port()?;
        let pg = Postgres {
            bin,
            data,
            port,
            as_postgres_user,
        };
        let log = pg_dir.join("log");
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data.to_string_lossy(),
                "-U",
                "nigehban",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            pg_dir.display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &pg.data.to_string_lossy(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        )?;
        wait_for_port(port, "PostgreSQL", Duration::from_secs(30))?;
        println!("xtask: PostgreSQL on 127.0.0.1:{port}");
        Ok(pg)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir("/")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    fn stop(&self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

/// The directory of the newest installed PostgreSQL server binaries.
fn postgres_bin_dir(hidden: &Hidden) -> Option<PathBuf> {
    if hidden.hides("postgresql") || hidden.hides("pg_ctl") {
        return None;
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn start_nats(dir: &Path, hidden: &Hidden) -> Result<(Child, u16), String> {
    let program = find_program("nats-server", hidden)
        .ok_or("nats-server is not installed (Debian package nats-server)")?;
    let port = free_port()?;
    let store = dir.join("nats");
    fs::create_dir_all(&store).map_err(|e| e.to_string())?;
    let log = fs::File::create(dir.join("nats.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(program)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start nats-server: {e}"))?;
    if let Err(e) = wait_for_port(port, "nats-server", Duration::from_secs(20)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    println!("xtask: nats-server (JetStream) on 127.0.0.1:{port}");
    let _ = io::stdout().flush();
    Ok((child, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(names: &[&str]) -> Hidden {
        Hidden(names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[test]
    fn a_hidden_nats_server_is_not_started_and_refuses_the_run_naming_it() {
        let dir = tempfile_dir("hidden-nats");
        let (services, missing) =
            Services::start(&dir, &[Need::Nats], &hidden(&["nats-server"])).unwrap();
        assert!(services.nats.is_none());
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(missing[0].need, Need::Nats);
        assert!(missing[0].what.contains("nats-server"), "{missing:?}");
        let message = refusal(&missing, &BTreeSet::new()).expect("the run is refused");
        assert!(
            message.contains("nats: nats-server did not start: nats-server is not installed"),
            "{message}"
        );
        assert!(message.contains("--allow-missing nats"), "{message}");
        // Allowed to be missing, it does not refuse the run.
        assert_eq!(refusal(&missing, &BTreeSet::from([Need::Nats])), None);
        // ... but allowing something else does.
        assert!(refusal(&missing, &BTreeSet::from([Need::Postgres])).is_some());
        drop(services);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn hidden_programs_and_packages_are_reported_missing() {
        let missing = missing_requirements(&hidden(&["nats-server", "openapi-spec-validator"]));
        let nats = missing
            .iter()
            .find(|m| m.need == Need::Nats)
            .expect("nats-server reported");
        assert_eq!(
            nats.what,
            "nats-server is not installed (Debian package nats-server)"
        );
        assert!(
            missing
                .iter()
                .any(|m| m.need == Need::OpenapiValidator
                    && m.what.contains("openapi-spec-validator")),
            "{missing:?}"
        );
    }

    #[test]
    fn allow_missing_is_read_from_flags_and_refuses_unknown_needs() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let options = Options::parse(&args(&[
            "--allow-missing",
            "nats,rsyslog",
            "--allow-missing=corpus",
            "--",
            "-p",
            "nigehban-bus",
        ]))
        .unwrap();
        for need in [Need::Nats, Need::Rsyslog, Need::Corpus] {
            assert!(options.allow_missing.contains(&need), "{options:?}");
        }
        assert_eq!(options.extra, args(&["-p", "nigehban-bus"]));
        let error = Options::parse(&args(&["--allow-missing", "natz"])).unwrap_err();
        assert!(
            error.contains("\"natz\" is not something the tests need"),
            "{error}"
        );
        assert!(Options::parse(&args(&["--allow-missing"])).is_err());
        assert!(Options::parse(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn test_output_gives_failures_targets_and_counts() {
        let mut outcome = TestOutcome::default();
        for line in [
            "test matrix::matrix_by_session ... ok",
            "test sqlite::only_one_root ... FAILED",
            "test result: FAILED. 10 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.00s",
            "error: test failed, to rerun pass `-p nigehban-store --test conformance`",
            "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.10s",
            "error: 1 target failed:",
            "    `-p nigehban-store --test conformance`",
            "error: could not compile `nigehban-app` (test \"no_leaks\") due to 1 previous error",
        ] {
            outcome.read_line(line);
        }
        assert_eq!(outcome.failed_tests, ["sqlite::only_one_root"]);
        assert_eq!(
            outcome.failed_targets,
            ["-p nigehban-store --test conformance"]
        );
        assert_eq!(outcome.not_compiled, ["nigehban-app"]);
        assert_eq!((outcome.passed, outcome.ignored), (15, 3));
        let report = outcome.report();
        assert!(
            report.contains("1 failed tests:\n  sqlite::only_one_root"),
            "{report}"
        );
    }

    #[test]
    fn skips_are_counted_by_reason() {
        let log = "nats\tbus::a\tNIGEHBAN_TEST_NATS_URL is not set\n\
                   nats\tbus::b\tNIGEHBAN_TEST_NATS_URL is not set\n\
                   nats\tbus::c\tthe nats-server program is not installed (Debian package nats-server)\n\
                   corpus\tsigma::d\tno corpus at /nowhere\n";
        let report = skip_report(log, &BTreeSet::from([Need::Nats]));
        assert!(
            report.starts_with("xtask: skipped tests: 4, by reason:\n"),
            "{report}"
        );
        assert!(
            report.contains("  nats (allowed to be missing): 3\n"),
            "{report}"
        );
        assert!(
            report.contains("    2 × NIGEHBAN_TEST_NATS_URL is not set\n"),
            "{report}"
        );
        assert!(
            report.contains("  corpus: 1\n    1 × no corpus at /nowhere\n"),
            "{report}"
        );
        assert_eq!(
            skip_report("", &BTreeSet::new()),
            "xtask: skipped tests: none\n"
        );
    }

    /// A fresh directory under the system's temporary directory.
    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
