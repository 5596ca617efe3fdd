//! Server-side render time of each console page with 10,000 events in the
//! store (spread over the last day, six organisations under three sectoral
//! CERTs), through the whole router as a browser's request goes: session
//! check, the app's services, the search index, the page.
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
    DisplayName, Password, Sector, SensorKind, SensorName, TenantKind, TenantName, Username,
};
use nigehban_app::{App, AppSettings, BootstrapRequest, NewSensor, NewTenant, StoreConfig};
use nigehban_search::{EventQuery, TenantScope};
use nigehban_server::{ServerOptions, ServerState};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt as _;

const EVENTS: usize = 10_000;
const PASSWORD: &str = "correct horse battery staple";

struct Platform {
    router: Router,
    cookie: String,
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
        AppSettings::insecure_fast_for_tests(),
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
    // The cookie is in the header; the login route is the only place that sets it.
    let response = router
        .clone()
        .oneshot(
            Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"username":"admin","password":"{PASSWORD}"}}"#
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Platform {
        router,
        cookie,
        _telemetry: telemetry,
        _dir: dir,
    }
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let platform = runtime.block_on(platform());
    let mut group = c.benchmark_group("console_render_10k_events");
    group.sample_size(30);
    for (name, uri) in [
        ("dashboard", "/console/"),
        ("events_last_day_50", "/console/events?range=24h"),
        ("events_text_search", "/console/events?range=all&q=user7"),
        (
            "events_field_filter",
            "/console/events?range=all&filter=host.name%3Dgw3",
        ),
        ("sensors", "/console/sensors"),
        ("my_tokens", "/console/tokens"),
        ("rules", "/console/rules"),
        ("admin_tenant_tree", "/console/admin"),
        ("admin_users", "/console/admin/users"),
        ("admin_tokens", "/console/admin/tokens"),
        ("admin_audit", "/console/admin/audit"),
    ] {
        // Once outside the timing: the page renders, and in full.
        let (status, body) = runtime.block_on(send(
            &platform.router,
            Request::get(uri)
                .header(header::COOKIE, &platform.cookie)
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
                        .header(header::COOKIE, &platform.cookie)
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
