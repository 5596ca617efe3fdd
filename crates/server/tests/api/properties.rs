//! Property tests: whatever arrives — any body, any path, any header — the
//! server answers with a proper status and, for errors, the JSON error shape;
//! never a 5xx, never a panic. The incident write endpoints get random
//! bodies from an analyst who may work the incident named in the path, so
//! the bodies reach the incident services rather than being refused first.

use axum::http::{Method, StatusCode};
use proptest::prelude::*;

use crate::harness::{Platform, call};

/// One platform, its runtime and an administrator's session, shared by every case.
type Shared = (
    tokio::runtime::Runtime,
    Platform,
    crate::harness::Credentials,
);

fn with_platform() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (platform, admin) = runtime.block_on(async {
            let platform = Platform::new().await;
            let admin = platform.sign_in("admin").await;
            (platform, admin)
        });
        (runtime, platform, admin)
    })
}

/// An analyst of the national CERT, an incident it handles (with a task and
/// a linked alert's worth of context) and a report to triage.
struct IncidentTargets {
    analyst: crate::harness::Credentials,
    incident: String,
    task: String,
    report: String,
}

fn with_incident() -> &'static IncidentTargets {
    static TARGETS: std::sync::OnceLock<IncidentTargets> = std::sync::OnceLock::new();
    TARGETS.get_or_init(|| {
        let (runtime, platform, _) = with_platform();
        runtime.block_on(async {
            let org = platform.organisation(&platform.root, "Property Bank").await;
            platform
                .user(&platform.root, "property-analyst", nigehban_app::model::Role::Analyst)
                .await;
            let analyst = platform.sign_in("property-analyst").await;
            let opened = platform
                .send(call(Method::POST, "/api/v1/incidents").session(&analyst).json(
                    &serde_json::json!({
                        "owner": org.id,
                        "title": "property target",
                        "classification": {"class": "other", "type": "undetermined"},
                        "severity": "low",
                    }),
                ))
                .await;
            assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
            let incident = opened.json["id"].as_str().unwrap().to_owned();
            let tasked = platform
                .send(
                    call(Method::POST, &format!("/api/v1/incidents/{incident}/tasks"))
                        .session(&analyst)
                        .json(&serde_json::json!({"assignee_tenant": org.id, "kind": "other", "title": "t"})),
                )
                .await;
            assert_eq!(tasked.status, StatusCode::CREATED, "{}", tasked.text);
            let filed = platform
                .send(call(Method::POST, "/api/v1/reports").session(&analyst).json(
                    &serde_json::json!({
                        "tenant": org.id,
                        "title": "property report",
                        "noticed_at": nigehban_app::model::Timestamp::now().to_rfc3339(),
                    }),
                ))
                .await;
            assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.text);
            IncidentTargets {
                analyst,
                task: tasked.json["id"].as_str().unwrap().to_owned(),
                report: filed.json["id"].as_str().unwrap().to_owned(),
                incident,
            }
        })
    })
}

fn assert_proper(answer: &crate::harness::Answer, what: &str) {
    assert!(
        !answer.status.is_server_error(),
        "{what}: {} {}",
        answer.status,
        answer.text
    );
    if answer.status.is_client_error() {
        assert!(
            answer.json["error"]["code"].is_string() && answer.json["error"]["message"].is_string(),
            "{what}: error not in the API's shape: {}",
            answer.text
        );
    }
}

/// Bodies that are JSON-ish more often than random bytes would be.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[\\{\\}\\[\\]\":,a-z0-9 \\\\-]{0,200}".prop_map(String::into_bytes),
        (
            "[a-z_]{1,12}",
            prop_oneof![
                Just("null".to_owned()),
                Just("true".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                "\"[^\"\\\\]{0,40}\"",
                Just("[]".to_owned()),
                Just("{}".to_owned()),
            ]
        )
            .prop_map(|(key, value)| format!("{{\"{key}\": {value}}}").into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_body_to_any_write_endpoint_gets_a_proper_answer(body in bodies(), endpoint in 0usize..7) {
        let (runtime, platform, admin) = with_platform();
        let root = platform.root.id;
        let (method, path) = [
            (Method::POST, "/api/v1/tenants".to_owned()),
            (Method::PATCH, format!("/api/v1/tenants/{root}")),
            (Method::POST, format!("/api/v1/tenants/{root}/move")),
            (Method::POST, "/api/v1/users".to_owned()),
            (Method::POST, "/api/v1/tokens".to_owned()),
            (Method::POST, "/api/v1/auth/login".to_owned()),
            (Method::POST, "/api/v1/auth/password".to_owned()),
        ][endpoint].clone();
        let answer = runtime.block_on(platform.send(
            call(method.clone(), &path).session(admin).raw("application/json", body.clone()),
        ));
        assert_proper(&answer, &format!("{method} {path} {:?}", String::from_utf8_lossy(&body)));
    }

    #[test]
    fn any_body_to_any_incident_write_endpoint_gets_a_proper_answer(body in bodies(), endpoint in 0usize..15) {
        let (runtime, platform, _) = with_platform();
        let targets = with_incident();
        let (incident, task, report) = (&targets.incident, &targets.task, &targets.report);
        let (method, path) = [
            (Method::POST, "/api/v1/incidents".to_owned()),
            (Method::PATCH, format!("/api/v1/incidents/{incident}")),
            (Method::POST, format!("/api/v1/incidents/{incident}/status")),
            (Method::POST, format!("/api/v1/incidents/{incident}/assign")),
            (Method::POST, format!("/api/v1/incidents/{incident}/observables")),
            (Method::POST, format!("/api/v1/incidents/{incident}/notes")),
            (Method::POST, format!("/api/v1/incidents/{incident}/tasks")),
            (Method::PATCH, format!("/api/v1/incidents/{incident}/tasks/{task}")),
            (Method::POST, format!("/api/v1/incidents/{incident}/related")),
            (Method::POST, format!("/api/v1/incidents/{incident}/merge")),
            (Method::POST, format!("/api/v1/incidents/{incident}/deadlines/early_warning")),
            (Method::POST, format!("/api/v1/incidents/{incident}/alerts")),
            (Method::POST, format!("/api/v1/incidents/{incident}/escalate")),
            (Method::POST, "/api/v1/reports".to_owned()),
            (Method::POST, format!("/api/v1/reports/{report}/triage")),
        ][endpoint].clone();
        let answer = runtime.block_on(platform.send(
            call(method.clone(), &path).session(&targets.analyst).raw("application/json", body.clone()),
        ));
        assert_proper(&answer, &format!("{method} {path} {:?}", String::from_utf8_lossy(&body)));
    }

    #[test]
    fn any_path_and_query_gets_a_proper_answer(
        segments in proptest::collection::vec("[a-zA-Z0-9%._~{}-]{0,40}", 1..5),
        query in "[a-z_=&%0-9-]{0,60}",
    ) {
        let (runtime, platform, admin) = with_platform();
        let path = format!("/api/v1/{}?{query}", segments.join("/"));
        let Ok(uri) = path.parse::<axum::http::Uri>() else {
            return Ok(());
        };
        let answer = runtime.block_on(platform.send(call(Method::GET, &uri.to_string()).session(admin).empty()));
        assert_proper(&answer, &path);
    }

    #[test]
    fn any_credentials_are_refused_cleanly(value in "[ -~]{0,300}", as_cookie in any::<bool>()) {
        let (runtime, platform, _) = with_platform();
        let (name, value) = if as_cookie {
            ("cookie", format!("__Host-nigehban_session={value}"))
        } else {
            ("authorization", value)
        };
        let Ok(header) = axum::http::HeaderValue::from_str(&value) else {
            return Ok(());
        };
        let request = axum::http::Request::builder()
            .uri("/api/v1/tenants")
            .header(name, header)
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = runtime.block_on(platform.send(request));
        prop_assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
        assert_proper(&answer, &value);
    }
}
