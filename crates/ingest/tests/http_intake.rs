//! The HTTP intake logic end to end: NDJSON in, durable events on the bus.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use nigehban_bus::{EmbeddedLog, EmbeddedOptions, EventBus, EventConsumer};
use nigehban_ingest::{
    BackpressureOptions, HttpIngest, HttpLimits, IntakeError, IntakeErrorClass, IntakeOptions,
    SensorStamp, StaticSensorDirectory, Transport,
};

use crate::common::{Harness, collect, text};

fn request(body: impl Into<Bytes>) -> HttpIngest {
    HttpIngest {
        body: body.into(),
        content_encoding: None,
        format: None,
        log_name: None,
        source_address: Some("198.51.100.4".parse().unwrap()),
        idempotency_key: None,
    }
}

fn sensor() -> SensorStamp {
    SensorStamp::new("org-telecom-042", "ids-edge-1")
}

const EVE: &str = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","flow_id":955054024165314,"event_type":"alert","src_ip":"10.1.2.3","src_port":41402,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2013504,"rev":5,"signature":"ET POLICY Outbound package manager User-Agent","category":"Not Suspicious Traffic","severity":3}}"#;

#[tokio::test]
async fn accepted_events_are_durable_and_bad_lines_reported_by_number() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let body = format!(
        "{EVE}\n{{\"oops\": \n{EVE}\n\n\"CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 act=blocked\"\n"
    );
    let outcome = harness
        .intake
        .ingest_http(&sensor(), request(body))
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 3);
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!(outcome.rejected[0].line, 2);

    // Durable: close the bus, open the directory again, and read.
    let Harness { dir, bus, intake } = harness;
    bus.close().await.unwrap();
    drop((bus, intake));
    let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
        .await
        .unwrap();
    let events = collect(&bus, "check", 3, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 3);
    for received in &events {
        assert_eq!(received.tenant_id, "org-telecom-042");
        assert_eq!(received.sensor_id, "ids-edge-1");
        assert_eq!(received.event.tenant_id(), Some("org-telecom-042"));
        assert_eq!(received.event.sensor_id(), Some("ids-edge-1"));
        assert_eq!(
            text(&received.event, "log.source.address"),
            Some("198.51.100.4")
        );
    }
    assert_eq!(events[0].event.dataset(), Some("suricata.alert"));
    assert_eq!(events[2].event.module(), Some("cef"));
    let mut ids: Vec<_> = events.iter().map(|e| e.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every event has its own id");
}

#[tokio::test]
async fn gzip_bombs_are_refused_with_a_clear_error_and_nothing_stored() {
    let options = IntakeOptions {
        http: HttpLimits {
            max_decompressed_bytes: 4 * 1024 * 1024,
            ..HttpLimits::default()
        },
        ..IntakeOptions::default()
    };
    let harness = Harness::new(StaticSensorDirectory::new(), options).await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let line = format!("{EVE}\n");
    for _ in 0..(64 * 1024 * 1024 / line.len()) {
        encoder.write_all(line.as_bytes()).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let mut req = request(bomb);
    req.content_encoding = Some("gzip".into());
    let error = harness
        .intake
        .ingest_http(&sensor(), req)
        .await
        .unwrap_err();
    assert_eq!(error.class(), IntakeErrorClass::TooLarge);
    assert!(
        error
            .to_string()
            .contains("inflates to more than 4194304 bytes")
    );
    assert_eq!(crate::common::stored(&harness.bus).await, 0);
}

#[tokio::test]
async fn metrics_and_health_count_http_intake() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let body = format!("{EVE}\nnot json\n{EVE}\n");
    harness
        .intake
        .ingest_http(&sensor(), request(body.clone()))
        .await
        .unwrap();
    let metrics = harness.intake.metrics();
    let http = metrics
        .transports
        .iter()
        .find(|t| t.transport == Transport::Http)
        .unwrap();
    assert_eq!(
        (http.received, http.accepted, http.rejected, http.dropped),
        (3, 2, 1, 0)
    );
    assert_eq!(http.bytes, body.len() as u64);
    assert_eq!(metrics.sensors[0].sensor_id, "ids-edge-1");
    assert_eq!(metrics.sensors[0].accepted, 2);
    assert_eq!(metrics.publish_latency.count, 1);
    let status = &harness.intake.sensor_statuses()[0];
    assert_eq!((status.events, status.errors), (2, 1));
    assert!(status.last_event.is_some());
}

#[tokio::test]
async fn a_lagging_consumer_makes_http_intake_busy_until_it_catches_up() {
    let options = IntakeOptions {
        backpressure: BackpressureOptions {
            consumers: vec!["detect".into()],
            max_lag: 5,
            resume_lag: 2,
            poll_every: Duration::from_millis(20),
            http_max_wait: Duration::from_millis(200),
        },
        ..IntakeOptions::default()
    };
    let harness = Harness::new(StaticSensorDirectory::new(), options).await;
    let mut detect = harness
        .bus
        .consumer("detect", nigehban_bus::ConsumerConfig::default())
        .await
        .unwrap();
    let ten = format!("{EVE}\n").repeat(10);
    let outcome = harness
        .intake
        .ingest_http(&sensor(), request(ten.clone()))
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 10);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let error = harness
        .intake
        .ingest_http(&sensor(), request(ten.clone()))
        .await
        .unwrap_err();
    assert!(matches!(error, IntakeError::Busy { .. }), "{error}");
    assert_eq!(error.class(), IntakeErrorClass::Unavailable);
    assert!(error.retry_after().is_some());
    assert!(harness.intake.metrics().backpressure);
    assert_eq!(
        harness.intake.metrics().consumer_lag,
        vec![("detect".to_string(), 10)]
    );

    // The consumer catches up; intake takes requests again.
    let deliveries = detect.fetch(100, Duration::from_secs(1)).await.unwrap();
    let offsets: Vec<u64> = deliveries.iter().map(|d| d.offset).collect();
    detect.ack(&offsets).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcome = harness
        .intake
        .ingest_http(&sensor(), request(ten))
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 10);
}

#[tokio::test]
async fn a_closed_bus_is_an_unavailable_error_not_a_panic() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    harness.bus.close().await.unwrap();
    let error = harness
        .intake
        .ingest_http(&sensor(), request(format!("{EVE}\n")))
        .await
        .unwrap_err();
    assert!(matches!(error, IntakeError::Bus(_)));
    assert_eq!(error.class(), IntakeErrorClass::Unavailable);
    let http = &harness.intake.metrics().transports[3];
    assert_eq!((http.received, http.accepted, http.rejected), (1, 0, 1));
}
