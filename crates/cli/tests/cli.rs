//! The real `nigehban` binary: first start, configuration errors, the storage
//! commands, and a backup taken under write load that restores and verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use postgres::{ScratchDatabase, postgres_program};
use server::{
    Server, Session, bearer, create_user, http, http_json, nigehban, register_sensor, serve,
};

/// Signs in with the one-time password and replaces it; returns the session.
fn first_sign_in(server: &Server) -> Session {
    let one_time = server
        .one_time_password
        .clone()
        .expect("a one-time password was printed");
    let (session, answer) = Session::sign_in(server.address, "admin", &one_time);
    assert_eq!(answer.json()["must_change_password"], true);
    let changed = http_json(
        server.address,
        "POST",
        "/api/v1/auth/password",
        &session.headers(),
        Some(
            &json!({"current_password": one_time, "new_password": "the administrator's own passphrase"}),
        ),
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    session
}
#[test]
fn first_start_prints_a_one_time_password_that_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let health = http_json(server.address, "GET", "/healthz", &[], None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");

    let session = first_sign_in(&server);
    let me = http_json(
        server.address,
        "GET",
        "/api/v1/auth/session",
        &session.headers(),
        None,
    );
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["user"]["username"], "admin");
    assert_eq!(me.json()["role"], "administrator");
    assert_eq!(me.json()["must_change_password"], false);
    let tenants = http_json(
        server.address,
        "GET",
        "/api/v1/tenants",
        &session.headers(),
        None,
    );
    assert_eq!(
        tenants.json()["items"][0]["name"],
        "National CERT",
        "{}",
        tenants.text()
    );
    assert_eq!(tenants.json()["items"][0]["kind"], "national");

    let status = server.terminate();
    assert!(status.success(), "serve exited with {status}");

    // The second start finds the platform set up: no new password, same data.
    let server = Server::start(&data_dir);
    assert!(server.one_time_password.is_none());
    let (_, answer) = Session::sign_in(
        server.address,
        "admin",
        "the administrator's own passphrase",
    );
    assert_eq!(answer.json()["user"]["username"], "admin");
    assert!(server.terminate().success());
}

/// The built-in rule that raises an alert for a Suricata alert of severity 1.
const SURICATA_SEVERITY_1: &str = "68991d72-9383-4c0c-a5e8-7d6ed60d2b05";

/// The README's first command, as a new user runs it: the very first start
/// detects with the built-in starter pack at once (it was seeded only at
/// the next restart before), and says nothing wrong about set-up in its log.
#[test]
fn a_first_start_detects_with_the_built_in_rules_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(&data_dir)
        .env("NIGEHBAN_SECURE_COOKIES", "false")
        .env("NIGEHBAN_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = Server::spawn(command);
    let session = first_sign_in(&server);
    let admin_token = session.api_token(server.address, &json!({"name": "first day"}));
    let analyst_token = session.api_token(
        server.address,
        &json!({"name": "first shift", "role": "analyst"}),
    );
    let sensor = register_sensor(
        server.address,
        &admin_token,
        &json!({"name": "border IDS", "kind": "other"}),
    );
    let eve = r#"{"timestamp":"2026-12-07T10:22:14.985026+0000","event_type":"alert","src_ip":"203.0.113.66","src_port":41402,"dest_ip":"10.20.30.40","dest_port":445,"proto":"TCP","alert":{"signature_id":2024217,"signature":"ET EXPLOIT first-day probe","category":"Attempted Administrator Privilege Gain","severity":1}}"#;
    let sent = http(
        server.address,
        "POST",
        "/api/v1/ingest",
        &[
            ("Authorization", &bearer(&sensor.token)),
            ("Content-Type", "application/x-ndjson"),
        ],
        format!("{eve}\n").as_bytes(),
    );
    assert_eq!(sent.status, 202, "{}", sent.text());

    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let alerts = http_json(
            server.address,
            "GET",
            &format!("/api/v1/alerts?rule={SURICATA_SEVERITY_1}"),
            &[("Authorization", &bearer(&analyst_token))],
            None,
        );
        assert_eq!(alerts.status, 200, "{}", alerts.text());
        let items = alerts.json()["items"].as_array().unwrap().clone();
        if let Some(alert) = items.into_iter().next() {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "no alert from the built-in rule {SURICATA_SEVERITY_1} within 30 s of the first start"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(alert["rule"]["id"], SURICATA_SEVERITY_1, "{alert}");
    assert_eq!(alert["sensor"], sensor.id.as_str(), "{alert}");
    assert_eq!(alert["severity"], "high", "{alert}");
    assert_eq!(alert["event_count"], 1, "{alert}");
    assert!(server.terminate().success());

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("built-in rules seeded"), "{log}");
    for wrong in [
        "not been bootstrapped",
        "seeding the built-in rules failed",
        "pass failed",
    ] {
        assert!(
            !log.contains(wrong),
            "the first start logged {wrong:?}:\n{log}"
        );
    }
}

#[test]
fn bad_configuration_is_refused_at_start_with_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let refuse = |command: &mut Command, needles: &[&str]| {
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for needle in needles {
            assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        }
        assert!(
            !data.join("nigehban.db").exists(),
            "a refused start must not create the store"
        );
    };
    refuse(
        nigehban()
            .args(["serve", "--listen", "nonsense", "--data-dir"])
            .arg(&data),
        &["`listen`", "flag --listen", "nonsense"],
    );
    refuse(
        nigehban()
            .args(["serve", "--data-dir"])
            .arg(&data)
            .env("NIGEHBAN_MAX_BODY_BYTES", "5"),
        &[
            "`max_body_bytes`",
            "NIGEHBAN_MAX_BODY_BYTES",
            "out of range",
        ],
    );
    refuse(
        nigehban()
            .args(["serve", "--data-dir"])
            .arg(&data)
            .env("NIGEHBAN_DATABASE", "mysql://somewhere/db"),
        &["`database`", "NIGEHBAN_DATABASE", "not a PostgreSQL URL"],
    );
    let config = dir.path().join("nigehban.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"\n").unwrap();
    refuse(
        nigehban()
            .args(["serve", "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&config),
        &["listen_adress", "nigehban.toml"],
    );
    std::fs::write(&config, "request_timeout_seconds = 0\n").unwrap();
    refuse(
        nigehban()
            .args(["serve", "--data-dir"])
            .arg(&data)
            .env("NIGEHBAN_CONFIG", &config),
        &["`request_timeout_seconds`", "nigehban.toml", "out of range"],
    );
}

#[test]
fn admin_create_user_before_first_start_sets_the_administrator_password() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let migrate = nigehban()
        .args(["migrate", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));

    let output = create_user(
        &["--data-dir", data_dir.to_str().unwrap()],
        "chief",
        &[],
        "chief's long passphrase",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("one-time password"), "{stdout}");

    let server = Server::start(&data_dir);
    assert!(
        server.one_time_password.is_none(),
        "a password was given: none is generated"
    );
    let (session, answer) = Session::sign_in(server.address, "chief", "chief's long passphrase");
    assert_eq!(answer.json()["must_change_password"], false);
    assert_eq!(answer.json()["role"], "administrator");
    let me = http_json(
        server.address,
        "GET",
        "/api/v1/auth/session",
        &session.headers(),
        None,
    );
    assert_eq!(me.status, 200, "{}", me.text());
    assert!(server.terminate().success());

    // Now a second user, with a generated one-time password.
    let output = nigehban()
        .args([
            "admin",
            "create-user",
            "--username",
            "watch",
            "--role",
            "analyst",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("one-time password: "));
    let output = nigehban()
        .args([
            "admin",
            "create-user",
            "--username",
            "watch",
            "--role",
            "analyst",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a taken user name is refused: {output:?}"
    );
    let output = nigehban()
        .args([
            "admin",
            "create-user",
            "--username",
            "x",
            "--role",
            "janitor",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("janitor"));
}

#[test]
fn backup_under_write_load_restores_to_a_database_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let session = first_sign_in(&server);
    let created = http_json(
        server.address,
        "POST",
        "/api/v1/tokens",
        &session.headers(),
        Some(&json!({"name": "load generator"})),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let bearer = format!("Bearer {}", created.json()["secret"].as_str().unwrap());
    let root = http_json(
        server.address,
        "GET",
        "/api/v1/auth/session",
        &session.headers(),
        None,
    )
    .json()["tenant"]
        .as_str()
        .unwrap()
        .to_owned();

    // Writers: create organisations as fast as they can until told to stop
    // (bounded: at most 60 seconds or 5000 tenants).
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let address = server.address;
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let (stop, written, bearer, root) = (stop.clone(), written.clone(), bearer.clone(), root.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed)
                    && started.elapsed() < Duration::from_secs(60)
                    && written.load(Ordering::Relaxed) < 5000
                {
                    let answer = http_json(
                        address,
                        "POST",
                        "/api/v1/tenants",
                        &[("Authorization", bearer.as_str())],
                        Some(&json!({"parent": root, "name": format!("org {writer}-{n}"), "kind": "organisation"})),
                    );
                    assert_eq!(answer.status, 201, "{}", answer.text());
                    written.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    while written.load(Ordering::Relaxed) < 30 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let backup = dir.path().join("snapshot.db");
    let output = nigehban()
        .args(["backup", "--data-dir"])
        .arg(&data_dir)
        .arg("--to")
        .arg(&backup)
        .output()
        .unwrap();
    let during = written.load(Ordering::Relaxed);
    // Keep writing a little after the backup, then stop.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(output.status.success(), "backup failed: {output:?}");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("backup written to"), "{report}");
    let total = written.load(Ordering::Relaxed);
    assert!(
        total > during,
        "writes continued while and after the backup ran"
    );
    assert!(server.terminate().success());

    // The live store verifies, and so does the restored snapshot.
    let verify = nigehban()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
    let restored = dir.path().join("restored");
    // The audit key is not in backups (who holds a backup must not be able
    // to forge the log): the operator brings the key kept apart.
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(data_dir.join("audit.key"), restored.join("audit.key")).unwrap();
    let output = nigehban()
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert!(output.status.success(), "restore failed: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("audit log intact"),
        "{output:?}"
    );
    let verify = nigehban()
        .args(["audit", "verify", "--data-dir"])
        .arg(&restored)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
    let verdict = String::from_utf8_lossy(&verify.stdout);
    assert!(verdict.starts_with("audit log intact"), "{verdict}");

    // The snapshot holds the tenants written before it was taken, and serves.
    let server = Server::start(&restored);
    let (session, _) = Session::sign_in(
        server.address,
        "admin",
        "the administrator's own passphrase",
    );
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let page = http_json(
            server.address,
            "GET",
            &format!("/api/v1/tenants?limit=1000{cursor}"),
            &session.headers(),
            None,
        );
        count += page.json()["items"].as_array().unwrap().len();
        match page.json()["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert!(count > 30, "only {count} tenants in the snapshot");
    assert!(
        count <= total + 1,
        "{count} tenants but only {total} were written"
    );
    assert!(server.terminate().success());

    // Restoring over an existing database needs --force.
    let output = nigehban()
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// The PostgreSQL server the test suite was given, or `None` (skipped, or
/// failed when required) when there is none.
fn postgres_url() -> Option<String> {
    nigehban_testkit::postgres_url()
}

#[test]
fn serves_on_postgresql() {
    let Some(server_url) = postgres_url() else {
        return;
    };
    let database = ScratchDatabase::create(&server_url, "cli");
    let dir = tempfile::tempdir().unwrap();
    // The audit key is made with the log, in the data directory.
    let migrate = nigehban()
        .args(["migrate", "--database", &database.url, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    assert!(dir.path().join("audit.key").is_file());

    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(dir.path())
        .env("NIGEHBAN_DATABASE", &database.url);
    let server = Server::spawn(command);
    assert!(
        server.listening_line.contains("PostgreSQL at"),
        "{}",
        server.listening_line
    );
    assert!(
        !dir.path().join("nigehban.db").exists(),
        "PostgreSQL was asked for; no SQLite file"
    );
    assert_eq!(
        http_json(server.address, "GET", "/readyz", &[], None).status,
        200
    );
    let session = first_sign_in(&server);
    let root = http_json(
        server.address,
        "GET",
        "/api/v1/auth/session",
        &session.headers(),
        None,
    )
    .json()["tenant"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = http_json(
        server.address,
        "POST",
        "/api/v1/tenants",
        &session.headers(),
        Some(
            &json!({"parent": root, "name": "CERT Energy", "kind": "sectoral", "sector": "energy"}),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(server.terminate().success());

    let verify = nigehban()
        .args(["audit", "verify", "--database", &database.url, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("audit log intact"));
    let backup = nigehban()
        .args(["backup", "--database", &database.url, "--to"])
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert_eq!(backup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&backup.stderr).contains("pg_dump"));
}

/// Sets up a store with a few audit entries (first start through `admin
/// create-user`, then a second user), returning the `--data-dir`/`--database`
/// arguments that name it.
fn audited_store(storage: &[&str]) {
    for (username, role) in [("chief", "administrator"), ("watch", "analyst")] {
        create_user(
            storage,
            username,
            &["--role", role],
            "a long enough passphrase",
        );
    }
}

/// Runs `nigehban audit verify` on `storage`: (exit code, standard output).
fn audit_verify(storage: &[&str]) -> (Option<i32>, String) {
    let output = nigehban()
        .args(["audit", "verify"])
        .args(storage)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The sequence number `audit verify` must name after each tampering below.
const TAMPERED_SEQ: i64 = 2;

/// Ways to tamper with audit entry 2 directly in the database.
const TAMPERINGS: [&str; 3] = [
    "UPDATE audit_log SET action = 'user.delete' WHERE seq = 2",
    "UPDATE audit_log SET after_json = '{\"forged\":true}' WHERE seq = 2",
    "UPDATE audit_log SET at_micros = at_micros + 1 WHERE seq = 2",
];

#[test]
fn audit_verify_names_the_tampered_entry_on_sqlite() {
    for tampering in TAMPERINGS {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let data_dir_text = data_dir.to_str().unwrap();
        let storage = ["--data-dir", data_dir_text];
        audited_store(&storage);
        let (code, verdict) = audit_verify(&storage);
        assert_eq!(code, Some(0), "{verdict}");
        assert!(verdict.starts_with("audit log intact"), "{verdict}");

        // An insider with database access first drops the append-only triggers.
        let db = rusqlite::Connection::open(data_dir.join("nigehban.db")).unwrap();
        db.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap();
        let changed = db.execute(tampering, []).unwrap();
        assert_eq!(changed, 1, "{tampering}");
        drop(db);

        let (code, verdict) = audit_verify(&storage);
        assert_eq!(code, Some(1), "{tampering}: {verdict}");
        assert!(
            verdict.contains(&format!("audit entry seq {TAMPERED_SEQ} ")),
            "{tampering}: {verdict}"
        );
    }
}

#[test]
fn audit_verify_names_the_tampered_entry_on_postgresql() {
    let Some(server_url) = postgres_url() else {
        return;
    };
    for tampering in TAMPERINGS {
        let database = ScratchDatabase::create(&server_url, "cli");
        let keys = tempfile::tempdir().unwrap();
        let key_file = keys.path().join("audit.key");
        let storage = [
            "--database",
            database.url.as_str(),
            "--audit-key-file",
            key_file.to_str().unwrap(),
        ];
        audited_store(&storage);
        let (code, verdict) = audit_verify(&storage);
        assert_eq!(code, Some(0), "{verdict}");

        let psql = Command::new(postgres_program("psql"))
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "DROP TRIGGER audit_log_no_change ON audit_log",
            ])
            .args(["-c", tampering, &database.url])
            .output()
            .expect("psql runs");
        assert!(psql.status.success(), "{tampering}: {psql:?}");
        assert!(
            String::from_utf8_lossy(&psql.stdout).contains("UPDATE 1"),
            "{psql:?}"
        );

        let (code, verdict) = audit_verify(&storage);
        assert_eq!(code, Some(1), "{tampering}: {verdict}");
        assert!(
            verdict.contains(&format!("audit entry seq {TAMPERED_SEQ} ")),
            "{tampering}: {verdict}"
        );
    }
}

// ---- Regression (issue 8, item 9): the first start's password and the way back in ----

#[test]
fn a_failed_bind_on_first_start_prints_no_password_and_sets_nothing_up() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let output = nigehban()
        .args(["serve", "--listen", &port, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&port),
        "the error names the address: {stderr}"
    );
    assert!(
        !stdout.contains("one-time password"),
        "a password printed by a server that never served is lost: {stdout}"
    );
    drop(taken);
    // The next start is the first start: its password is printed and signs in.
    let server = Server::start(&data_dir);
    assert!(
        server.one_time_password.is_some(),
        "no password after the failed start"
    );
    first_sign_in(&server);
    assert!(server.terminate().success());
}

/// Resets `user`'s password with the real binary on `storage`; returns the
/// one-time password printed.
fn reset_password(storage: &[&str], user: &str) -> String {
    let output = nigehban()
        .args(["admin", "reset-password", user])
        .args(storage)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.split("one-time password: ").nth(1))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .trim()
        .to_owned()
}

/// A lost administrator password is replaced from the command line: the old
/// one stops working, the new one must be changed at sign-in, the reset is
/// in the audit log, and the user's sessions are ended.
fn admin_reset_password_lets_the_administrator_back_in(storage: &[&str], command: Command) {
    let server = Server::spawn(command);
    let session = first_sign_in(&server);
    let lost = "the administrator's own passphrase";

    // The server keeps running: the command works on the same storage.
    let one_time = reset_password(storage, "admin");
    assert!(one_time.len() >= 16, "{one_time}");
    let ended = http_json(
        server.address,
        "GET",
        "/api/v1/auth/session",
        &session.headers(),
        None,
    );
    assert_eq!(ended.status, 401, "the session was ended: {}", ended.text());
    let refused = http_json(
        server.address,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({"username": "admin", "password": lost})),
    );
    assert_eq!(refused.status, 401, "{}", refused.text());
    let (session, answer) = Session::sign_in(server.address, "admin", &one_time);
    assert_eq!(
        answer.json()["must_change_password"],
        true,
        "{}",
        answer.text()
    );
    let changed = http_json(
        server.address,
        "POST",
        "/api/v1/auth/password",
        &session.headers(),
        Some(&json!({"current_password": one_time, "new_password": "a passphrase found again"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    let audit = http_json(
        server.address,
        "GET",
        "/api/v1/audit?newest_first=true&limit=10",
        &session.headers(),
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text());
    let audit_json = audit.json();
    let resets: Vec<&Value> = audit_json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "user.set_password")
        .collect();
    // Newest first: the user's own change, then the operator's reset (an
    // earlier change of the first sign-in may follow).
    assert!(
        resets.len() >= 2,
        "the reset and the change: {}",
        audit.text()
    );
    assert_eq!(resets[0]["actor"]["kind"], "user", "{}", audit.text());
    assert_eq!(
        resets[1]["actor"]["kind"],
        "operator",
        "the reset is the operator's: {}",
        audit.text()
    );
    assert!(
        !audit.text().contains(&one_time),
        "the password is not in the audit log"
    );

    // An unknown user is named in a clear refusal.
    let output = nigehban()
        .args(["admin", "reset-password", "nobody"])
        .args(storage)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nobody"), "{stderr}");
    assert!(server.terminate().success());
}

#[test]
fn admin_reset_password_lets_the_administrator_back_in_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut command = serve();
    command.arg("--data-dir").arg(&data_dir);
    let data_dir = data_dir.to_str().unwrap().to_owned();
    admin_reset_password_lets_the_administrator_back_in(&["--data-dir", &data_dir], command);
}

#[test]
fn admin_reset_password_lets_the_administrator_back_in_on_postgresql() {
    let Some(server_url) = postgres_url() else {
        return;
    };
    let database = ScratchDatabase::create(&server_url, "cli");
    let dir = tempfile::tempdir().unwrap();
    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(dir.path())
        .env("NIGEHBAN_DATABASE", &database.url);
    // The reset opens the database with the server's audit key (in its data directory).
    let data_dir = dir.path().to_str().unwrap().to_owned();
    admin_reset_password_lets_the_administrator_back_in(
        &["--database", &database.url, "--data-dir", &data_dir],
        command,
    );
}

/// Through the real server: wrong passwords for a user name from one address
/// slow further tries of that name from there (429 with `Retry-After`, even
/// with the right password) instead of locking the account.
#[test]
fn wrong_passwords_slow_that_user_name_down_from_that_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let one_time = server.one_time_password.clone().unwrap();
    let body = |password: &str| json!({"username": "admin", "password": password});
    // Five free failures, and the sixth that starts the wait.
    for attempt in 1..=6 {
        let answer = http_json(
            server.address,
            "POST",
            "/api/v1/auth/login",
            &[],
            Some(&body("not the password")),
        );
        assert_eq!(answer.status, 401, "attempt {attempt}: {}", answer.text());
    }
    let slowed = http_json(
        server.address,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&body(&one_time)),
    );
    assert_eq!(slowed.status, 429, "{}", slowed.text());
    assert!(
        slowed.header("retry-after").is_some(),
        "{:?}",
        slowed.headers
    );
    assert!(server.terminate().success());
}
