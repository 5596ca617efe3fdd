//! `cargo xtask test` on a machine without nats-server fails, naming it,
//! before it runs anything; `NIGEHBAN_XTASK_HIDE` plays the machine without it.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn cargo_xtask_test_without_nats_server_fails_naming_it() {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("test")
        .env("NIGEHBAN_XTASK_HIDE", "nats-server");
    // Whatever the caller allowed to be missing, nats is not.
    command.env_remove("NIGEHBAN_ALLOW_MISSING");
    let output = command.output().expect("xtask runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "xtask test succeeded without nats-server:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("nats: nats-server is not installed (Debian package nats-server)"),
        "the failure does not name nats-server:\n{stderr}"
    );
    assert!(
        stderr.contains("--allow-missing nats"),
        "the failure does not say how to run without it:\n{stderr}"
    );
    // It stopped before running cargo (no format check, no clippy, no tests).
    assert!(!stdout.contains("xtask: cargo fmt"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
