//! Sensor health through intake, timed with an injected clock: a silent
//! sensor raises its alarm within its interval plus one minute, and
//! recovers when data returns.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nigehban_ingest::{
    Clock, HealthChange, HealthChangeKind, HttpIngest, IntakeOptions, ManualClock, SensorStamp,
    StaticSensorDirectory, SyslogConfig,
};
use tokio::net::UdpSocket;

use crate::common::{Harness, text};

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_710_000_000)
}

fn sensor(interval: Duration) -> SensorStamp {
    let mut stamp = SensorStamp::new("org-health-1", "fw-silent");
    stamp.expected_interval = Some(interval);
    stamp
}

fn one_event() -> HttpIngest {
    HttpIngest {
        body: Bytes::from_static(b"{\"message\":\"heartbeat\"}\n"),
        content_encoding: None,
        format: None,
        log_name: None,
        source_address: None,
        idempotency_key: None,
    }
}

#[tokio::test]
async fn a_silent_sensor_raises_its_alarm_within_its_interval_plus_one_minute() {
    let clock = Arc::new(ManualClock::new(start()));
    let interval = Duration::from_secs(300);
    let harness = Harness::with_clock(
        StaticSensorDirectory::new(),
        IntakeOptions::default(),
        clock.clone(),
    )
    .await;
    let stamp = sensor(interval);
    harness.intake.watch_sensor(&stamp);
    harness
        .intake
        .ingest_http(&stamp, one_event())
        .await
        .unwrap();
    let last_event = start();

    // The health watch checks every 15 s (the default); step the clock so.
    let period = IntakeOptions::default().health_check_every;
    let mut alarm = None;
    for _ in 0..40 {
        clock.advance(period);
        let changes = harness.intake.check_health();
        if !changes.is_empty() {
            alarm = Some((clock.now(), changes));
            break;
        }
    }
    let (raised_at, changes) = alarm.expect("the alarm was raised");
    let after = raised_at.duration_since(last_event).unwrap();
    assert!(after > interval, "not before the interval: {after:?}");
    assert!(
        after <= interval + Duration::from_secs(60),
        "within the interval plus one minute: {after:?}"
    );
    assert_eq!(
        changes,
        vec![HealthChange {
            tenant_id: "org-health-1".into(),
            sensor_id: "fw-silent".into(),
            at: raised_at,
            kind: HealthChangeKind::Silent {
                since: last_event,
                expected_interval: interval
            },
        }]
    );
    let status = &harness.intake.sensor_statuses()[0];
    assert_eq!(status.silent_since, Some(last_event));
    assert_eq!(status.last_event, Some(last_event));

    // Still silent: no second alarm.
    clock.advance(Duration::from_secs(600));
    assert!(harness.intake.check_health().is_empty());

    // Data returns: recovered.
    harness
        .intake
        .ingest_http(&stamp, one_event())
        .await
        .unwrap();
    let changes = harness.intake.check_health();
    assert_eq!(changes.len(), 1);
    assert!(matches!(
        changes[0].kind,
        HealthChangeKind::Recovered { silent_since } if silent_since == last_event
    ));
    assert_eq!(harness.intake.sensor_statuses()[0].silent_since, None);
}

#[tokio::test]
async fn the_health_watch_reports_syslog_sensors_that_fall_silent() {
    let clock = Arc::new(ManualClock::new(start()));
    let interval = Duration::from_secs(60);
    let stamp = sensor(interval);
    let directory = StaticSensorDirectory::new().with_address(IpAddr::from([127, 0, 0, 1]), stamp);
    let options = IntakeOptions {
        health_check_every: Duration::from_millis(20),
        ..IntakeOptions::default()
    };
    let harness = Harness::with_clock(directory, options, clock.clone()).await;
    let seen: Arc<Mutex<Vec<HealthChange>>> = Arc::default();
    let watch = {
        let seen = seen.clone();
        harness
            .intake
            .spawn_health_watch(move |changes| seen.lock().unwrap().extend(changes))
    };
    let listeners = harness
        .intake
        .start_syslog(SyslogConfig {
            udp: Some("127.0.0.1:0".parse().unwrap()),
            ..SyslogConfig::default()
        })
        .await
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(b"<14>alive", listeners.udp_address().unwrap())
        .await
        .unwrap();
    harness
        .collect("t", 1, Duration::from_secs(10))
        .await
        .pop()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(seen.lock().unwrap().is_empty(), "not silent yet");

    clock.advance(interval + Duration::from_secs(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let silent = seen.lock().unwrap().clone();
    assert_eq!(silent.len(), 1);
    assert!(matches!(silent[0].kind, HealthChangeKind::Silent { .. }));

    socket
        .send_to(b"<14>back", listeners.udp_address().unwrap())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all = seen.lock().unwrap().clone();
    assert!(
        matches!(all[1].kind, HealthChangeKind::Recovered { .. }),
        "{all:?}"
    );
    listeners.shutdown(Duration::from_secs(5)).await;
    watch.abort();
}

#[tokio::test]
async fn a_silent_sensor_is_put_on_the_bus_as_an_event_of_its_tenant_once() {
    let clock = Arc::new(ManualClock::new(start()));
    let harness = Harness::with_clock(
        StaticSensorDirectory::new(),
        IntakeOptions::default(),
        clock.clone(),
    )
    .await;
    let stamp = sensor(Duration::from_secs(60));
    harness.intake.watch_sensor(&stamp);
    clock.advance(Duration::from_secs(90));
    let changes = harness.intake.check_health();
    assert_eq!(changes.len(), 1, "{changes:?}");
    // Published twice (a retry): one event on the bus.
    harness.intake.publish_health(&changes).await.unwrap();
    harness.intake.publish_health(&changes).await.unwrap();
    let events = harness
        .collect("health-test", 1, Duration::from_secs(5))
        .await;
    assert_eq!(events.len(), 1);
    let received = &events[0];
    assert_eq!(received.tenant_id, "org-health-1");
    assert_eq!(received.sensor_id, "fw-silent");
    let event = &received.event;
    assert_eq!(text(event, "event.module"), Some("nigehban"));
    assert_eq!(text(event, "event.dataset"), Some("nigehban.sensor_health"));
    assert_eq!(text(event, "event.action"), Some("sensor-silent"));
    assert_eq!(text(event, "event.kind"), Some("alert"));
    assert_eq!(text(event, "host.name"), Some("fw-silent"));
    assert_eq!(event.tenant_id(), Some("org-health-1"));
    assert_eq!(
        event.timestamp(),
        Some(time::OffsetDateTime::from(
            start() + Duration::from_secs(90)
        ))
    );
    assert_eq!(crate::common::stored(&harness.bus).await, 1);
    // Its own health event is not data from the sensor: still silent.
    assert_eq!(
        harness.intake.sensor_statuses()[0].silent_since,
        Some(start())
    );
}
