//! The server's defences and probes through the real `nigehban` binary (issue 8,
//! items 4 to 6): readiness and intake with PostgreSQL stopped (a throwaway
//! cluster this test starts and stops) and with nats-server stopped, who may read
//! which series of `/metrics`, and the connection limits as configured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/nats.rs"]
mod nats;
#[path = "support/server.rs"]
mod server;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use nats::NatsServer;
use server::{
    Answer, PASSWORD, Server, Session, bearer, create_administrator, free_port, http, http_json,
    register_sensor,
};

fn services_required() -> bool {
    std::env::var("NIGEHBAN_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Reports a missing program as a skip, or fails when services are required.
fn missing(what: &str) {
    assert!(
        !services_required(),
        "NIGEHBAN_REQUIRE_SERVICES=1 but {what} is missing"
    );
    println!("skipped: {what} is missing");
}

/// Asks `path` until `done` holds for the answer, for at most `within`.
fn until(
    address: SocketAddr,
    path: &str,
    within: Duration,
    done: impl Fn(&Answer) -> bool,
) -> Answer {
    let deadline = Instant::now() + within;
    loop {
        let answer = http(address, "GET", path, &[], b"");
        if done(&answer) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The administrator's API token and a sensor's ingest token, tenant and id.
struct Setup {
    admin_token: String,
    sensor_token: String,
    sensor_id: String,
    tenant_id: String,
}

/// Signs `chief` in, makes an API token, an organisation and a sensor in it.
fn set_up(server: &Server) -> Setup {
    let (session, _) = Session::sign_in(server.address, "chief", PASSWORD);
    let admin_token = session.api_token(server.address, &json!({"name": "hardening"}));
    let root = http(
        server.address,
        "GET",
        "/api/v1/tenants",
        &[("Authorization", &bearer(&admin_token))],
        b"",
    );
    let root_id = root.json()["items"][0]["id"].as_str().unwrap().to_owned();
    let organisation = http_json(
        server.address,
        "POST",
        "/api/v1/tenants",
        &[("Authorization", &bearer(&admin_token))],
        Some(&json!({
            "parent": root_id,
            "name": "Bank of Examples",
            "kind": "organisation",
        })),
    );
    assert_eq!(organisation.status, 201, "{}", organisation.text());
    let tenant_id = organisation.json()["id"].as_str().unwrap().to_owned();
    let sensor = register_sensor(
        server.address,
        &admin_token,
        &json!({"tenant": tenant_id, "name": "edge ids", "kind": "ids"}),
    );
    Setup {
        admin_token,
        sensor_token: sensor.token,
        sensor_id: sensor.id,
        tenant_id,
    }
}

/// `POST /api/v1/ingest` of one event with the sensor's token.
fn ingest(server: &Server, setup: &Setup, message: &str) -> Answer {
    http(
        server.address,
        "POST",
        "/api/v1/ingest",
        &[
            ("Content-Type", "application/x-ndjson"),
            ("Authorization", &format!("Bearer {}", setup.sensor_token)),
        ],
        &serde_json::to_vec(&json!({ "message": message })).unwrap(),
    )
}

/// A throwaway PostgreSQL cluster of this test's own (so that stopping it stops
/// no other test's), stopped and removed when dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    options: String,
    port: u16,
    as_postgres_user: bool,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Starts one, or `None` (reported as skipped) when PostgreSQL is not installed.
    fn start() -> Option<Postgres> {
        let Some(bin) = postgres_bin_dir() else {
            missing("PostgreSQL (initdb and pg_ctl under /usr/lib/postgresql)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let as_postgres_user = is_root();
        if as_postgres_user {
            // PostgreSQL refuses to run as root: its directory goes to the postgres user.
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let port = free_port();
        let data = dir.path().join("data");
        let options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        let postgres = Postgres {
            bin,
            data,
            options,
            port,
            as_postgres_user,
            _dir: dir,
        };
        postgres.run(
            "initdb",
            &[
                "-D",
                &postgres.data.to_string_lossy(),
                "-U",
                "nigehban",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        postgres.start_again();
        Some(postgres)
    }

    fn url(&self) -> String {
        format!("postgres://nigehban@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    fn start_again(&self) {
        let log = self.data.with_file_name("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-o",
                &self.options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
    }

    /// `pg_ctl stop` (fast: sessions are ended, as when an operator stops the database).
    fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    fn run(&self, program: &str, args: &[&str]) {
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
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data.to_string_lossy().into_owned();
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .current_dir("/")
            .output();
    }
}

/// The newest installed PostgreSQL server binaries.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[test]
fn with_postgresql_stopped_readiness_is_503_and_intake_asks_to_retry() {
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let url = postgres.url();
    let dir = tempfile::tempdir().unwrap();
    create_administrator(dir.path(), &["--database", &url]);
    let server = Server::start_with(dir.path(), &["--database", &url], &[]);
    let setup = set_up(&server);
    let ready = http(server.address, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(
        ready.json()["checks"],
        json!({"storage": "ok", "event_bus": "ok", "event_index": "ok"})
    );
    let sent = ingest(&server, &setup, "before the database stopped");
    assert_eq!(sent.status, 202, "{}", sent.text());

    postgres.stop();
    let ready = until(server.address, "/readyz", Duration::from_secs(20), |a| {
        a.status == 503
    });
    ready.assert_error(503, "not_ready");
    let message = ready.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("storage"), "{message}");
    assert!(!message.contains("event bus"), "{message}");
    assert_eq!(ready.header("retry-after"), Some("5"));

    // Intake cannot authenticate the sensor: "retry later", not "internal error".
    let refused = ingest(&server, &setup, "while the database is stopped");
    refused.assert_error(503, "unavailable");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    // So is every other request that needs storage.
    let listing = http(
        server.address,
        "GET",
        "/api/v1/tenants",
        &[("Authorization", &format!("Bearer {}", setup.admin_token))],
        b"",
    );
    listing.assert_error(503, "unavailable");
    assert!(listing.header("retry-after").is_some(), "{listing:?}");
    // Liveness does not depend on the database.
    assert_eq!(
        http(server.address, "GET", "/healthz", &[], b"").status,
        200
    );

    postgres.start_again();
    let ready = until(server.address, "/readyz", Duration::from_secs(30), |a| {
        a.status == 200
    });
    assert_eq!(ready.status, 200, "{}", ready.text());
    let sent = ingest(&server, &setup, "after the database came back");
    assert_eq!(sent.status, 202, "{}", sent.text());
}

#[test]
fn with_nats_server_stopped_readiness_is_503_and_intake_asks_to_retry() {
    let installed = Command::new("nats-server")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        missing("nats-server");
        return;
    }
    let nats_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let nats = NatsServer::start_on(Path::new("nats-server"), nats_dir.path(), port);
    let dir = tempfile::tempdir().unwrap();
    create_administrator(dir.path(), &[]);
    let bus = format!("nats://127.0.0.1:{port}");
    let server = Server::start_with(dir.path(), &["--bus", &bus], &[]);
    let setup = set_up(&server);
    let ready = http(server.address, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let sent = ingest(&server, &setup, "before nats-server stopped");
    assert_eq!(sent.status, 202, "{}", sent.text());

    nats.kill();
    let ready = until(server.address, "/readyz", Duration::from_secs(20), |a| {
        a.status == 503
    });
    ready.assert_error(503, "not_ready");
    let message = ready.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("event bus"), "{message}");
    assert!(!message.contains("storage"), "{message}");
    let refused = ingest(&server, &setup, "while nats-server is stopped");
    refused.assert_error(503, "unavailable");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");

    let nats = NatsServer::start_on(Path::new("nats-server"), nats_dir.path(), port);
    let ready = until(server.address, "/readyz", Duration::from_secs(30), |a| {
        a.status == 200
    });
    assert_eq!(ready.status, 200, "{}", ready.text());
    let sent = ingest(&server, &setup, "after nats-server came back");
    assert_eq!(sent.status, 202, "{}", sent.text());
    drop(server);
    nats.kill();
}

#[test]
fn only_the_scraper_with_the_token_sees_series_that_name_tenants_sensors_or_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    let token_file = dir.path().join("scrape-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let data = dir.path().join("data");
    create_administrator(&data, &[]);
    let token_file_text = token_file.display().to_string();
    let server = Server::start_with(
        &data,
        &[
            "--syslog-udp",
            "127.0.0.1:0",
            "--metrics-token-file",
            &token_file_text,
        ],
        &[],
    );
    let setup = set_up(&server);
    let sent = ingest(&server, &setup, "counted per sensor");
    assert_eq!(sent.status, 202, "{}", sent.text());
    // Syslog from an address no sensor is registered for: counted by address.
    let syslog = UdpSocket::bind("127.0.0.9:0").unwrap();
    syslog
        .send_to(
            b"<13>1 2024-03-15T10:00:00Z host app - - - stranger",
            server.syslog["udp"],
        )
        .unwrap();
    let bearer = format!("Bearer {token}");
    let with_token = [("Authorization", bearer.as_str())];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http(server.address, "GET", "/metrics", &with_token, b"")
        .text()
        .contains("address=\"127.0.0.9\"")
    {
        assert!(
            Instant::now() < deadline,
            "the refused address was not counted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let anonymous = http(server.address, "GET", "/metrics", &[], b"").text();
    let full = http(server.address, "GET", "/metrics", &with_token, b"").text();
    for secret in [&setup.tenant_id, &setup.sensor_id, "127.0.0.9"] {
        assert!(
            !anonymous.contains(secret),
            "{secret} in the anonymous scrape:\n{anonymous}"
        );
        assert!(
            full.contains(secret),
            "{secret} missing with the token:\n{full}"
        );
    }
    // The aggregate series are there for anyone.
    for series in [
        "nigehban_intake_accepted_total{transport=\"http\"} 1",
        "nigehban_sensors_watched 1",
        "nigehban_http_requests_total",
        "nigehban_bus_consumer_lag{consumer=\"search\"}",
    ] {
        assert!(anonymous.contains(series), "{series} missing:\n{anonymous}");
    }
    assert!(full.contains(&format!(
        "nigehban_intake_sensor_accepted_total{{tenant=\"{}\",sensor=\"{}\"}} 1",
        setup.tenant_id, setup.sensor_id
    )));
    // A wrong token, or an API token, is refused rather than served less.
    for wrong in [
        "0123456789abcdef0123456789abcdee",
        setup.admin_token.as_str(),
    ] {
        http(
            server.address,
            "GET",
            "/metrics",
            &[("Authorization", &format!("Bearer {wrong}"))],
            b"",
        )
        .assert_error(401, "unauthenticated");
    }
}

#[test]
fn a_metrics_listener_serves_every_series_where_the_operator_bound_it() {
    let dir = tempfile::tempdir().unwrap();
    create_administrator(dir.path(), &[]);
    let server = Server::start_with(dir.path(), &["--metrics-listen", "127.0.0.1:0"], &[]);
    let setup = set_up(&server);
    assert_eq!(ingest(&server, &setup, "one").status, 202);
    let metrics = server.metrics.expect("the metrics listener was announced");
    let full = http(metrics, "GET", "/metrics", &[], b"");
    assert_eq!(full.status, 200, "{}", full.text());
    assert!(full.text().contains(&setup.sensor_id), "{}", full.text());
    // The API's listener still serves only the aggregate series to anyone.
    let anonymous = http(server.address, "GET", "/metrics", &[], b"");
    assert!(!anonymous.text().contains(&setup.sensor_id));
    // Nothing else is served there.
    http(metrics, "GET", "/api/v1/tenants", &[], b"").assert_error(404, "not_found");
    http(metrics, "GET", "/healthz", &[], b"").assert_error(404, "not_found");
}

#[test]
fn connection_limits_are_the_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &["--http-header-timeout-seconds", "2"],
        &[("NIGEHBAN_HTTP_MAX_CONNECTIONS_PER_CLIENT", "5")],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address = server.address;
    runtime.block_on(async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let connect = |client: [u8; 4]| async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((client, 0))).unwrap();
            socket.connect(address).await.unwrap()
        };
        let mut idle = Vec::new();
        for _ in 0..12 {
            idle.push(connect([127, 0, 0, 1]).await);
        }
        // All read at once: the kept ones must not reach the header timeout meanwhile.
        let reads: Vec<_> = idle
            .into_iter()
            .map(|mut stream| {
                tokio::spawn(async move {
                    let mut answer = Vec::new();
                    let read = tokio::time::timeout(
                        Duration::from_millis(700),
                        stream.read_to_end(&mut answer),
                    )
                    .await;
                    (read.is_ok(), answer, stream)
                })
            })
            .collect();
        let mut refused = 0;
        let mut kept = Vec::new();
        for read in reads {
            let (ended, answer, stream) = read.await.unwrap();
            if ended {
                let text = String::from_utf8_lossy(&answer);
                assert!(text.starts_with("HTTP/1.1 503"), "{text}");
                assert!(text.contains("too_many_connections"), "{text}");
                refused += 1;
            } else {
                kept.push(stream);
            }
        }
        assert_eq!((kept.len(), refused), (5, 7));
        // Another client is served.
        let mut other = connect([127, 0, 0, 2]).await;
        other
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        other.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        // The idle ones are closed at the two-second header timeout.
        let started = Instant::now();
        for mut stream in kept {
            let mut rest = Vec::new();
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
                .await
                .expect("an idle connection outlived the header timeout")
                .ok();
        }
        assert!(started.elapsed() < Duration::from_secs(4));
    });
}
