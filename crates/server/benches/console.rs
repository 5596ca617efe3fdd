//! Server-side render time of each console page with 10,000 records of each
//! kind a page lists: 10,000 events in the store (spread over the last day, six
//! organisations under three sectoral CERTs), 10,000 alerts and 200 incidents,
//! through the whole router as a browser's request goes: session check, the
//! app's services, the search index, the page. The national administrator
//! opens the platform's pages, a national analyst the alert queue, the
//! incidents, one alert, one incident, the report form and the duty page
//! (the analyst on call, 30 hand-overs written, 200 drill pages and the
//! 5,000 pages the duty loop opens for the high and critical alerts).
//!
//! Run: `cargo bench -p nigehban-server --bench console`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt as _;
use nigehban_app::model::{
    AlertRule, AlertSignal, DisplayName, IncidentSeverity, Pap, Password, Role, RsitClass, Sector,
    SensorKind, SensorName, Severity, TenantKind, TenantName, Timestamp, Tlp, Username,
};
use nigehban_app::{
    App, AppSettings, BootstrapRequest, NewSensor, NewTenant, NewUser, OpenIncident, StoreConfig,
};
use nigehban_search::{EventQuery, TenantScope};
use nigehban_server::{ServerOptions, ServerState};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt as _;

const EVENTS: usize = 10_000;
const ALERTS: usize = 10_000;
const INCIDENTS: usize = 200;
const DUTY_PAGES: usize = 200;
const HANDOVERS: usize = 30;
const PASSWORD: &str = "correct horse battery staple";

struct Platform {
    router: Router,
    cookie: String,
    analyst_cookie: String,
    /// One alert, one incident (readable id) and one sensor, for their pages.
    alert: String,
    incident: String,
    sensor: String,
    _telemetry: nigehban_node::TelemetryRuntime,
    _dir: tempfile::TempDir,
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

async fn platform() -> Platform {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(
        &StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        },
        bench_settings(),
    )
    .await
    .unwrap();
    app.bootstrap(BootstrapRequest {
        national_name: TenantName::parse("National CERT").unwrap(),
        admin_username: Username::parse("admin").unwrap(),
        admin_display_name: DisplayName::parse("Administrator").unwrap(),
        admin_password: Some(Password::parse(PASSWORD).unwrap()),
    })
    .await
    .unwrap();
    let operator = app.operator(None).await.unwrap();
    let root = app
        .tenants()
        .list(&operator, None, &nigehban_app::PageRequest::first(10))
        .await
        .unwrap()
        .items[0]
        .clone();
    let config = nigehban_node::TelemetryConfig::new(nigehban_bus::BusLocation::Embedded(
        nigehban_bus::EmbeddedOptions::new(dir.path()),
    ));
    let telemetry = nigehban_node::TelemetryRuntime::start(app.clone(), dir.path(), config)
        .await
        .unwrap();
    let state = ServerState::new(
        app.clone(),
        ServerOptions {
            max_ingest_body_bytes: 64 * 1024 * 1024,
            ..ServerOptions::default()
        },
    )
    .with_telemetry(telemetry.telemetry());
    let router = nigehban_server::router(state);

    let mut tokens = Vec::new();
    let mut organisations = Vec::new();
    let mut sensor = None;
    for (n, sector) in [Sector::Banking, Sector::Telecom, Sector::Energy]
        .into_iter()
        .enumerate()
    {
        let cert = app
            .tenants()
            .create(
                &operator,
                NewTenant {
                    parent: root.id,
                    name: TenantName::parse(&format!("{sector} CERT")).unwrap(),
                    kind: TenantKind::Sectoral { sector },
                },
            )
            .await
            .unwrap();
        for o in 0..2 {
            let org = app
                .tenants()
                .create(
                    &operator,
                    NewTenant {
                        parent: cert.id,
                        name: TenantName::parse(&format!("{sector} organisation {o}")).unwrap(),
                        kind: TenantKind::Organisation {
                            critical_infrastructure: false,
                        },
                    },
                )
                .await
                .unwrap();
            organisations.push(org.id);
            let issued = app
                .sensors()
                .register(
                    &operator,
                    NewSensor {
                        tenant: Some(org.id),
                        ..NewSensor::new(
                            SensorName::parse(&format!("sensor {n}-{o}")).unwrap(),
                            SensorKind::Ids,
                        )
                    },
                )
                .await
                .unwrap();
            telemetry.telemetry().sensor_changed(&issued.sensor);
            sensor.get_or_insert_with(|| issued.sensor.id.to_string());
            tokens.push(issued.secret.expose().to_owned());
        }
    }
    // 10,000 syslog events over the last 22 hours, spread over the sensors.
    let now = OffsetDateTime::now_utc();
    let per_sensor = EVENTS / tokens.len() + 1;
    let mut sent = 0;
    for (s, token) in tokens.iter().enumerate() {
        let mut body = String::new();
        for i in 0..per_sensor.min(EVENTS - sent) {
            let at =
                now - time::Duration::seconds(((i * tokens.len() + s) * 79 % (22 * 3600)) as i64);
            let stamp = at.format(&Rfc3339).unwrap();
            body.push_str(&serde_json::to_string(&format!(
                "<38>1 {stamp} gw{} sshd 4242 - - Failed password for user{} from 10.0.{}.{} port {} ssh2",
                i % 17, i % 101, i % 7, i % 251, 40000 + i
            )).unwrap());
            body.push('\n');
            sent += 1;
        }
        let (status, answer) = send(
            &router,
            Request::post("/api/v1/ingest")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/x-ndjson")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    let index = telemetry.telemetry().index.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    while index
        .count(&EventQuery::new(TenantScope::all_tenants()))
        .unwrap()
        < EVENTS as u64
    {
        assert!(Instant::now() < deadline, "the events were not indexed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 10,000 alerts over the organisations (distinct hosts: none fold into another).
    let mut alert = None;
    let mut signals = Vec::with_capacity(ALERTS);
    for i in 0..ALERTS {
        let tenant = organisations[i % organisations.len()];
        let rule = AlertRule::new(
            format!("bench-rule-{}", i % 40),
            format!("Bench rule {}", i % 40),
            [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ][i % 4],
        );
        let mut signal =
            AlertSignal::new(tenant, rule, format!("bench-event-{i}"), Timestamp::now());
        signal.host = Some(format!("host-{i}"));
        signal.user = Some(format!("user{}", i % 101));
        signals.push(signal);
        if signals.len() == 1_000 {
            let raised = app
                .alerts()
                .raise(std::mem::take(&mut signals))
                .await
                .unwrap();
            alert = alert.or(raised.alerts.into_iter().flatten().next());
        }
    }
    if !signals.is_empty() {
        app.alerts().raise(signals).await.unwrap();
    }
    app.users()
        .create(
            &operator,
            NewUser {
                tenant: root.id,
                username: Username::parse("analyst").unwrap(),
                display_name: DisplayName::parse("National analyst").unwrap(),
                role: Role::Analyst,
                password: Some(Password::parse(PASSWORD).unwrap()),
            },
        )
        .await
        .unwrap();
    let analyst = app
        .auth()
        .login("analyst", PASSWORD, None)
        .await
        .unwrap()
        .caller;
    let mut incident = None;
    for i in 0..INCIDENTS {
        let opened = app
            .incidents()
            .open(
                &analyst,
                OpenIncident {
                    owner: Some(organisations[i % organisations.len()]),
                    title: format!("Bench incident {i}"),
                    description: format!("Brute force from 198.51.100.{}", i % 250),
                    classification: RsitClass::parse("intrusions", "system-compromise").unwrap(),
                    severity: IncidentSeverity::Medium,
                    tlp: Tlp::Amber,
                    pap: Pap::Green,
                    aware_at: None,
                    affected_tenants: Vec::new(),
                    observables: Vec::new(),
                    regulatory_profile: None,
                    alerts: Vec::new(),
                },
            )
            .await
            .unwrap();
        incident.get_or_insert_with(|| opened.readable_id().to_string());
    }
    duty(&app, &operator, &analyst, root.id).await;
    // The duty loop pages for each high and critical alert: 5,000 open
    // pages, as in a flood. Driven here until nothing is due (pages opened,
    // their first steps run, the notifications tried), so that the timing
    // sees them all and measures the pages, not the loop's work beside them
    // (the node's own loop passes once, then waits a day: `bench_settings`).
    let mut passes = 0;
    while app.duty().check().await.unwrap() != nigehban_app::DutyCheck::default() {
        passes += 1;
        assert!(passes < 10_000, "the duty loop never settles");
    }
    let cookie = session_cookie(&router, "admin").await;
    let analyst_cookie = session_cookie(&router, "analyst").await;
    Platform {
        router,
        cookie,
        analyst_cookie,
        alert: alert.unwrap().to_string(),
        incident: incident.unwrap(),
        sensor: sensor.unwrap(),
        _telemetry: telemetry,
        _dir: dir,
    }
}

/// Cheap password hashing, and a duty loop in the node that waits a day
/// between passes (the bench drives it itself before timing).
fn bench_settings() -> AppSettings {
    let mut settings = AppSettings::insecure_fast_for_tests();
    settings.duty.check_every = Duration::from_secs(24 * 3600);
    settings
}

/// The national CERT's watch: the analyst on call around the clock, 200
/// pages (most acknowledged, as after a busy month) and 30 hand-overs.
async fn duty(
    app: &App,
    operator: &nigehban_app::Caller,
    analyst: &nigehban_app::Caller,
    root: nigehban_app::model::TenantId,
) {
    use nigehban_app::model::duty::jiff::civil::date;
    use nigehban_app::model::duty::{Layer, Rotation, Schedule, ShiftPattern};
    let roster = Schedule::new(vec![Layer {
        name: "primary".into(),
        priority: 0,
        rotation: Rotation {
            participants: vec!["analyst".into()],
            start: date(2020, 1, 1),
            pattern: ShiftPattern::Daily {
                handoffs: vec!["08:00".parse().unwrap(), "20:00".parse().unwrap()],
            },
        },
    }]);
    let schedule = app
        .duty()
        .create_schedule(
            operator,
            root,
            "national watch",
            nigehban_app::ScheduleDocument {
                team: "soc".into(),
                roster,
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap()
        .id;
    for i in 0..DUTY_PAGES {
        let page = app
            .duty()
            .test_page(operator, root, "high", Some(&format!("Bench page {i}")))
            .await
            .unwrap();
        if i % 10 != 0 {
            app.duty().acknowledge(analyst, page.id).await.unwrap();
        }
    }
    for i in 0..HANDOVERS {
        app.duty()
            .write_handover(analyst, schedule, &format!("Bench hand-over {i}"))
            .await
            .unwrap();
    }
}

/// Signs `username` in through the API; the session cookie it sets (the login
/// route is the only place that sets one).
async fn session_cookie(router: &Router, username: &str) -> String {
    let response = router
        .clone()
        .oneshot(
            Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"username":"{username}","password":"{PASSWORD}"}}"#
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let platform = runtime.block_on(platform());
    let mut group = c.benchmark_group("console_render_10k_records");
    group.sample_size(30);
    let admin = platform.cookie.as_str();
    let analyst = platform.analyst_cookie.as_str();
    let alert = format!("/console/alerts/{}", platform.alert);
    let incident = format!("/console/incidents/{}", platform.incident);
    let sensor = format!("/console/sensors/{}", platform.sensor);
    for (name, cookie, uri) in [
        ("dashboard", admin, "/console/"),
        ("events_last_day_50", admin, "/console/events?range=24h"),
        (
            "events_text_search",
            admin,
            "/console/events?range=all&q=user7",
        ),
        (
            "events_field_filter",
            admin,
            "/console/events?range=all&filter=host.name%3Dgw3",
        ),
        ("sensors", admin, "/console/sensors"),
        ("my_tokens", admin, "/console/tokens"),
        ("rules", admin, "/console/rules"),
        ("admin_tenant_tree", admin, "/console/admin"),
        ("admin_users", admin, "/console/admin/users"),
        ("admin_tokens", admin, "/console/admin/tokens"),
        ("admin_audit", admin, "/console/admin/audit"),
        ("alert_queue", analyst, "/console/alerts"),
        (
            "alert_queue_critical",
            analyst,
            "/console/alerts?min_severity=critical",
        ),
        ("dashboard_analyst", analyst, "/console/"),
        ("incidents", analyst, "/console/incidents"),
        ("alert", analyst, alert.as_str()),
        ("incident", analyst, incident.as_str()),
        ("report", analyst, "/console/report"),
        ("duty", analyst, "/console/duty"),
        ("sensor", admin, sensor.as_str()),
    ] {
        // Once outside the timing: the page renders, and in full.
        let (status, body) = runtime.block_on(send(
            &platform.router,
            Request::get(uri)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        ));
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            body.len() > 1500,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(send(
                    &platform.router,
                    Request::get(uri)
                        .header(header::COOKIE, cookie)
                        .body(Body::empty())
                        .unwrap(),
                ))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
