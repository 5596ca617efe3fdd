//! The sensor registry and the event search scope end to end, on SQLite and
//! (with `NIGEHBAN_TEST_POSTGRES_URL`) on PostgreSQL: every scenario runs on both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use nigehban_app::model::{
    CertificateFingerprint, ExpectedInterval, HostOsType, Role, SensorFormat, SensorHealthKind,
    SensorId, SensorKind, SensorName, SensorUpdate, SensorUtcOffset, SourceNetwork,
    SubjectCommonName, TenantId, Timestamp, TokenName,
};
use nigehban_app::{
    AppError, AuditListing, NewApiToken, NewSensor, PageRequest, SensorHealthReport, SensorMatch,
};
use world::{World, addr};

/// Runs each scenario once on SQLite and once on PostgreSQL (skipped without a server).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::world::world().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(world) = super::world::postgres_world().await else {
                        return;
                    };
                    super::$name(&world).await;
                }
            )*
        }
    };
}

on_both_backends!(
    sensors_are_registered_and_read_within_the_tree,
    ingest_tokens_authenticate_the_sensor_and_nothing_else,
    intake_lookups_answer_with_active_sensors_of_active_tenants,
    health_is_recorded_by_the_platform_and_read_within_the_tree,
    updates_are_for_administrators_and_audited,
    event_search_is_scoped_to_the_subtree,
);

fn name(text: &str) -> SensorName {
    SensorName::parse(text).unwrap()
}

fn net(text: &str) -> SourceNetwork {
    SourceNetwork::parse(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn firewall(tenant: Option<TenantId>, label: &str) -> NewSensor {
    NewSensor {
        tenant,
        expected_formats: vec![SensorFormat::Syslog],
        expected_interval: Some(ExpectedInterval::from_secs(300).unwrap()),
        ..NewSensor::new(name(label), SensorKind::Firewall)
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::Forbidden(_)) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, AppError>, mentions: &str) {
    match result {
        Err(AppError::Invalid(message)) => {
            assert!(
                message.contains(mentions),
                "{message:?} should mention {mentions:?}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::Unauthenticated(_)) => {}
        other => panic!("expected Unauthenticated, got {other:?}"),
    }
}

async fn sensors_are_registered_and_read_within_the_tree(w: &World) {
    let operator_admin = w.caller(w.operator.id, Role::Administrator).await;
    let telecom_admin = w.caller(w.telecom.id, Role::Administrator).await;
    let sensors = w.app.sensors();

    // An organisation's administrator registers its own sensor; the secret is shown once.
    let issued = sensors
        .register(&operator_admin, firewall(None, "Core firewall"))
        .await
        .unwrap();
    assert_eq!(issued.sensor.tenant, w.operator.id);
    assert!(issued.secret.expose().starts_with("ngs_"));
    assert!(!format!("{issued:?}").contains(issued.secret.expose()));
    assert_eq!(issued.token.sensor, issued.sensor.id);
    let own = issued.sensor.id;

    // A sectoral administrator registers for organisations below, never beside.
    let below = sensors
        .register(&telecom_admin, firewall(Some(w.operator.id), "Edge IDS"))
        .await
        .unwrap()
        .sensor;
    assert_eq!(below.tenant, w.operator.id);
    let sector = sensors
        .register(&telecom_admin, firewall(None, "Sector relay"))
        .await
        .unwrap()
        .sensor;
    assert_not_found(
        sensors
            .register(&telecom_admin, firewall(Some(w.bank.id), "Sneaky"))
            .await,
    );
    let bank_sensor = sensors
        .register(&w.root_admin, firewall(Some(w.bank.id), "Bank firewall"))
        .await
        .unwrap()
        .sensor;

    // Only administrators register.
    for role in [
        Role::Analyst,
        Role::Responder,
        Role::IntelAnalyst,
        Role::DutyOfficer,
        Role::ConstituentReporter,
        Role::CouncilMember,
        Role::Auditor,
    ] {
        let caller = w.caller(w.operator.id, role).await;
        assert_forbidden(sensors.register(&caller, firewall(None, "Mine")).await);
    }

    // Who reads: watchers of the subtree; reporters in their own organisation; never the council.
    let telecom_analyst = w.caller(w.telecom.id, Role::Analyst).await;
    assert_eq!(sensors.get(&telecom_analyst, own).await.unwrap().id, own);
    assert_not_found(sensors.get(&telecom_analyst, bank_sensor.id).await);
    let listed: BTreeSet<SensorId> = sensors
        .list(&telecom_analyst, None, &PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, BTreeSet::from([own, below.id, sector.id]));
    assert_not_found(
        sensors
            .list(&telecom_analyst, Some(w.bank.id), &PageRequest::default())
            .await,
    );
    let operator_reporter = w.caller(w.operator.id, Role::ConstituentReporter).await;
    assert_eq!(sensors.get(&operator_reporter, own).await.unwrap().id, own);
    let telecom_reporter = w.caller(w.telecom.id, Role::ConstituentReporter).await;
    assert_forbidden(sensors.get(&telecom_reporter, own).await);
    let reporter_list = sensors
        .list(&telecom_reporter, None, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        reporter_list.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![sector.id],
        "a reporter lists its own tenant's sensors only"
    );
    let council = w.caller(w.national.id, Role::CouncilMember).await;
    assert_forbidden(sensors.get(&council, own).await);
    assert_forbidden(sensors.list(&council, None, &PageRequest::default()).await);
    let intel = w.caller(w.telecom.id, Role::IntelAnalyst).await;
    assert_forbidden(sensors.get(&intel, own).await);
    assert_not_found(sensors.get(&telecom_analyst, SensorId::new()).await);

    // Tokens' metadata is readable; secrets never are.
    let tokens = sensors.tokens(&telecom_analyst, own).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_not_found(sensors.tokens(&telecom_analyst, bank_sensor.id).await);

    // Bad registrations say what is wrong.
    let mut crowded = firewall(None, "Crowded");
    crowded.source_addresses = (0..=256)
        .map(|n| net(&format!("10.{}.{}.0/24", n / 256, n % 256)))
        .collect();
    assert_invalid(
        sensors.register(&operator_admin, crowded).await,
        "at most 256",
    );
    let mut clash = firewall(Some(w.bank.id), "Clash");
    clash.source_addresses = vec![net("192.0.2.0/24")];
    let mut first = firewall(None, "Owner");
    first.source_addresses = vec![net("192.0.2.0/24")];
    sensors.register(&operator_admin, first).await.unwrap();
    match sensors.register(&w.root_admin, clash).await {
        Err(AppError::Conflict(message)) => {
            assert!(message.contains("192.0.2.0/24"), "{message}");
            assert!(!message.contains("Owner") && !message.contains("Mobile Operator"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    match sensors
        .register(&operator_admin, firewall(None, "Core firewall"))
        .await
    {
        Err(AppError::Conflict(message)) => assert!(message.contains("Core firewall")),
        other => panic!("expected a name conflict, got {other:?}"),
    }

    // Nothing is registered for a deactivated tenant.
    w.app
        .tenants()
        .deactivate(&w.root_admin, w.bank.id)
        .await
        .unwrap();
    assert_invalid(
        sensors
            .register(&w.root_admin, firewall(Some(w.bank.id), "Late"))
            .await,
        "deactivated",
    );
}

async fn ingest_tokens_authenticate_the_sensor_and_nothing_else(w: &World) {
    let sensors = w.app.sensors();
    let issued = sensors
        .register(&w.root_admin, firewall(Some(w.operator.id), "HTTP shipper"))
        .await
        .unwrap();
    let secret = issued.secret.expose().to_owned();
    let identity = sensors
        .authenticate_ingest(&format!(" {secret} "), Some(addr("198.51.100.7")))
        .await
        .unwrap();
    assert_eq!(identity.sensor.id, issued.sensor.id);
    assert_eq!(identity.sensor.tenant, w.operator.id);
    assert_eq!(identity.matched, SensorMatch::Token(issued.token.id));
    let tokens = sensors
        .tokens(&w.root_admin, issued.sensor.id)
        .await
        .unwrap();
    assert!(tokens[0].last_used_at.is_some());
    assert_eq!(tokens[0].last_used_from.as_deref(), Some("198.51.100.7"));

    // Sensor tokens and API tokens are not interchangeable.
    let refusals = w.app.counters().sensor_token_refusals;
    let api = w
        .app
        .tokens()
        .create(
            &w.root_admin,
            NewApiToken {
                name: TokenName::parse("automation").unwrap(),
                tenant: None,
                role: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert_refused(sensors.authenticate_ingest(api.secret.expose(), None).await);
    assert_refused(w.app.tokens().authenticate(&secret, None).await);
    assert_refused(sensors.authenticate_ingest("ngs_guess", None).await);
    assert_refused(sensors.authenticate_ingest("", None).await);
    assert_eq!(w.app.counters().sensor_token_refusals, refusals + 3);

    // Rotation with a grace period: both work until the old one is revoked.
    let rotated = sensors
        .rotate_token(&w.root_admin, issued.sensor.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let new_secret = rotated.secret.expose().to_owned();
    assert_ne!(new_secret, secret);
    sensors.authenticate_ingest(&secret, None).await.unwrap();
    sensors
        .authenticate_ingest(&new_secret, None)
        .await
        .unwrap();
    let revoked = sensors
        .revoke_token(&w.root_admin, issued.sensor.id, issued.token.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_refused(sensors.authenticate_ingest(&secret, None).await);
    sensors
        .authenticate_ingest(&new_secret, None)
        .await
        .unwrap();
    // A token is revoked through its own sensor only.
    let other = sensors
        .register(&w.root_admin, firewall(Some(w.operator.id), "Other"))
        .await
        .unwrap();
    assert_not_found(
        sensors
            .revoke_token(&w.root_admin, other.sensor.id, rotated.token.id)
            .await,
    );
    assert_invalid(
        sensors
            .rotate_token(
                &w.root_admin,
                issued.sensor.id,
                Duration::from_secs(8 * 24 * 3600),
            )
            .await,
        "too long",
    );

    // Rotation without grace ends the old token at once; only administrators rotate.
    let analyst = w.caller(w.operator.id, Role::Analyst).await;
    assert_forbidden(
        sensors
            .rotate_token(&analyst, issued.sensor.id, Duration::ZERO)
            .await,
    );
    let third = sensors
        .rotate_token(&w.root_admin, issued.sensor.id, Duration::ZERO)
        .await
        .unwrap();
    assert_refused(sensors.authenticate_ingest(&new_secret, None).await);
    sensors
        .authenticate_ingest(third.secret.expose(), None)
        .await
        .unwrap();

    // A deactivated sensor, or a sensor of a deactivated tenant, is refused.
    sensors
        .deactivate(&w.root_admin, issued.sensor.id)
        .await
        .unwrap();
    assert_refused(
        sensors
            .authenticate_ingest(third.secret.expose(), None)
            .await,
    );
    assert_invalid(
        sensors
            .rotate_token(&w.root_admin, issued.sensor.id, Duration::ZERO)
            .await,
        "deactivated",
    );
    sensors
        .authenticate_ingest(other.secret.expose(), None)
        .await
        .unwrap();
    w.app
        .tenants()
        .deactivate(&w.root_admin, w.telecom.id)
        .await
        .unwrap();
    assert_refused(
        sensors
            .authenticate_ingest(other.secret.expose(), None)
            .await,
    );
}

async fn intake_lookups_answer_with_active_sensors_of_active_tenants(w: &World) {
    let sensors = w.app.sensors();
    // Networks nest only within one tenant: the operator's site relay and
    // host; the sector's relay has a range of its own.
    let mut relay = firewall(Some(w.operator.id), "Site relay");
    relay.kind = SensorKind::SyslogRelay;
    relay.source_addresses = vec![net("10.20.0.0/16")];
    let relay = sensors.register(&w.root_admin, relay).await.unwrap().sensor;
    let mut sector = firewall(Some(w.telecom.id), "Sector relay");
    sector.kind = SensorKind::SyslogRelay;
    sector.source_addresses = vec![net("10.40.0.0/16")];
    let sector = sensors
        .register(&w.root_admin, sector)
        .await
        .unwrap()
        .sensor;
    let mut host = firewall(Some(w.operator.id), "Operator host");
    host.kind = SensorKind::HostAgent;
    host.host_os_type = Some(HostOsType::Linux);
    host.utc_offset = Some(SensorUtcOffset::parse("+05:00").unwrap());
    host.source_addresses = vec![net("10.20.1.7")];
    host.tls_client_fingerprints = vec![CertificateFingerprint::from_bytes([9; 32])];
    host.tls_subject_cn = Some(SubjectCommonName::parse("host.operator.example").unwrap());
    let host = sensors.register(&w.root_admin, host).await.unwrap().sensor;
    let mut bank = firewall(Some(w.bank.id), "Bank firewall");
    bank.source_addresses = vec![net("10.30.0.1")];
    let bank = sensors.register(&w.root_admin, bank).await.unwrap().sensor;

    let found = sensors
        .sensor_by_address(ip("10.20.1.7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.sensor, host, "the most specific network wins");
    assert_eq!(found.matched, SensorMatch::SourceAddress(net("10.20.1.7")));
    assert_eq!(
        sensors
            .sensor_by_address(ip("::ffff:10.20.9.9"))
            .await
            .unwrap()
            .unwrap()
            .sensor
            .id,
        relay.id
    );
    assert!(
        sensors
            .sensor_by_address(ip("192.0.2.1"))
            .await
            .unwrap()
            .is_none()
    );
    let by_fingerprint = sensors
        .sensor_by_certificate(&CertificateFingerprint::from_bytes([9; 32]), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_fingerprint.sensor.id, host.id);
    let by_cn = sensors
        .sensor_by_certificate(
            &CertificateFingerprint::from_bytes([1; 32]),
            Some("host.operator.example"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        by_cn.matched,
        SensorMatch::SubjectCommonName(SubjectCommonName::parse("host.operator.example").unwrap())
    );
    assert!(
        sensors
            .sensor_by_certificate(
                &CertificateFingerprint::from_bytes([1; 32]),
                Some(&"x".repeat(500))
            )
            .await
            .unwrap()
            .is_none(),
        "a name that could never be registered matches nothing"
    );
    let watched: BTreeSet<SensorId> = sensors
        .active_sensors()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        watched,
        BTreeSet::from([relay.id, host.id, sector.id, bank.id])
    );

    // The organisation is deactivated: its sensors drop out, the sector's stays.
    w.app
        .tenants()
        .deactivate(&w.root_admin, w.operator.id)
        .await
        .unwrap();
    assert!(
        sensors
            .sensor_by_address(ip("10.20.1.7"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        sensors
            .sensor_by_address(ip("10.40.1.7"))
            .await
            .unwrap()
            .unwrap()
            .sensor
            .id,
        sector.id
    );
    assert!(
        sensors
            .sensor_by_certificate(
                &CertificateFingerprint::from_bytes([9; 32]),
                Some("host.operator.example")
            )
            .await
            .unwrap()
            .is_none()
    );
    // A deactivated sensor drops out too.
    sensors.deactivate(&w.root_admin, bank.id).await.unwrap();
    assert!(
        sensors
            .sensor_by_address(ip("10.30.0.1"))
            .await
            .unwrap()
            .is_none()
    );
    let watched: BTreeSet<SensorId> = sensors
        .active_sensors()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(watched, BTreeSet::from([sector.id]));
}

async fn health_is_recorded_by_the_platform_and_read_within_the_tree(w: &World) {
    let sensors = w.app.sensors();
    let operator_fw = sensors
        .register(&w.root_admin, firewall(Some(w.operator.id), "Operator fw"))
        .await
        .unwrap()
        .sensor;
    let bank_fw = sensors
        .register(&w.root_admin, firewall(Some(w.bank.id), "Bank fw"))
        .await
        .unwrap()
        .sensor;
    let auditor = w.caller(w.national.id, Role::Auditor).await;
    let audit_before = w
        .app
        .audit()
        .list(&auditor, AuditListing::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .len();

    let since = Timestamp::now();
    let silent_at = since.plus(Duration::from_secs(301));
    let silent = sensors
        .record_health(SensorHealthReport {
            sensor: operator_fw.id,
            at: silent_at,
            kind: SensorHealthKind::Silent {
                since,
                expected_interval_seconds: 300,
            },
        })
        .await
        .unwrap();
    assert_eq!(
        silent.tenant, w.operator.id,
        "the tenant comes from the registry"
    );
    let back_at = since.plus(Duration::from_secs(600));
    let recovered = sensors
        .record_health(SensorHealthReport {
            sensor: operator_fw.id,
            at: back_at,
            kind: SensorHealthKind::recovered(since, back_at),
        })
        .await
        .unwrap();
    sensors
        .record_health(SensorHealthReport {
            sensor: bank_fw.id,
            at: silent_at,
            kind: SensorHealthKind::Silent {
                since,
                expected_interval_seconds: 300,
            },
        })
        .await
        .unwrap();
    assert_not_found(
        sensors
            .record_health(SensorHealthReport {
                sensor: SensorId::new(),
                at: back_at,
                kind: SensorHealthKind::recovered(since, back_at),
            })
            .await,
    );
    let audit_after = w
        .app
        .audit()
        .list(&auditor, AuditListing::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(audit_after, audit_before, "health events are not audited");

    let duty = w.caller(w.telecom.id, Role::DutyOfficer).await;
    let history = sensors
        .health_history(&duty, operator_fw.id, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(history, vec![recovered.clone(), silent.clone()]);
    assert_not_found(
        sensors
            .health_history(&duty, bank_fw.id, &PageRequest::default())
            .await,
    );
    let subtree = sensors
        .health_events(&duty, None, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert!(subtree.iter().all(|e| e.tenant == w.operator.id));
    assert_eq!(subtree.len(), 2);
    assert_not_found(
        sensors
            .health_events(&duty, Some(w.bank.id), &PageRequest::default())
            .await,
    );
    let national = sensors
        .health_events(&auditor, None, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(national.len(), 3);
    let council = w.caller(w.national.id, Role::CouncilMember).await;
    assert_forbidden(
        sensors
            .health_events(&council, None, &PageRequest::default())
            .await,
    );
}

async fn updates_are_for_administrators_and_audited(w: &World) {
    let sensors = w.app.sensors();
    let operator_admin = w.caller(w.operator.id, Role::Administrator).await;
    let mut new = firewall(None, "Perimeter");
    new.source_addresses = vec![net("198.51.100.0/24")];
    let sensor = sensors.register(&operator_admin, new).await.unwrap().sensor;

    let changed = sensors
        .update(
            &operator_admin,
            sensor.id,
            SensorUpdate {
                name: Some(name("Perimeter firewall")),
                expected_formats: Some(vec![
                    SensorFormat::Cef,
                    SensorFormat::Syslog,
                    SensorFormat::Cef,
                ]),
                expected_interval: Some(None),
                source_addresses: Some(vec![net("198.51.100.0/25")]),
                ..SensorUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.name.as_str(), "Perimeter firewall");
    assert_eq!(
        changed.expected_formats,
        vec![SensorFormat::Cef, SensorFormat::Syslog],
        "duplicates dropped"
    );
    assert_eq!(changed.expected_interval, None);
    assert_eq!(changed.tenant, w.operator.id);
    assert_eq!(
        sensors
            .sensor_by_address(ip("198.51.100.200"))
            .await
            .unwrap(),
        None
    );

    let auditor = w.caller(w.operator.id, Role::Auditor).await;
    let audit = |caller| {
        let app = w.app.clone();
        async move {
            app.audit()
                .list(&caller, AuditListing::default(), &PageRequest::first(1000))
                .await
                .unwrap()
                .items
                .into_iter()
                .filter(|e| e.record_kind == "sensor")
                .map(|e| e.action.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        audit(auditor.clone()).await,
        ["sensor.register", "sensor.update"]
    );
    // An update that changes nothing writes nothing.
    let same = sensors
        .update(
            &operator_admin,
            sensor.id,
            SensorUpdate {
                name: Some(name("Perimeter firewall")),
                ..SensorUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(same, changed);
    assert_eq!(audit(auditor.clone()).await.len(), 2);

    for role in [Role::Analyst, Role::DutyOfficer, Role::Auditor] {
        let caller = w.caller(w.operator.id, role).await;
        assert_forbidden(
            sensors
                .update(&caller, sensor.id, SensorUpdate::default())
                .await,
        );
        assert_forbidden(sensors.deactivate(&caller, sensor.id).await);
    }
    let bank_admin = w.caller(w.bank.id, Role::Administrator).await;
    assert_not_found(
        sensors
            .update(&bank_admin, sensor.id, SensorUpdate::default())
            .await,
    );
    assert_not_found(sensors.deactivate(&bank_admin, sensor.id).await);

    let gone = sensors
        .deactivate(&operator_admin, sensor.id)
        .await
        .unwrap();
    assert!(!gone.active);
    assert_invalid(
        sensors
            .update(
                &operator_admin,
                sensor.id,
                SensorUpdate {
                    kind: Some(SensorKind::Other),
                    ..SensorUpdate::default()
                },
            )
            .await,
        "deactivated",
    );
    assert_eq!(
        audit(auditor).await,
        ["sensor.register", "sensor.update", "sensor.deactivate"]
    );
    // The sensor stays readable, deactivated, for the record.
    assert!(
        !sensors
            .get(&operator_admin, sensor.id)
            .await
            .unwrap()
            .active
    );
}

async fn event_search_is_scoped_to_the_subtree(w: &World) {
    let scope_of = |caller| {
        let app = w.app.clone();
        async move {
            app.events_scope(&caller)
                .await
                .map(|scope| scope.tenants().iter().copied().collect::<BTreeSet<_>>())
        }
    };
    let everyone = BTreeSet::from([
        w.national.id,
        w.telecom.id,
        w.banking.id,
        w.operator.id,
        w.bank.id,
    ]);
    for role in [
        Role::Administrator,
        Role::Analyst,
        Role::Responder,
        Role::IntelAnalyst,
        Role::DutyOfficer,
        Role::Auditor,
    ] {
        let national = w.caller(w.national.id, role).await;
        assert_eq!(scope_of(national).await.unwrap(), everyone, "{role}");
        let telecom = w.caller(w.telecom.id, role).await;
        assert_eq!(
            scope_of(telecom).await.unwrap(),
            BTreeSet::from([w.telecom.id, w.operator.id]),
            "{role}"
        );
    }
    let reporter = w.caller(w.telecom.id, Role::ConstituentReporter).await;
    assert_eq!(
        scope_of(reporter.clone()).await.unwrap(),
        BTreeSet::from([w.telecom.id]),
        "a reporter searches its own organisation only"
    );
    for tenant in [w.national.id, w.operator.id] {
        let council = w.caller(tenant, Role::CouncilMember).await;
        assert_forbidden(scope_of(council).await);
    }
    let analyst = w.caller(w.national.id, Role::Analyst).await;
    let narrowed = w
        .app
        .events_scope_under(&analyst, Some(w.banking.id))
        .await
        .unwrap();
    assert_eq!(narrowed.tenants().len(), 2);
    assert!(narrowed.contains(w.bank.id) && !narrowed.contains(w.operator.id));
    let telecom_analyst = w.caller(w.telecom.id, Role::Analyst).await;
    for outside in [w.national.id, w.banking.id, w.bank.id, TenantId::new()] {
        assert_not_found(
            w.app
                .events_scope_under(&telecom_analyst, Some(outside))
                .await,
        );
    }
    assert_forbidden(
        w.app
            .events_scope_under(&reporter, Some(w.operator.id))
            .await,
    );
    // Deactivated tenants' past events stay searchable by those above.
    w.app
        .tenants()
        .deactivate(&w.root_admin, w.operator.id)
        .await
        .unwrap();
    let telecom_analyst = w.caller(w.telecom.id, Role::Analyst).await;
    assert!(
        w.app
            .events_scope(&telecom_analyst)
            .await
            .unwrap()
            .contains(w.operator.id)
    );
}
