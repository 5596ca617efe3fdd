//! Real syslog senders: util-linux `logger` and `rsyslogd` (started here on
//! loopback) over UDP, TCP and TLS. Every message must arrive with its PRI,
//! host, app, timestamp and structured data intact.
//!
//! Needs the Debian packages `bsdutils` (logger), `rsyslog` and, for TLS,
//! `rsyslog-openssl`; the tests say "skipped" without them unless
//! `NIGEHBAN_REQUIRE_SERVICES=1`.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nigehban_ingest::{
    ClientAuth, ClientCertificate, IntakeOptions, SensorStamp, SyslogConfig, TlsSettings,
};
use nigehban_normalise::NormalisedEvent;

use crate::common::{Harness, Need, Pki, Received, loopback_directory, program, text};

const LOGGER: &str = "/usr/bin/logger";
const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
const OSSL_DRIVER: &str = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so";

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn listeners_config() -> SyslogConfig {
    SyslogConfig {
        udp: Some("127.0.0.1:0".parse().unwrap()),
        tcp: Some("127.0.0.1:0".parse().unwrap()),
        ..SyslogConfig::default()
    }
}

/// Runs logger with `args` plus the message; panics if it fails.
fn logger(args: &[&str], message: &str) {
    let output = Command::new(LOGGER)
        .args(args)
        .arg(message)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "logger {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The event whose message is `message`.
fn find<'a>(events: &'a [Received], message: &str) -> &'a NormalisedEvent {
    &events
        .iter()
        .find(|r| text(&r.event, "message") == Some(message))
        .unwrap_or_else(|| {
            panic!(
                "no event with message {message:?} among {:?}",
                events
                    .iter()
                    .map(|r| text(&r.event, "message"))
                    .collect::<Vec<_>>()
            )
        })
        .event
}

/// The event's timestamp is the sender's (within a minute of now, read
/// without falling back to the receive time).
fn assert_sender_timestamp(event: &NormalisedEvent) {
    let at = event.timestamp().unwrap();
    let now = time::OffsetDateTime::from(SystemTime::now());
    assert!(
        (now - at).abs() < time::Duration::minutes(1),
        "timestamp {at}"
    );
    assert!(
        !event
            .diagnostics()
            .iter()
            .any(|d| d.contains("timestamp") || d.contains("TIMESTAMP")),
        "timestamp read leniently: {:?}",
        event.diagnostics()
    );
}

fn assert_rfc5424_intact(event: &NormalisedEvent, priority: u64, app: &str, host: &str) {
    assert_eq!(
        event.fields().get_u64("log.syslog.priority"),
        Some(priority)
    );
    assert_eq!(event.fields().get_u64("log.syslog.version"), Some(1));
    assert_eq!(text(event, "log.syslog.hostname"), Some(host));
    assert_eq!(text(event, "log.syslog.appname"), Some(app));
    assert_eq!(text(event, "log.syslog.msgid"), Some("LOGIN"));
    let sd = event
        .ecs("log.syslog.structured_data")
        .unwrap_or_else(|| panic!("no structured data: {event:?}"));
    assert_eq!(sd["origin@32473"]["user"], "alice", "{sd}");
    assert_eq!(sd["origin@32473"]["ip"], "203.0.113.9", "{sd}");
    assert_sender_timestamp(event);
}

const SD_ARGS: [&str; 8] = [
    "--sd-id",
    "origin@32473",
    "--sd-param",
    "user=\"alice\"",
    "--sd-param",
    "ip=\"203.0.113.9\"",
    "--msgid",
    "LOGIN",
];

#[tokio::test]
async fn logger_rfc5424_and_rfc3164_over_udp_and_tcp() {
    if program(Need::Logger, LOGGER, "bsdutils").is_none() {
        return;
    }
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let listeners = harness
        .intake
        .start_syslog(listeners_config())
        .await
        .unwrap();
    let udp = listeners.udp_address().unwrap().port().to_string();
    let tcp = listeners.tcp_address().unwrap().port().to_string();
    let host = local_hostname();
    let sent = 5;
    tokio::task::spawn_blocking(move || {
        let cases: [(&[&str], &str); 5] = [
            (&["--udp", "--port", &udp, "--rfc5424"], "udp 5424"),
            (
                &["--tcp", "--port", &tcp, "--rfc5424", "--octet-count"],
                "tcp 5424 octet-counted",
            ),
            (&["--tcp", "--port", &tcp, "--rfc5424"], "tcp 5424 newline"),
            (&["--udp", "--port", &udp, "--rfc3164"], "udp 3164"),
            (&["--tcp", "--port", &tcp, "--rfc3164"], "tcp 3164"),
        ];
        for (transport, message) in cases {
            let mut args = vec![
                "--server",
                "127.0.0.1",
                "-t",
                "sshd-test",
                "-p",
                "auth.warning",
            ];
            args.extend(transport.iter().copied());
            if args.contains(&"--rfc5424") {
                args.extend(SD_ARGS);
            }
            logger(&args, message);
        }
    })
    .await
    .unwrap();
    let events = harness.collect("t", sent, Duration::from_secs(20)).await;
    assert_eq!(events.len(), sent);
    // auth (4) * 8 + warning (4)
    for message in ["udp 5424", "tcp 5424 octet-counted", "tcp 5424 newline"] {
        let event = find(&events, message);
        assert_rfc5424_intact(event, 36, "sshd-test", &host);
        assert_eq!(text(event, "event.dataset"), Some("syslog"));
    }
    let short_host = host.split('.').next().unwrap_or_default();
    for message in ["udp 3164", "tcp 3164"] {
        let event = find(&events, message);
        assert_eq!(event.fields().get_u64("log.syslog.priority"), Some(36));
        assert_eq!(text(event, "log.syslog.hostname"), Some(short_host));
        assert_eq!(text(event, "log.syslog.appname"), Some("sshd-test"));
        assert_sender_timestamp(event);
    }
    for received in &events {
        assert_eq!(received.sensor_id, "syslog-relay-1");
        assert_eq!(received.tenant_id, "org-bank-01");
    }
    listeners.shutdown(Duration::from_secs(5)).await;
}

/// A running rsyslogd, killed when dropped.
struct Rsyslog {
    child: Child,
    _dir: tempfile::TempDir,
    input_port: u16,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rsyslogd: an imtcp input on a free port, forwarding everything
/// with `action` (an omfwd action). `files` are written into its directory
/// first; `{dir}` in the configuration is that directory.
fn start_rsyslog(global: &str, action: &str, pki: Option<&Pki>) -> Rsyslog {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    if let Some(pki) = pki {
        pki.write(dir.path());
    }
    let input_port = free_port();
    let config = format!(
        "global(workDirectory=\"{work}\" {global})\n\
         module(load=\"imtcp\")\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{input_port}\")\n\
         {action}\n",
        work = work.display(),
        global = global.replace("{dir}", &dir.path().display().to_string()),
        action = action.replace("{dir}", &dir.path().display().to_string()),
    );
    let config_path = dir.path().join("rsyslog.conf");
    std::fs::write(&config_path, &config).unwrap();
    let check = Command::new(RSYSLOGD)
        .args(["-N1", "-f"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "rsyslogd refused the configuration:\n{config}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(RSYSLOGD)
        .args(["-n", "-f"])
        .arg(&config_path)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", input_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Rsyslog {
        child,
        _dir: dir,
        input_port,
    }
}

/// Sends the test messages to rsyslog's input with logger over TCP, as RFC
/// 5424 (with structured data) or RFC 3164.
fn send_through(rsyslog: &Rsyslog, messages: &[&str], rfc5424: bool) {
    let port = rsyslog.input_port.to_string();
    for message in messages {
        let mut args = vec![
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--tcp",
            "--octet-count",
            "-t",
            "vpn-gw",
            "-p",
            "local4.notice",
        ];
        if rfc5424 {
            args.push("--rfc5424");
            args.extend(SD_ARGS);
        } else {
            args.push("--rfc3164");
        }
        logger(&args, message);
    }
}

fn omfwd(address: SocketAddr, protocol: &str, template: &str, extra: &str) -> String {
    format!(
        "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{}\" protocol=\"{protocol}\" template=\"{template}\" {extra})",
        address.port()
    )
}

async fn rsyslog_case(
    forward: impl FnOnce(&nigehban_ingest::SyslogListeners) -> String,
    rfc5424: bool,
) {
    if program(Need::Logger, LOGGER, "bsdutils").is_none()
        || program(Need::Rsyslog, RSYSLOGD, "rsyslog").is_none()
    {
        return;
    }
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let listeners = harness
        .intake
        .start_syslog(listeners_config())
        .await
        .unwrap();
    let action = forward(&listeners);
    let messages = ["relayed one", "relayed two", "relayed three"];
    let rsyslog = tokio::task::spawn_blocking(move || {
        let rsyslog = start_rsyslog("", &action, None);
        send_through(&rsyslog, &messages, rfc5424);
        rsyslog
    })
    .await
    .unwrap();
    let events = harness.collect("t", 3, Duration::from_secs(30)).await;
    drop(rsyslog);
    assert_eq!(events.len(), 3, "rsyslog forwarded every message");
    let host = local_hostname();
    for message in messages {
        let event = find(&events, message);
        // local4 (20) * 8 + notice (5)
        if rfc5424 {
            assert_rfc5424_intact(event, 165, "vpn-gw", &host);
        } else {
            assert_eq!(event.fields().get_u64("log.syslog.priority"), Some(165));
            // logger writes the short host name in RFC 3164.
            let short_host = host.split('.').next().unwrap_or_default();
            assert_eq!(text(event, "log.syslog.hostname"), Some(short_host));
            assert_eq!(text(event, "log.syslog.appname"), Some("vpn-gw"));
            assert_sender_timestamp(event);
        }
    }
    listeners.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn rsyslog_forwards_rfc5424_over_udp() {
    rsyslog_case(
        |l| {
            omfwd(
                l.udp_address().unwrap(),
                "udp",
                "RSYSLOG_SyslogProtocol23Format",
                "",
            )
        },
        true,
    )
    .await;
}

#[tokio::test]
async fn rsyslog_forwards_rfc5424_over_tcp_octet_counted() {
    rsyslog_case(
        |l| {
            omfwd(
                l.tcp_address().unwrap(),
                "tcp",
                "RSYSLOG_SyslogProtocol23Format",
                "TCP_Framing=\"octet-counted\"",
            )
        },
        true,
    )
    .await;
}

#[tokio::test]
async fn rsyslog_forwards_bsd_format_over_tcp_with_newlines() {
    rsyslog_case(
        |l| omfwd(l.tcp_address().unwrap(), "tcp", "RSYSLOG_ForwardFormat", ""),
        false,
    )
    .await;
}

#[tokio::test]
async fn rsyslog_forwards_over_tls_identified_by_its_certificate() {
    if program(Need::Logger, LOGGER, "bsdutils").is_none()
        || program(Need::Rsyslog, RSYSLOGD, "rsyslog").is_none()
        || program(Need::Rsyslog, OSSL_DRIVER, "rsyslog-openssl").is_none()
    {
        return;
    }
    let pki = Pki::generate("rsyslog-relay");
    let certificate = ClientCertificate::from_der(&pki.client_der);
    // The TLS sender is known only by its certificate: loopback is not registered.
    let directory = nigehban_ingest::StaticSensorDirectory::new().with_fingerprint(
        certificate.sha256,
        SensorStamp::new("org-gov-3", "relay-tls"),
    );
    let harness = Harness::new(directory, IntakeOptions::default()).await;
    let certs = tempfile::tempdir().unwrap();
    pki.write(certs.path());
    let ca = nigehban_ingest::read_certificates(&certs.path().join("ca.pem")).unwrap();
    let settings = TlsSettings::from_pem_files(
        &certs.path().join("server.pem"),
        &certs.path().join("server-key.pem"),
    )
    .unwrap()
    .with_client_auth(ClientAuth::Required(ca));
    let listeners = harness
        .intake
        .start_syslog(SyslogConfig {
            tls: Some(("127.0.0.1:0".parse().unwrap(), settings)),
            ..SyslogConfig::default()
        })
        .await
        .unwrap();
    let tls_port = listeners.tls_address().unwrap().port();
    let messages = ["over tls one", "over tls two"];
    let pki_for_rsyslog = pki.clone();
    let rsyslog = tokio::task::spawn_blocking(move || {
        let global = "DefaultNetstreamDriverCAFile=\"{dir}/ca.pem\" \
                      DefaultNetstreamDriverCertFile=\"{dir}/client.pem\" \
                      DefaultNetstreamDriverKeyFile=\"{dir}/client-key.pem\"";
        let action = format!(
            "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{tls_port}\" protocol=\"tcp\" \
             template=\"RSYSLOG_SyslogProtocol23Format\" TCP_Framing=\"octet-counted\" \
             StreamDriver=\"ossl\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\" \
             StreamDriverPermittedPeers=\"localhost\")"
        );
        let rsyslog = start_rsyslog(global, &action, Some(&pki_for_rsyslog));
        send_through(&rsyslog, &messages, true);
        rsyslog
    })
    .await
    .unwrap();
    let events = harness.collect("t", 2, Duration::from_secs(30)).await;
    drop(rsyslog);
    assert_eq!(events.len(), 2, "rsyslog forwarded every message over TLS");
    let host = local_hostname();
    for message in messages {
        let event = find(&events, message);
        assert_rfc5424_intact(event, 165, "vpn-gw", &host);
        assert_eq!(event.sensor_id(), Some("relay-tls"));
        assert_eq!(event.tenant_id(), Some("org-gov-3"));
    }
    listeners.shutdown(Duration::from_secs(5)).await;
}
