//! Project automation, run as `cargo xtask <command>`.
//!
//! `cargo xtask test` is the one command that runs every test, the command
//! README.md gives and `.ci/run` calls. It
//! 1. installs missing Debian and PyPI packages when run as root (PostgreSQL,
//!    nats-server, rsyslog with its TLS driver, logger, the OpenAPI
//!    validator),
//! 2. starts throwaway services on loopback (a PostgreSQL cluster, a
//!    nats-server with JetStream) in a temporary directory,
//! 3. exports their addresses (`NIGEHBAN_TEST_POSTGRES_URL`,
//!    `NIGEHBAN_TEST_NATS_URL`) and `NIGEHBAN_REQUIRE_SERVICES=1`, so that
//!    tests needing them fail instead of skipping,
//! 4. runs `cargo fmt --check`, `cargo clippy -D warnings`, the whole test
//!    suite, and checks that the fuzz targets build,
//! 5. stops the services, whatever happened.
//!
//! `cargo xtask services` starts the same services and waits, printing the
//! environment to export, for working on one test by hand.
//!
//! It uses only the standard library so that it builds in seconds.

use std::env;
use std::fs;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Debian packages the test suite needs, each with a program that shows it is installed.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("postgresql", "/usr/lib/postgresql"),
    ("nats-server", "nats-server"),
    ("rsyslog", "rsyslogd"),
    // rsyslog's TLS driver, for the syslog-over-TLS intake tests.
    (
        "rsyslog-openssl",
        "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so",
    ),
    ("bsdutils", "logger"),
    ("openssl", "openssl"),
];

/// PyPI packages the test suite needs, each with the module that shows it is installed.
const PYPI_PACKAGES: &[(&str, &str)] = &[("openapi-spec-validator", "openapi_spec_validator")];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("services") => services(),
        _ => {
            eprintln!(
                "usage: cargo xtask test [-- extra cargo test args]\n       cargo xtask services"
            );
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

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn test(extra: &[String]) -> Result<(), String> {
    let root = workspace_root();
    env::set_current_dir(&root).map_err(|e| format!("cannot enter {}: {e}", root.display()))?;
    let started = Instant::now();

    let corpus = env::var("NIGEHBAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/data"));
    if corpus.is_dir() {
        println!("xtask: corpus at {}", corpus.display());
    } else {
        println!(
            "xtask: no corpus at {}: tests that need it will report themselves skipped",
            corpus.display()
        );
    }

    install_missing_packages();
    let services = Services::start(&root)?;
    // Every cargo command below (and so every test) sees the services.
    let env = services.env();
    let cargo = |args: &[&str]| cargo(args, &env);

    step("cargo fmt", cargo(&["fmt", "--all", "--", "--check"]))?;
    step(
        "cargo clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let mut test_args = vec!["test", "--workspace"];
    test_args.extend(extra.iter().map(String::as_str));
    step("cargo test", cargo(&test_args))?;
    if root.join("fuzz/Cargo.toml").is_file() {
        step(
            "fuzz targets build",
            cargo(&["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"]),
        )?;
    }
    drop(services);
    println!(
        "xtask: all tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn services() -> Result<(), String> {
    let root = workspace_root();
    install_missing_packages();
    let services = Services::start(&root)?;
    println!("# services are running; export these, then press Enter to stop them:");
    for (key, value) in services.env() {
        println!("export {key}={value}");
    }
    let mut line = String::new();
    let _ = io::stdin().read_line(&mut line);
    drop(services);
    Ok(())
}

/// Runs cargo with `args`, adding `env` to its environment.
fn cargo(args: &[&str], env: &[(String, String)]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

fn step(name: &str, result: Result<(), String>) -> Result<(), String> {
    match &result {
        Ok(()) => println!("xtask: {name}: ok"),
        Err(e) => println!("xtask: {name}: FAILED: {e}"),
    }
    result
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn have_program(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).exists();
    }
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .any(|dir| dir.join(program).is_file())
}

fn install_missing_packages() {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(_, probe)| !have_program(probe))
        .map(|(package, _)| *package)
        .collect();
    let root = is_root();
    if !missing.is_empty() {
        if root {
            println!("xtask: installing Debian packages: {}", missing.join(" "));
            let _ = Command::new("apt-get")
                .args(["update", "-qq"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
            let status = Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                println!("xtask: warning: apt-get install failed; tests needing these will fail");
            }
        } else {
            println!(
                "xtask: missing Debian packages ({}); run as root to install them, or install them yourself; tests needing them report themselves skipped",
                missing.join(" ")
            );
        }
    }
    let python = if have_program("python3") {
        "python3"
    } else {
        return;
    };
    for (package, module) in PYPI_PACKAGES {
        let present = Command::new(python)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if present {
            continue;
        }
        if root {
            println!("xtask: installing PyPI package {package}");
            let _ = Command::new(python)
                .args(["-m", "pip", "install", "-q", package])
                .status();
        } else {
            println!(
                "xtask: PyPI package {package} missing; tests needing it report themselves skipped"
            );
        }
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
    fn start(root: &Path) -> Result<Self, String> {
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
        match Postgres::start(&dir) {
            Ok(pg) => services.postgres = Some(pg),
            Err(e) => println!("xtask: PostgreSQL not started: {e}"),
        }
        match start_nats(&dir) {
            Ok(nats) => services.nats = Some(nats),
            Err(e) => println!("xtask: nats-server not started: {e}"),
        }
        Ok(services)
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
        if self.postgres.is_some() && self.nats.is_some() {
            vars.push(("NIGEHBAN_REQUIRE_SERVICES".to_owned(), "1".to_owned()));
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
    fn start(dir: &Path) -> Result<Self, String> {
        let bin = postgres_bin_dir().ok_or("no PostgreSQL server binaries found")?;
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
fn postgres_bin_dir() -> Option<PathBuf> {
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

fn start_nats(dir: &Path) -> Result<(Child, u16), String> {
    let program = [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
    ]
    .into_iter()
    .find(|p| have_program(p))
    .ok_or("nats-server is not installed")?;
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
        return Err(e);
    }
    println!("xtask: nats-server (JetStream) on 127.0.0.1:{port}");
    let _ = io::stdout().flush();
    Ok((child, port))
}
