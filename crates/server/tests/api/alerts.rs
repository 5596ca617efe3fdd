//! The alert API through the real router: who sees which alert (list
//! contents, not only statuses), triage, bulk, an alert's events from
//! search, the live stream and its resumption, and the metrics.
//!
//! The helpers at the top ([`raise_in`], [`listed_ids`], [`SseReader`])
//! are public so that other test modules (the authorisation matrix) can
//! use them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use nigehban_app::model::{
    AlertId, AlertRule, AlertSignal, Role, Sector, Severity, Tenant, TenantId, Timestamp,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::harness::{Answer, Credentials, Platform, call};

/// Raises one signal of its own rule in `tenant` (opening an alert); returns the alert's id.
pub async fn raise_in(platform: &Platform, tenant: TenantId) -> AlertId {
    let unique = AlertId::new().to_string();
    let outcome = platform
        .app
        .alerts()
        .raise(vec![signal(tenant, &format!("rule-{unique}"), &unique)])
        .await
        .unwrap();
    assert_eq!(outcome.opened, 1, "{outcome:?}");
    outcome.alerts[0].unwrap()
}

/// A signal of rule `rule` on `tenant` for event `event`, host web-1, user alice, now.
pub fn signal(tenant: TenantId, rule: &str, event: &str) -> AlertSignal {
    let mut rule = AlertRule::new(rule, format!("Rule {rule}"), Severity::High);
    rule.tags = vec!["attack.t1110.001".into()];
    let mut signal = AlertSignal::new(tenant, rule, event, Timestamp::now());
    signal.host = Some("web-1".into());
    signal.user = Some("alice".into());
    signal
}

/// The alert ids of a list answer's `items`.
pub fn listed_ids(answer: &Answer) -> BTreeSet<String> {
    answer.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", answer.text))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(alerts: &[AlertId]) -> BTreeSet<String> {
    alerts.iter().map(ToString::to_string).collect()
}

async fn get(platform: &Platform, who: &Credentials, uri: &str) -> Answer {
    platform
        .send(call(Method::GET, uri).bearer(&who.token).empty())
        .await
}

async fn post(platform: &Platform, who: &Credentials, uri: &str, body: Option<Value>) -> Answer {
    let request = call(Method::POST, uri).bearer(&who.token);
    platform
        .send(match body {
            Some(body) => request.json(&body),
            None => request.empty(),
        })
        .await
}

/// A person in `tenant` with `role`, signed in.
async fn person(platform: &Platform, tenant: &Tenant, name: &str, role: Role) -> Credentials {
    platform.user(tenant, name, role).await;
    platform.sign_in(name).await
}

/// national ─┬─ telecom ─── operator
///           └─ banking ─── bank
struct Tree {
    telecom: Tenant,
    operator: Tenant,
    banking: Tenant,
    bank: Tenant,
}

async fn tree(platform: &Platform) -> Tree {
    let telecom = platform.sector("CERT Telecom", Sector::Telecom).await;
    let operator = platform.organisation(&telecom, "Mobile Operator").await;
    let banking = platform.sector("CERT Banking", Sector::Banking).await;
    let bank = platform.organisation(&banking, "First Bank").await;
    Tree {
        telecom,
        operator,
        banking,
        bank,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_lists_its_own_alerts_and_those_below_never_others() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let national = raise_in(&platform, platform.root.id).await;
    let telecom = raise_in(&platform, t.telecom.id).await;
    let operator = raise_in(&platform, t.operator.id).await;
    let banking = raise_in(&platform, t.banking.id).await;
    let bank = raise_in(&platform, t.bank.id).await;

    let nsoc = person(&platform, &platform.root, "nsoc", Role::Analyst).await;
    let answer = get(&platform, &nsoc, "/api/v1/alerts").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        listed_ids(&answer),
        ids(&[national, telecom, operator, banking, bank]),
        "the national CERT sees every alert, two levels down included"
    );
    let sector = person(&platform, &t.telecom, "telecom-analyst", Role::Analyst).await;
    assert_eq!(
        listed_ids(&get(&platform, &sector, "/api/v1/alerts").await),
        ids(&[telecom, operator]),
        "a sector sees its own and its organisation's, not the national CERT's nor a sibling sector's"
    );
    let org = person(&platform, &t.operator, "operator-analyst", Role::Analyst).await;
    assert_eq!(
        listed_ids(&get(&platform, &org, "/api/v1/alerts").await),
        ids(&[operator])
    );
    let sibling_org = person(&platform, &t.bank, "bank-duty", Role::DutyOfficer).await;
    assert_eq!(
        listed_ids(&get(&platform, &sibling_org, "/api/v1/alerts").await),
        ids(&[bank])
    );
    // Narrowing: one tenant only, or another subtree.
    assert_eq!(
        listed_ids(
            &get(
                &platform,
                &nsoc,
                &format!("/api/v1/alerts?under={}&descendants=false", t.telecom.id)
            )
            .await
        ),
        ids(&[telecom])
    );
    assert_eq!(
        listed_ids(
            &get(
                &platform,
                &nsoc,
                &format!("/api/v1/alerts?under={}", t.banking.id)
            )
            .await
        ),
        ids(&[banking, bank])
    );
    get(
        &platform,
        &sector,
        &format!("/api/v1/alerts?under={}", t.banking.id),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    // One alert: a sibling's reads exactly like one that does not exist.
    let answer = get(&platform, &sector, &format!("/api/v1/alerts/{operator}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["alert"]["tenant"], t.operator.id.to_string());
    let hidden = get(&platform, &sector, &format!("/api/v1/alerts/{bank}")).await;
    hidden.assert_error(StatusCode::NOT_FOUND, "not_found");
    let missing = AlertId::new();
    let absent = get(&platform, &sector, &format!("/api/v1/alerts/{missing}")).await;
    absent.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        hidden.json["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&bank.to_string(), "ID"),
        absent.json["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&missing.to_string(), "ID")
    );
    for upward in [national, banking] {
        get(&platform, &org, &format!("/api/v1/alerts/{upward}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }

    // The council sees none individually; constituents and administrators neither.
    let council = person(&platform, &platform.root, "council", Role::CouncilMember).await;
    let reporter = person(
        &platform,
        &t.operator,
        "reporter",
        Role::ConstituentReporter,
    )
    .await;
    let admin = platform.sign_in("admin").await;
    for who in [&council, &reporter, &admin] {
        get(&platform, who, "/api/v1/alerts")
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
        get(&platform, who, &format!("/api/v1/alerts/{operator}"))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
        get(&platform, who, "/api/v1/alerts/stream")
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    // Without credentials: 401.
    let answer = platform
        .send(call(Method::GET, "/api/v1/alerts").empty())
        .await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_and_pages_newest_first() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let nsoc = person(&platform, &platform.root, "nsoc", Role::Analyst).await;
    let mut raised = Vec::new();
    for (n, level) in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .enumerate()
    {
        let mut signal = signal(t.operator.id, &format!("rule-{n}"), &format!("e{n}"));
        signal.rule.level = level;
        signal.event_time =
            Timestamp::from_unix_micros(1_750_000_000_000_000 + n as i64 * 1_000_000);
        signal.host = Some(format!("host-{n}"));
        let outcome = platform.app.alerts().raise(vec![signal]).await.unwrap();
        raised.push(outcome.alerts[0].unwrap());
    }
    let answer = get(&platform, &nsoc, "/api/v1/alerts?limit=3").await;
    let page: Vec<&str> = answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<String> = raised.iter().rev().map(ToString::to_string).collect();
    assert_eq!(page, newest_first[..3].to_vec(), "{}", answer.text);
    let cursor = answer.json["next_cursor"].as_str().unwrap();
    let rest = get(
        &platform,
        &nsoc,
        &format!("/api/v1/alerts?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(listed_ids(&rest), BTreeSet::from([newest_first[3].clone()]));
    assert!(rest.json["next_cursor"].is_null());

    let item = &answer.json["items"][0];
    assert_eq!(item["severity"], "critical");
    assert_eq!(item["status"], "new");
    assert_eq!(item["event_count"], 1);
    assert_eq!(item["rule"]["attack_techniques"], json!(["T1110.001"]));
    assert_eq!(item["source"], "sigma_rule");

    for (query, want) in [
        ("min_severity=high", vec![raised[2], raised[3]]),
        ("severity=low,medium", vec![raised[0], raised[1]]),
        ("severity=low&severity=critical", vec![raised[0], raised[3]]),
        ("rule=rule-1", vec![raised[1]]),
        ("q=HOST-2", vec![raised[2]]),
        ("status=acknowledged", vec![]),
        ("exercise=true", vec![]),
        (
            "last_seen_from=2025-06-15T15:06:41Z&last_seen_to=2025-06-15T15:06:43Z",
            vec![raised[1], raised[2]],
        ),
    ] {
        let answer = get(&platform, &nsoc, &format!("/api/v1/alerts?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(listed_ids(&answer), ids(&want), "{query}");
    }
    for (query, code) in [
        ("severity=severe", "invalid_value"),
        ("colour=red", "unknown_field"),
        ("limit=0", "invalid_value"),
        ("cursor=bogus", "invalid_value"),
        ("severity=low&min_severity=high", "invalid_value"),
    ] {
        get(&platform, &nsoc, &format!("/api/v1/alerts?{query}"))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_triaged_commented_and_audited() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let alert = raise_in(&platform, t.operator.id).await;
    let duty = person(&platform, &t.telecom, "telecom-duty", Role::DutyOfficer).await;
    let intel = person(&platform, &t.telecom, "telecom-intel", Role::IntelAnalyst).await;
    let assignee = platform.user(&platform.root, "nsoc", Role::Analyst).await;
    let bank_analyst = platform.user(&t.bank, "bank-analyst", Role::Analyst).await;
    let uri = |action: &str| format!("/api/v1/alerts/{alert}/{action}");

    // Intel analysts read but do not triage.
    assert_eq!(
        get(&platform, &intel, &format!("/api/v1/alerts/{alert}"))
            .await
            .status,
        StatusCode::OK
    );
    post(&platform, &intel, &uri("acknowledge"), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    let answer = post(
        &platform,
        &duty,
        &uri("assign"),
        Some(json!({"assignee": assignee.id})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["assignee"], assignee.id.to_string());
    post(
        &platform,
        &duty,
        &uri("assign"),
        Some(json!({"assignee": bank_analyst.id})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");

    // Through a browser session: the CSRF token is required.
    let answer = platform
        .send(
            call(Method::POST, &uri("acknowledge"))
                .session(&duty)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["status"], "acknowledged");
    let mut no_csrf = duty.clone();
    no_csrf.csrf = String::new();
    platform
        .send(
            call(Method::POST, &uri("acknowledge"))
                .session(&no_csrf)
                .empty(),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "csrf_token_mismatch");

    let answer = post(
        &platform,
        &duty,
        &uri("comments"),
        Some(json!({"body": "brute force from 203.0.113.9\nblocked upstream"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(
        answer.json["body"],
        "brute force from 203.0.113.9\nblocked upstream"
    );
    post(
        &platform,
        &duty,
        &uri("comments"),
        Some(json!({"body": "   "})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");

    post(
        &platform,
        &duty,
        &uri("close"),
        Some(json!({"resolution": "maybe"})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    post(
        &platform,
        &duty,
        &uri("close"),
        Some(json!({"resolution": "benign", "colour": 1})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field");
    let answer = post(
        &platform,
        &duty,
        &uri("close"),
        Some(json!({"resolution": "true_positive", "note": "confirmed with the operator"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["status"], "closed");
    assert_eq!(answer.json["resolution"], "true_positive");
    assert_eq!(
        answer.json["resolution_note"],
        "confirmed with the operator"
    );
    post(&platform, &duty, &uri("acknowledge"), None)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    let answer = post(
        &platform,
        &duty,
        &uri("reopen"),
        Some(json!({"to": "acknowledged"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["status"], "acknowledged");
    assert!(answer.json["resolution"].is_null());
    post(&platform, &duty, &uri("reopen"), Some(json!({})))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");

    // The alert shows its comment; the audit log has every change.
    let detail = get(&platform, &duty, &format!("/api/v1/alerts/{alert}")).await;
    assert_eq!(
        detail.json["comments"][0]["body"],
        "brute force from 203.0.113.9\nblocked upstream"
    );
    let admin = platform.sign_in("admin").await;
    let audit = get(&platform, &admin, "/api/v1/audit?limit=1000").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_id"] == alert.to_string())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "alert.assign",
            "alert.acknowledge",
            "alert.comment",
            "alert.close",
            "alert.reopen"
        ],
        "{}",
        audit.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_answer_per_alert_and_hide_others_alerts() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let own = raise_in(&platform, t.operator.id).await;
    let sector = raise_in(&platform, t.telecom.id).await;
    let sibling = raise_in(&platform, t.bank.id).await;
    let missing = AlertId::new();
    let analyst = person(&platform, &t.telecom, "telecom-analyst", Role::Analyst).await;
    let answer = post(
        &platform,
        &analyst,
        "/api/v1/alerts/bulk",
        Some(json!({"action": "close", "ids": [own, sibling, missing, sector], "resolution": "duplicate"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let results = answer.json["results"].as_array().unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            own.to_string(),
            sibling.to_string(),
            missing.to_string(),
            sector.to_string()
        ]
    );
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["alert"]["status"], "closed");
    assert_eq!(results[3]["alert"]["resolution"], "duplicate");
    // The sibling's alert and a nonexistent one read exactly alike.
    let shape = |result: &Value, id: &str| {
        assert_eq!(result["ok"], false);
        assert!(result.get("alert").is_none());
        (
            result["error"]["code"].as_str().unwrap().to_owned(),
            result["error"]["message"]
                .as_str()
                .unwrap()
                .replace(id, "ID"),
        )
    };
    assert_eq!(
        shape(&results[1], &sibling.to_string()),
        shape(&results[2], &missing.to_string())
    );
    assert_eq!(results[1]["error"]["code"], "not_found");
    let nsoc = person(&platform, &platform.root, "nsoc", Role::Analyst).await;
    let untouched = get(&platform, &nsoc, &format!("/api/v1/alerts/{sibling}")).await;
    assert_eq!(untouched.json["alert"]["status"], "new");

    for bad in [
        json!({"action": "close", "ids": [own]}),
        json!({"action": "acknowledge", "ids": []}),
        json!({"action": "acknowledge", "ids": [own], "note": "x"}),
        json!({"action": "explode", "ids": [own]}),
    ] {
        post(
            &platform,
            &analyst,
            "/api/v1/alerts/bulk",
            Some(bad.clone()),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
}

/// Searches as `token` until `want` events match (the indexer commits every second).
async fn search_until(platform: &Platform, token: &str, want: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = platform
            .send(call(Method::GET, "/api/v1/events").bearer(token).empty())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        if answer.json["items"].as_array().unwrap().len() >= want || Instant::now() > deadline {
            return answer.json;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_shows_its_matching_events_from_search() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let sensor = platform.sensor(&t.operator).await;
    let body = "{\"message\":\"failed password for alice\",\"host\":{\"name\":\"web-1\"}}\n\
                {\"message\":\"failed password for alice again\",\"host\":{\"name\":\"web-1\"}}\n";
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor.secret.expose())
                .raw("application/x-ndjson", body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let analyst = person(&platform, &t.telecom, "telecom-analyst", Role::Analyst).await;
    let found = search_until(&platform, &analyst.token, 2).await;
    let event_ids: Vec<String> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(event_ids.len(), 2, "{found}");
    // Detection raised these two, and one event search no longer holds.
    let mut signals: Vec<AlertSignal> = event_ids
        .iter()
        .chain(std::iter::once(
            &"0190a1b2-0000-7000-8000-000000000000".to_owned(),
        ))
        .map(|id| signal(t.operator.id, "ssh-brute-force", id))
        .collect();
    for signal in &mut signals {
        signal.sensor = Some(sensor.sensor.id);
    }
    let outcome = platform.app.alerts().raise(signals).await.unwrap();
    assert_eq!((outcome.opened, outcome.folded), (1, 2));
    let alert = outcome.alerts[0].unwrap();

    let answer = get(&platform, &analyst, &format!("/api/v1/alerts/{alert}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["events_searched"], true);
    let shown: BTreeSet<&str> = answer.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(shown, event_ids.iter().map(String::as_str).collect());
    assert!(
        answer.json["events"][0]["event"]["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("failed password"),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.json["missing_event_ids"],
        json!(["0190a1b2-0000-7000-8000-000000000000"])
    );
    assert_eq!(answer.json["alert"]["event_count"], 3);
    assert_eq!(answer.json["alert"]["sensor"], sensor.sensor.id.to_string());
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// `id:`.
    pub id: Option<String>,
    /// `event:`.
    pub event: Option<String>,
    /// `data:`, parsed as JSON.
    pub data: Value,
}

/// Reads server-sent events from a streaming response body.
pub struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    /// Opens the stream at `uri` with a bearer token and extra headers; the answer's status must be 200.
    pub async fn open(
        platform: &Platform,
        token: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Self {
        let mut request = call(Method::GET, uri).bearer(token);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = platform
            .router
            .clone()
            .oneshot(request.empty())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` if none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        event.id = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("event:") {
                        event.event = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() && event.id.is_none() {
                    continue; // a comment (keep-alive)
                }
                event.data = serde_json::from_str(&data).unwrap_or(Value::Null);
                return Some(event);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(frame))) => {
                    if let Some(bytes) = frame.data_ref() {
                        self.buffer.push_str(&String::from_utf8_lossy(bytes));
                    }
                }
                Ok(Some(Err(error))) => panic!("stream failed: {error}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_pushes_what_the_caller_may_see_and_resumes_after_the_last_event() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let before = raise_in(&platform, t.operator.id).await;
    let sector = person(&platform, &t.telecom, "telecom-analyst", Role::Analyst).await;
    let mut stream = SseReader::open(&platform, &sector.token, "/api/v1/alerts/stream", &[]).await;
    // A stream without Last-Event-ID starts now: the earlier alert is not replayed.
    let sibling = raise_in(&platform, t.bank.id).await;
    let own = raise_in(&platform, t.operator.id).await;
    let event = stream.next(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(event.event.as_deref(), Some("alert"));
    assert_eq!(event.data["change"], "opened");
    assert_eq!(
        event.data["alert"]["id"],
        own.to_string(),
        "the sibling's alert was not sent"
    );
    let first_id: u64 = event.id.clone().unwrap().parse().unwrap();
    assert_eq!(event.data["seq"], first_id);

    // Triage by someone else comes through as a change of the same alert.
    let nsoc = person(&platform, &platform.root, "nsoc", Role::Analyst).await;
    post(
        &platform,
        &nsoc,
        &format!("/api/v1/alerts/{own}/acknowledge"),
        None,
    )
    .await;
    let event = stream
        .next(Duration::from_secs(5))
        .await
        .expect("the triage");
    assert_eq!(event.data["change"], "triaged");
    assert_eq!(event.data["alert"]["status"], "acknowledged");
    let last_seen = event.id.clone().unwrap();
    drop(stream);

    // While disconnected: a fold, a comment, another tenant's alert.
    let own_rule = get(&platform, &nsoc, &format!("/api/v1/alerts/{own}"))
        .await
        .json["alert"]["rule"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    platform
        .app
        .alerts()
        .raise(vec![signal(t.operator.id, &own_rule, "again")])
        .await
        .unwrap();
    raise_in(&platform, t.banking.id).await;
    post(
        &platform,
        &nsoc,
        &format!("/api/v1/alerts/{before}/comments"),
        Some(json!({"body": "seen"})),
    )
    .await;

    // Reconnecting with Last-Event-ID gets exactly the missed changes it may see.
    let mut resumed = SseReader::open(
        &platform,
        &sector.token,
        "/api/v1/alerts/stream",
        &[("last-event-id", &last_seen)],
    )
    .await;
    let folded = resumed
        .next(Duration::from_secs(5))
        .await
        .expect("the fold");
    assert_eq!(folded.data["change"], "folded");
    assert_eq!(folded.data["alert"]["id"], own.to_string());
    assert_eq!(folded.data["alert"]["event_count"], 2);
    let commented = resumed
        .next(Duration::from_secs(5))
        .await
        .expect("the comment");
    assert_eq!(commented.data["change"], "commented");
    assert_eq!(commented.data["alert"]["id"], before.to_string());
    assert!(
        resumed.next(Duration::from_millis(1500)).await.is_none(),
        "nothing of the banking sector"
    );
    // `?after=` does the same for clients that cannot set headers.
    let mut from_query = SseReader::open(
        &platform,
        &sector.token,
        &format!("/api/v1/alerts/stream?after={first_id}"),
        &[],
    )
    .await;
    let event = from_query.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(event.data["change"], "triaged");
    let _ = sibling;

    // Bad resume points are refused before the stream starts.
    platform
        .send(
            call(Method::GET, "/api/v1/alerts/stream")
                .bearer(&sector.token)
                .header("last-event-id", "yesterday")
                .empty(),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_alerts_and_their_latency() {
    let platform = Platform::new().await;
    let t = tree(&platform).await;
    let mut first = signal(t.operator.id, "r", "e1");
    first.received_at = Timestamp::from_unix_micros(Timestamp::now().unix_micros() - 2_000_000);
    let repeat = signal(t.operator.id, "r", "e2");
    let outcome = platform
        .app
        .alerts()
        .raise(vec![first.clone(), repeat, first])
        .await
        .unwrap();
    assert_eq!(
        (outcome.opened, outcome.folded, outcome.duplicates),
        (1, 1, 1)
    );
    let text = platform
        .send(call(Method::GET, "/metrics").empty())
        .await
        .text;
    for expected in [
        "nigehban_alerts_opened_total 1",
        "nigehban_alert_signals_folded_total 1",
        "nigehban_alert_signals_duplicate_total 1",
        "nigehban_alert_signals_rejected_total 0",
        "nigehban_alert_raise_batches_total 1",
        "nigehban_alert_latency_seconds_count 2",
        // The first signal was received two seconds before it was stored.
        "nigehban_alert_latency_seconds_bucket{le=\"1.0\"} 1",
        "nigehban_alert_latency_seconds_bucket{le=\"2.5\"} 2",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}
