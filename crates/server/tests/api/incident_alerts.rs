//! Alerts to incidents through the real router, on SQLite and (with
//! `NIGEHBAN_TEST_POSTGRES_URL`) PostgreSQL: opening an incident from
//! alerts and linking more, the observables taken from them, the alerts
//! naming their incident, clear refusals (an unknown alert, another
//! tenant's alert: "not found"), similar incidents only among those the
//! caller may see, and a missed regulatory stage raising an alert (with the
//! injected clock).
//!
//! The parties are those of `incidents.rs`:
//!
//! ```text
//! national ─┬─ telecom ─── operator (unrelated to the banks)
//!           └─ banking ─┬─ bank
//!                       └─ sibling (another bank)
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use nigehban_app::model::{AlertId, AlertRule, AlertSignal, Severity, TenantId, Timestamp};
use serde_json::{Value, json};

use crate::harness::Answer;
use crate::incidents::IncidentPlatform;

/// An IP address all three organisations' alerts share.
const SHARED_IP: &str = "203.0.113.9";

const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Raises one alert in `tenant` with `fields` matched; returns its id.
async fn raise(platform: &IncidentPlatform, tenant: TenantId, fields: Value) -> AlertId {
    let unique = AlertId::new().to_string();
    let rule = AlertRule::new(
        format!("rule-{unique}"),
        "Outbound connection to a known C2 server",
        Severity::High,
    );
    let mut signal = AlertSignal::new(tenant, rule, &unique, Timestamp::now());
    signal.host = Some("ws-7.corp.example".into());
    signal.user = Some("CORP\\jdoe".into());
    signal.matched_fields = fields.as_object().unwrap().clone();
    let outcome = platform.app.alerts().raise(vec![signal]).await.unwrap();
    assert_eq!(outcome.opened, 1, "{outcome:?}");
    outcome.alerts[0].unwrap()
}

/// The `kind:value` observables of an incident answer.
fn observables(answer: &Answer) -> BTreeSet<String> {
    assert!(answer.status.is_success(), "{}", answer.text);
    answer.json["observables"]
        .as_array()
        .unwrap_or_else(|| panic!("no observables: {}", answer.text))
        .iter()
        .map(|o| {
            format!(
                "{}:{}",
                o["kind"].as_str().unwrap(),
                o["value"].as_str().unwrap()
            )
        })
        .collect()
}

/// The readable ids of a similar-incidents answer, each with the observables shared.
fn similar(answer: &Answer) -> BTreeSet<(String, BTreeSet<String>)> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["incident"]["readable_id"].as_str().unwrap().to_owned(),
                item["shared"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| {
                        format!(
                            "{}:{}",
                            o["kind"].as_str().unwrap(),
                            o["value"].as_str().unwrap()
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Opens an incident as `token`, owned by `owner`, from `alerts`.
async fn open_from(
    platform: &IncidentPlatform,
    token: &str,
    owner: TenantId,
    title: &str,
    alerts: &[AlertId],
) -> Answer {
    platform
        .json(
            token,
            Method::POST,
            "/api/v1/incidents",
            "/api/v1/incidents",
            json!({
                "owner": owner,
                "title": title,
                "classification": {"class": "intrusions", "type": "system-compromise"},
                "severity": "high",
                "alerts": alerts,
            }),
        )
        .await
}

async fn link(platform: &IncidentPlatform, token: &str, incident: &str, alerts: Value) -> Answer {
    platform
        .json(
            token,
            Method::POST,
            "/api/v1/incidents/{id}/alerts",
            &format!("/api/v1/incidents/{incident}/alerts"),
            json!({ "alerts": alerts }),
        )
        .await
}

async fn similar_of(platform: &IncidentPlatform, token: &str, incident: &str) -> Answer {
    platform
        .get(
            token,
            "/api/v1/incidents/{id}/similar",
            &format!("/api/v1/incidents/{incident}/similar"),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_become_incidents_and_similar_ones_stay_within_sight_on_sqlite() {
    let platform = IncidentPlatform::sqlite().await;
    alerts_to_incidents(&platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_become_incidents_and_similar_ones_stay_within_sight_on_postgresql() {
    let Some(platform) = IncidentPlatform::postgres().await else {
        return;
    };
    alerts_to_incidents(&platform).await;
}

/// The whole alert-to-incident story on one platform (also run by
/// `incidents.rs::every_incident_operation_is_exercised`).
pub async fn alerts_to_incidents(platform: &IncidentPlatform) {
    let p = &platform.parties;
    let bank_first = raise(
        platform,
        p.bank.id,
        json!({
            "DestinationIp": SHARED_IP,
            "Hashes": format!("SHA256={},IMPHASH=00", SHA256.to_uppercase()),
            "TargetUserName": "svc-backup",
        }),
    )
    .await;
    let bank_second = raise(
        platform,
        p.bank.id,
        json!({"QueryName": "c2.evil.example", "DestinationIp": "198.51.100.77"}),
    )
    .await;
    let sibling_alert = raise(platform, p.sibling.id, json!({"DestinationIp": SHARED_IP})).await;
    let operator_alert = raise(platform, p.operator.id, json!({"DestinationIp": SHARED_IP})).await;

    // The bank's analyst opens an incident from its alert: the alert's observables are the incident's.
    let opened = open_from(
        platform,
        &p.bank_analyst,
        p.bank.id,
        "C2 beacon",
        &[bank_first],
    )
    .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let incident = opened.json["id"].as_str().unwrap().to_owned();
    let readable = opened.json["readable_id"].as_str().unwrap().to_owned();
    let expected: BTreeSet<String> = [
        format!("ipv4:{SHARED_IP}"),
        format!("sha256:{SHA256}"),
        "user:svc-backup".to_owned(),
        "user:corp\\jdoe".to_owned(),
        "domain:ws-7.corp.example".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(observables(&opened), expected);
    assert_eq!(
        opened.json["linked_alerts"],
        json!([bank_first.to_string()])
    );

    // The alert names its incident, for everyone who sees the alert.
    for token in [&p.bank_analyst, &p.banking_analyst, &p.national_analyst] {
        let alert = platform
            .get(
                token,
                "/api/v1/alerts/{id}",
                &format!("/api/v1/alerts/{bank_first}"),
            )
            .await;
        assert_eq!(alert.status, StatusCode::OK, "{}", alert.text);
        assert_eq!(
            alert.json["alert"]["incident"],
            json!(incident),
            "{}",
            platform_who(platform, token)
        );
    }

    // Linking a second alert adds its observables; the timeline records both links.
    let linked = link(platform, &p.bank_analyst, &incident, json!([bank_second])).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.text);
    let now_holds = observables(&linked);
    assert!(
        now_holds.contains("domain:c2.evil.example"),
        "{now_holds:?}"
    );
    assert!(now_holds.contains("ipv4:198.51.100.77"), "{now_holds:?}");
    assert_eq!(
        linked.json["linked_alerts"],
        json!([bank_first.to_string(), bank_second.to_string()])
    );
    let timeline = platform
        .get(
            &p.bank_analyst,
            "/api/v1/incidents/{id}/timeline",
            &format!("/api/v1/incidents/{incident}/timeline"),
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    let linked_entries: BTreeSet<String> = timeline.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "alert_linked")
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(linked_entries.len(), 2, "{}", timeline.text);

    // Bad input, each with a clear answer.
    let unknown = AlertId::new();
    let answer = link(platform, &p.bank_analyst, &incident, json!([unknown])).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert!(
        answer.text.contains(&unknown.to_string()),
        "{}",
        answer.text
    );
    // Another tenant's alert is "not found" to the bank, never "forbidden".
    let answer = link(platform, &p.bank_analyst, &incident, json!([sibling_alert])).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(answer.json["error"]["code"], "not_found", "{}", answer.text);
    // The banking CERT sees the sibling's alert, but it is outside this incident's custody.
    let answer = link(
        platform,
        &p.banking_analyst,
        &incident,
        json!([sibling_alert]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    assert!(answer.text.contains("custody"), "{}", answer.text);
    // An alert belongs to one incident.
    let answer = open_from(platform, &p.bank_analyst, p.bank.id, "again", &[bank_first]).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text);
    assert!(answer.text.contains(&readable), "{}", answer.text);
    let answer = link(platform, &p.bank_analyst, &incident, json!([])).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let answer = link(platform, &p.bank_analyst, &incident, json!(["not-an-id"])).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    // Neither a reporter nor an unrelated analyst may link.
    let answer = link(platform, &p.bank_reporter, &incident, json!([bank_second])).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let answer = link(
        platform,
        &p.operator_analyst,
        &incident,
        json!([operator_alert]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);

    // Incidents of the sibling bank (opened by the banking CERT) and of the
    // operator share the address; neither is the bank's to see.
    let sibling_incident = open_from(
        platform,
        &p.banking_analyst,
        p.sibling.id,
        "Sibling C2",
        &[sibling_alert],
    )
    .await;
    assert_eq!(
        sibling_incident.status,
        StatusCode::CREATED,
        "{}",
        sibling_incident.text
    );
    let sibling_readable = sibling_incident.json["readable_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let operator_incident = open_from(
        platform,
        &p.operator_analyst,
        p.operator.id,
        "Operator C2",
        &[operator_alert],
    )
    .await;
    assert_eq!(
        operator_incident.status,
        StatusCode::CREATED,
        "{}",
        operator_incident.text
    );
    let operator_readable = operator_incident.json["readable_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shared_ip = BTreeSet::from([format!("ipv4:{SHARED_IP}")]);
    // The other organisations' alerts came from a host and user of the same names.
    let shared_alert: BTreeSet<String> = [
        format!("ipv4:{SHARED_IP}"),
        "user:corp\\jdoe".to_owned(),
        "domain:ws-7.corp.example".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        similar(&similar_of(platform, &p.bank_analyst, &incident).await),
        BTreeSet::new(),
        "the bank must not be told of the sibling's or the operator's incident"
    );
    // A second incident of the bank's own with the address is suggested, with what it shares.
    let own_second = platform
        .json(
            &p.bank_analyst,
            Method::POST,
            "/api/v1/incidents",
            "/api/v1/incidents",
            json!({
                "title": "Second beacon",
                "description": format!("beacon to {SHARED_IP} again"),
                "classification": {"class": "intrusions", "type": "system-compromise"},
                "severity": "medium",
            }),
        )
        .await;
    assert_eq!(
        own_second.status,
        StatusCode::CREATED,
        "{}",
        own_second.text
    );
    let own_readable = own_second.json["readable_id"].as_str().unwrap().to_owned();
    assert_eq!(
        similar(&similar_of(platform, &p.bank_analyst, &incident).await),
        BTreeSet::from([(own_readable.clone(), shared_ip.clone())])
    );
    // The banking CERT sees both banks' incidents, not the operator's.
    assert_eq!(
        similar(&similar_of(platform, &p.banking_analyst, &incident).await),
        BTreeSet::from([
            (own_readable.clone(), shared_ip.clone()),
            (sibling_readable.clone(), shared_alert.clone()),
        ])
    );
    // The national CERT sees them all.
    assert_eq!(
        similar(&similar_of(platform, &p.national_analyst, &incident).await),
        BTreeSet::from([
            (own_readable.clone(), shared_ip.clone()),
            (sibling_readable.clone(), shared_alert.clone()),
            (operator_readable.clone(), shared_alert.clone()),
        ])
    );
    // The operator sees neither the bank's incident nor, from its own, the banks'.
    let answer = similar_of(platform, &p.operator_analyst, &incident).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    let operator_id = operator_incident.json["id"].as_str().unwrap();
    assert_eq!(
        similar(&similar_of(platform, &p.operator_analyst, operator_id).await),
        BTreeSet::new()
    );
    // Council members and administrators see no incident at all.
    for token in [&p.council, &p.admin] {
        let answer = similar_of(platform, token, &incident).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    }
    let answer = platform
        .get(
            &p.bank_analyst,
            "/api/v1/incidents/{id}/similar",
            &format!("/api/v1/incidents/{incident}/similar?limit=0"),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );

    // Merging moves the alerts: they name the incident merged into.
    let into = own_second.json["id"].as_str().unwrap().to_owned();
    let merged = platform
        .json(
            &p.bank_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/merge",
            &format!("/api/v1/incidents/{incident}/merge"),
            json!({ "into": into }),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(
        merged.json["linked_alerts"],
        json!([bank_first.to_string(), bank_second.to_string()])
    );
    for alert in [bank_first, bank_second] {
        let answer = platform
            .get(
                &p.bank_analyst,
                "/api/v1/alerts/{id}",
                &format!("/api/v1/alerts/{alert}"),
            )
            .await;
        assert_eq!(
            answer.json["alert"]["incident"],
            json!(into),
            "{}",
            answer.text
        );
    }
}

fn platform_who(platform: &IncidentPlatform, token: &str) -> String {
    let p = &platform.parties;
    if token == p.bank_analyst {
        "bank analyst".into()
    } else if token == p.banking_analyst {
        "banking analyst".into()
    } else {
        "national analyst".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_reporting_stage_raises_an_alert_on_sqlite() {
    let platform = IncidentPlatform::sqlite().await;
    missed_stage_raises_an_alert(&platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_reporting_stage_raises_an_alert_on_postgresql() {
    let Some(platform) = IncidentPlatform::postgres().await else {
        return;
    };
    missed_stage_raises_an_alert(&platform).await;
}

/// The deadline alerts in the alert list of `token`: (rule id, readable id, stage, severity, tenant).
async fn deadline_alerts(
    platform: &IncidentPlatform,
    token: &str,
) -> BTreeSet<(String, String, String, String, String)> {
    let answer = platform
        .get(token, "/api/v1/alerts", "/api/v1/alerts?limit=1000")
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "deadline")
        .map(|a| {
            (
                a["rule"]["id"].as_str().unwrap().to_owned(),
                a["matched_fields"]["incident.readable_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                a["matched_fields"]["deadline.stage"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                a["severity"].as_str().unwrap().to_owned(),
                a["tenant"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn missed_stage_raises_an_alert(platform: &IncidentPlatform) {
    let p = &platform.parties;
    // The banking CERT opens an incident of the bank: the banking profile's clocks start now.
    let opened = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/incidents",
            "/api/v1/incidents",
            json!({
                "owner": p.bank.id,
                "title": "Card data exfiltration",
                "classification": {"class": "information-content-security", "type": "unauthorised-information-access"},
                "severity": "critical",
            }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let readable = opened.json["readable_id"].as_str().unwrap().to_owned();
    let stages = opened.json["regulatory"]["stages"]
        .as_array()
        .unwrap_or_else(|| panic!("no regulatory clocks: {}", opened.text));
    let first = stages[0]["stage"].as_str().unwrap().to_owned();
    let first_due = Timestamp::parse_rfc3339(stages[0]["due_at"].as_str().unwrap()).unwrap();

    // Nothing lapsed yet: no alert.
    platform.app.incidents().check_deadlines().await.unwrap();
    assert!(
        deadline_alerts(platform, &p.bank_analyst)
            .await
            .iter()
            .all(|a| a.0 != nigehban_app::incidents::DEADLINE_MISSED_RULE),
    );

    // The first stage lapses unsubmitted: its alert is in the bank's queue and above.
    let after_due = first_due.unix_micros() - platform.app.clock().now().unix_micros() + 60_000_000;
    platform
        .clock
        .advance(Duration::from_micros(u64::try_from(after_due).unwrap()));
    platform.app.incidents().check_deadlines().await.unwrap();
    platform.app.incidents().check_deadlines().await.unwrap();
    let missed = (
        nigehban_app::incidents::DEADLINE_MISSED_RULE.to_owned(),
        readable.clone(),
        first.clone(),
        "critical".to_owned(),
        p.bank.id.to_string(),
    );
    for token in [&p.bank_analyst, &p.banking_analyst, &p.national_analyst] {
        let alerts = deadline_alerts(platform, token).await;
        let missed_alerts: Vec<_> = alerts
            .iter()
            .filter(|a| a.0 == nigehban_app::incidents::DEADLINE_MISSED_RULE)
            .collect();
        assert_eq!(
            missed_alerts,
            vec![&missed],
            "{}",
            platform_who(platform, token)
        );
    }
    // Nobody beside or outside the bank's line sees it; reporters see no alerts at all.
    assert_eq!(
        deadline_alerts(platform, &p.operator_analyst).await,
        BTreeSet::new()
    );
    assert_eq!(
        deadline_alerts(platform, &p.telecom_analyst).await,
        BTreeSet::new()
    );
    let answer = platform
        .get(&p.bank_reporter, "/api/v1/alerts", "/api/v1/alerts")
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
}
