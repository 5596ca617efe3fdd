//! A skipped test writes its marker and log line; a required need fails it
//! instead; `NIGEHBAN_ALLOW_MISSING` lets a required need be missing. Each
//! case runs this test binary again with a prepared environment, so that no
//! test changes its own process's environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

/// Asks for a PostgreSQL server the child's environment never names.
#[test]
#[ignore = "run by the tests below in a child process"]
fn child_needing_postgres() {
    let Some(url) = nigehban_testkit::postgres_url() else {
        return;
    };
    panic!("NIGEHBAN_TEST_POSTGRES_URL was cleared, yet found {url}");
}

fn run_child(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "--ignored",
        "--exact",
        "child_needing_postgres",
        "--nocapture",
    ]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NIGEHBAN_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

#[test]
fn a_missing_service_is_a_logged_skip_when_not_required() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips.log");
    let output = run_child(&[("NIGEHBAN_SKIP_LOG", log.to_str().unwrap())]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "nigehban-skip: postgres: NIGEHBAN_TEST_POSTGRES_URL is not set (child_needing_postgres)"
        ),
        "{stdout}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged,
        "postgres\tchild_needing_postgres\tNIGEHBAN_TEST_POSTGRES_URL is not set\n"
    );
}

#[test]
fn a_missing_required_service_fails_naming_it() {
    let output = run_child(&[("NIGEHBAN_REQUIRE_SERVICES", "1")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stderr.contains(
            "NIGEHBAN_TEST_POSTGRES_URL is not set, and NIGEHBAN_REQUIRE_SERVICES=1 requires postgres"
        ),
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("nigehban-skip:"), "{stdout}");
}

#[test]
fn an_allowed_missing_service_skips_even_when_required() {
    let output = run_child(&[
        ("NIGEHBAN_REQUIRE_SERVICES", "1"),
        ("NIGEHBAN_ALLOW_MISSING", "nats,postgres"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("nigehban-skip: postgres:"), "{stdout}");
    // Allowing another need does not let this one be missing.
    let output = run_child(&[
        ("NIGEHBAN_REQUIRE_SERVICES", "1"),
        ("NIGEHBAN_ALLOW_MISSING", "nats"),
    ]);
    assert!(!output.status.success());
    // A misspelt need is an error, not a silent opt-out.
    let output = run_child(&[
        ("NIGEHBAN_REQUIRE_SERVICES", "1"),
        ("NIGEHBAN_ALLOW_MISSING", "postgress"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("NIGEHBAN_ALLOW_MISSING names \"postgress\""),
        "{stderr}"
    );
}
