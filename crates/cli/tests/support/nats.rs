//! A nats-server with JetStream that a test runs (and kills) itself, with a
//! store directory of its own: the shared test server is never touched.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::server::{Process, free_port, wait_for_port};

/// A nats-server of the test's own, killed when dropped (its [`Process`]).
pub struct NatsServer {
    process: Process,
    /// The program it runs.
    pub program: PathBuf,
    /// Its loopback port.
    pub port: u16,
    /// Its JetStream store.
    pub store: PathBuf,
}

impl NatsServer {
    /// Starts `program` on a free loopback port, storing in `store`.
    pub fn start(program: &Path, store: &Path) -> NatsServer {
        NatsServer::start_on(program, store, free_port())
    }

    /// Starts `program` on `port` (again, after a kill), storing in `store`.
    pub fn start_on(program: &Path, store: &Path, port: u16) -> NatsServer {
        let child = Command::new(program)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = NatsServer {
            process: Process(child),
            program: program.to_owned(),
            port,
            store: store.to_owned(),
        };
        wait_for_port(port, "nats-server", Duration::from_secs(30));
        server
    }

    /// Its URL, for `--bus`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.process.0.kill().unwrap();
        self.process.0.wait().unwrap();
    }
}
