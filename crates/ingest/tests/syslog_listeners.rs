//! The syslog listeners with senders written here: framing, identification,
//! refusal, backpressure and shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use nigehban_bus::{EventBus, EventConsumer};
use nigehban_ingest::{
    BackpressureOptions, ClientAuth, ClientCertificate, IntakeOptions, SensorStamp,
    StaticSensorDirectory, SyslogConfig, TlsSettings, Transport, UnknownSenderPolicy,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use crate::common::{Harness, Pki, loopback_directory, text};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn all_listeners() -> SyslogConfig {
    SyslogConfig {
        udp: Some(loopback()),
        tcp: Some(loopback()),
        ..SyslogConfig::default()
    }
}

const RFC5424: &str = r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry"#;

#[tokio::test]
async fn tcp_octet_counting_and_newline_framing_in_one_stream() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let listeners = harness.intake.start_syslog(all_listeners()).await.unwrap();
    let mut stream = TcpStream::connect(listeners.tcp_address().unwrap())
        .await
        .unwrap();
    let with_newline = "<34>1 2024-03-15T10:00:00Z host-a app-a 11 M1 - first\nline";
    let mut wire = format!("{} {with_newline}", with_newline.len());
    wire.push_str("<13>Mar 15 10:00:01 host-b app-b[22]: second\n");
    wire.push_str(&format!("{} {RFC5424}", RFC5424.len()));
    // Split the writes inside frames.
    for chunk in wire.as_bytes().chunks(7) {
        stream.write_all(chunk).await.unwrap();
    }
    stream.shutdown().await.unwrap();
    let events = harness.collect("t", 3, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 3);
    assert_eq!(text(&events[0].event, "message"), Some("first\nline"));
    assert_eq!(
        text(&events[1].event, "log.syslog.hostname"),
        Some("host-b")
    );
    assert_eq!(text(&events[1].event, "log.syslog.appname"), Some("app-b"));
    let sd = events[2].event.ecs("log.syslog.structured_data").unwrap();
    assert_eq!(sd["exampleSDID@32473"]["eventID"], "1011");
    for received in &events {
        assert_eq!(received.tenant_id, "org-bank-01");
        assert_eq!(received.sensor_id, "syslog-relay-1");
        assert_eq!(
            text(&received.event, "log.source.address"),
            Some("127.0.0.1")
        );
        assert_eq!(text(&received.event, "host.os.type"), Some("linux"));
    }
    listeners.shutdown(Duration::from_secs(5)).await;
    let tcp = &harness.intake.metrics().transports[1];
    assert_eq!((tcp.received, tcp.accepted, tcp.queued), (3, 3, 0));
}

#[tokio::test]
async fn udp_datagrams_become_events() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let listeners = harness.intake.start_syslog(all_listeners()).await.unwrap();
    let socket = UdpSocket::bind(loopback()).await.unwrap();
    for i in 0..50 {
        let message = format!(
            "<14>Mar 15 10:00:{:02} relay app[{i}]: datagram {i}",
            i % 60
        );
        socket
            .send_to(message.as_bytes(), listeners.udp_address().unwrap())
            .await
            .unwrap();
    }
    let events = harness.collect("t", 50, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 50);
    assert_eq!(text(&events[7].event, "message"), Some("datagram 7"));
    assert_eq!(events[7].event.fields().get_u64("process.pid"), Some(7));
    listeners.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unknown_senders_are_refused_and_counted_or_tagged() {
    let directory = StaticSensorDirectory::new().with_address(
        IpAddr::from([192, 0, 2, 1]),
        SensorStamp::new("other", "not-loopback"),
    );
    let harness = Harness::new(directory.clone(), IntakeOptions::default()).await;
    let listeners = harness.intake.start_syslog(all_listeners()).await.unwrap();
    let socket = UdpSocket::bind(loopback()).await.unwrap();
    socket
        .send_to(b"<14>hello", listeners.udp_address().unwrap())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(listeners.tcp_address().unwrap())
        .await
        .unwrap();
    let _ = stream.write_all(b"<14>hello\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = harness.intake.metrics();
    assert_eq!(
        metrics.refused_addresses,
        vec![(IpAddr::from([127, 0, 0, 1]), 2)]
    );
    assert_eq!(metrics.transports[0].refused_senders, 1);
    assert_eq!(metrics.transports[1].refused_senders, 1);
    assert_eq!(
        crate::common::stored(&harness.bus).await,
        0,
        "nothing stored"
    );
    listeners.shutdown(Duration::from_secs(5)).await;

    // Tagged instead of refused, when so configured.
    let options = IntakeOptions {
        unknown_sender: UnknownSenderPolicy::Tag(SensorStamp::new("national", "unassigned")),
        ..IntakeOptions::default()
    };
    let harness = Harness::new(directory, options).await;
    let listeners = harness.intake.start_syslog(all_listeners()).await.unwrap();
    socket
        .send_to(b"<14>hello", listeners.udp_address().unwrap())
        .await
        .unwrap();
    let events = harness.collect("t", 1, Duration::from_secs(10)).await;
    assert_eq!(events[0].tenant_id, "national");
    assert_eq!(events[0].sensor_id, "unassigned");
    listeners.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn frames_over_the_limit_are_refused_and_the_stream_goes_on() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let config = SyslogConfig {
        max_message_bytes: 100,
        ..all_listeners()
    };
    let listeners = harness.intake.start_syslog(config).await.unwrap();
    let mut stream = TcpStream::connect(listeners.tcp_address().unwrap())
        .await
        .unwrap();
    let long = "x".repeat(500);
    stream
        .write_all(format!("<14>before\n500 {long}<14>{long}\n<14>after\n").as_bytes())
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let events = harness.collect("t", 2, Duration::from_secs(10)).await;
    let messages: Vec<_> = events
        .iter()
        .map(|e| text(&e.event, "message").unwrap_or_default().to_string())
        .collect();
    assert_eq!(messages, vec!["before", "after"]);
    listeners.shutdown(Duration::from_secs(5)).await;
    let tcp = &harness.intake.metrics().transports[1];
    assert_eq!((tcp.received, tcp.accepted, tcp.rejected), (4, 2, 2));
    assert_eq!(harness.intake.sensor_statuses()[0].errors, 2);
}

#[tokio::test]
async fn shutdown_publishes_what_was_received() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let listeners = harness.intake.start_syslog(all_listeners()).await.unwrap();
    let mut stream = TcpStream::connect(listeners.tcp_address().unwrap())
        .await
        .unwrap();
    let mut wire = String::new();
    for i in 0..2_000 {
        wire.push_str(&format!("<14>Mar 15 10:00:00 h a: message {i}\n"));
    }
    stream.write_all(wire.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    // The connection stays open; the listeners are told to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(listeners.shutdown(Duration::from_secs(10)).await);
    let metrics = harness.intake.metrics();
    let tcp = &metrics.transports[1];
    assert_eq!(tcp.queued, 0);
    assert_eq!(tcp.accepted, tcp.received);
    assert_eq!(tcp.accepted, 2_000);
    assert_eq!(crate::common::stored(&harness.bus).await, 2_000);
    assert_eq!(tcp.open_connections, 0);
}

#[tokio::test]
async fn a_lagging_consumer_slows_tcp_senders_without_losing_anything() {
    let options = IntakeOptions {
        backpressure: BackpressureOptions {
            consumers: vec!["detect".into()],
            max_lag: 1_000,
            resume_lag: 500,
            poll_every: Duration::from_millis(10),
            http_max_wait: Duration::from_millis(100),
        },
        ..IntakeOptions::default()
    };
    let harness = Harness::new(loopback_directory(), options).await;
    let mut detect = harness
        .bus
        .consumer("detect", nigehban_bus::ConsumerConfig::default())
        .await
        .unwrap();
    let config = SyslogConfig {
        max_batch: 100,
        ..all_listeners()
    };
    let listeners = harness.intake.start_syslog(config).await.unwrap();
    let address = listeners.tcp_address().unwrap();
    // 20 MB in all: more than the kernel's socket buffers hold.
    let total = 20_000usize;
    let padding = "p".repeat(1_000);
    let sender = tokio::spawn(async move {
        let mut stream = TcpStream::connect(address).await.unwrap();
        for chunk in 0..(total / 100) {
            let mut wire = String::new();
            for i in 0..100 {
                wire.push_str(&format!(
                    "<14>Mar 15 10:00:00 h a: message {} {padding}\n",
                    chunk * 100 + i
                ));
            }
            stream.write_all(wire.as_bytes()).await.unwrap();
        }
        stream.shutdown().await.unwrap();
    });
    // Without consumption, intake stops reading once the lag passes 1,000:
    // the sender's writes block on a full socket.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let stored = crate::common::stored(&harness.bus).await;
    assert!(
        (1_000..total as u64).contains(&stored),
        "intake held back at {stored} records"
    );
    assert!(harness.intake.metrics().backpressure);
    assert!(!sender.is_finished(), "the sender is slowed down");
    // Consume; everything arrives, in order, nothing lost.
    let mut seen = 0usize;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen < total && std::time::Instant::now() < deadline {
        let batch = detect
            .fetch(5_000, Duration::from_millis(100))
            .await
            .unwrap();
        for delivery in &batch {
            let (_, event) = nigehban_ingest::decode_event(&delivery.record.payload).unwrap();
            let message = text(&event, "message").unwrap_or_default();
            assert!(
                message.starts_with(&format!("message {seen} ")),
                "{message:.40}"
            );
            seen += 1;
        }
        let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
        if !offsets.is_empty() {
            detect.ack(&offsets).await.unwrap();
        }
    }
    assert_eq!(seen, total);
    sender.await.unwrap();
    listeners.shutdown(Duration::from_secs(5)).await;
    assert_eq!(harness.intake.metrics().transports[1].dropped, 0);
}

#[tokio::test]
async fn a_full_udp_queue_drops_and_counts_per_sensor() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let config = SyslogConfig {
        udp: Some(loopback()),
        udp_queue: 1,
        max_batch: 1,
        ..SyslogConfig::default()
    };
    let listeners = harness.intake.start_syslog(config).await.unwrap();
    let socket = UdpSocket::bind(loopback()).await.unwrap();
    let total = 3_000;
    for i in 0..total {
        socket
            .send_to(
                format!("<14>burst {i}").as_bytes(),
                listeners.udp_address().unwrap(),
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    listeners.shutdown(Duration::from_secs(10)).await;
    let metrics = harness.intake.metrics();
    let udp = &metrics.transports[0];
    assert_eq!(udp.transport, Transport::Udp);
    // The kernel may drop some too (not counted: never received); every
    // datagram intake received is accepted or counted as dropped.
    assert_eq!(udp.received, udp.accepted + udp.dropped);
    assert!(udp.dropped > 0, "a one-datagram queue overflows: {udp:?}");
    assert_eq!(metrics.sensors[0].dropped, udp.dropped);
    assert_eq!(harness.intake.sensor_statuses()[0].drops, udp.dropped);
    assert_eq!(crate::common::stored(&harness.bus).await, udp.accepted);
}

fn tls_client(pki: &Pki, with_certificate: bool) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if with_certificate {
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(pki.client_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(pki.client_key_pem.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn tls_settings(pki: &Pki, dir: &std::path::Path, client_auth: ClientAuth) -> TlsSettings {
    pki.write(dir);
    TlsSettings::from_pem_files(&dir.join("server.pem"), &dir.join("server-key.pem"))
        .unwrap()
        .with_client_auth(client_auth)
}

#[tokio::test]
async fn tls_senders_are_identified_by_client_certificate() {
    let pki = Pki::generate("sensor-fw-7");
    let certificate = ClientCertificate::from_der(&pki.client_der);
    assert_eq!(certificate.subject_cn.as_deref(), Some("sensor-fw-7"));
    let directory = loopback_directory()
        .with_fingerprint(certificate.sha256, SensorStamp::new("org-energy-9", "fw-7"));
    let harness = Harness::new(directory, IntakeOptions::default()).await;
    let certs = tempfile::tempdir().unwrap();
    let ca = nigehban_ingest::read_certificates(&{
        pki.write(certs.path());
        certs.path().join("ca.pem")
    })
    .unwrap();
    let config = SyslogConfig {
        tls: Some((
            loopback(),
            tls_settings(&pki, certs.path(), ClientAuth::Optional(ca)),
        )),
        ..SyslogConfig::default()
    };
    let listeners = harness.intake.start_syslog(config).await.unwrap();
    let address = listeners.tls_address().unwrap();
    let name = ServerName::try_from("localhost").unwrap();

    // With the client certificate: the certificate's sensor.
    let tcp = TcpStream::connect(address).await.unwrap();
    let mut tls = tls_client(&pki, true)
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    tls.write_all(format!("{} {RFC5424}", RFC5424.len()).as_bytes())
        .await
        .unwrap();
    tls.shutdown().await.unwrap();
    // Without one: identified by address (optional client authentication).
    let tcp = TcpStream::connect(address).await.unwrap();
    let mut tls = tls_client(&pki, false).connect(name, tcp).await.unwrap();
    tls.write_all(b"<13>1 - host app - - - by address\n")
        .await
        .unwrap();
    tls.shutdown().await.unwrap();

    let mut events = harness.collect("t", 2, Duration::from_secs(10)).await;
    events.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].sensor_id, "fw-7");
    assert_eq!(events[0].tenant_id, "org-energy-9");
    assert_eq!(
        events[0].event.ecs("log.syslog.structured_data").unwrap()["exampleSDID@32473"]["iut"],
        "3"
    );
    assert_eq!(events[1].sensor_id, "syslog-relay-1");
    listeners.shutdown(Duration::from_secs(5)).await;
    let tls_metrics = &harness.intake.metrics().transports[2];
    assert_eq!(tls_metrics.accepted, 2);
}

#[tokio::test]
async fn required_client_certificates_refuse_senders_without_one() {
    let pki = Pki::generate("sensor-x");
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let certs = tempfile::tempdir().unwrap();
    pki.write(certs.path());
    let ca = nigehban_ingest::read_certificates(&certs.path().join("ca.pem")).unwrap();
    let config = SyslogConfig {
        tls: Some((
            loopback(),
            tls_settings(&pki, certs.path(), ClientAuth::Required(ca)),
        )),
        ..SyslogConfig::default()
    };
    let listeners = harness.intake.start_syslog(config).await.unwrap();
    let tcp = TcpStream::connect(listeners.tls_address().unwrap())
        .await
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    // TLS 1.3 finishes the client's side of the handshake before the server
    // checks the certificate: the refusal shows on the first read or write.
    if let Ok(mut tls) = tls_client(&pki, false).connect(name, tcp).await {
        let _ = tls.write_all(b"<13>refused\n").await;
        let mut buf = [0u8; 16];
        let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut buf).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    listeners.shutdown(Duration::from_secs(5)).await;
    assert_eq!(harness.intake.metrics().transports[2].refused_senders, 1);
    assert_eq!(crate::common::stored(&harness.bus).await, 0);
}

#[tokio::test]
async fn binding_a_busy_address_is_a_clear_error() {
    let harness = Harness::new(loopback_directory(), IntakeOptions::default()).await;
    let first = harness.intake.start_syslog(all_listeners()).await.unwrap();
    let error = harness
        .intake
        .start_syslog(SyslogConfig {
            tcp: first.tcp_address(),
            ..SyslogConfig::default()
        })
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot listen for syslog over tcp"),
        "{error}"
    );
    first.shutdown(Duration::from_secs(5)).await;
}
