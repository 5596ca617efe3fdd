//! Detection rules per tenant through the API, with live detection running
//! on the platform's stored rules: import, per-tenant enable and disable
//! (inherited down the tree), Sigma filters, hot reload while events flow,
//! and trials of a rule on stored events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector, Tenant};
use serde_json::{Value, json};

use crate::harness::{Credentials, Platform, call};

const RULE_ID: &str = "5f0c5a2e-3b4f-4a51-9a43-1c9a2d7e0b11";

/// Failed Windows logons (4625): the rule the tests tune.
fn rule_yaml() -> String {
    format!(
        "title: Failed logon\nid: {RULE_ID}\nstatus: test\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\nlevel: medium\n"
    )
}

/// A filter that keeps the rule quiet for the service account `svc-backup`.
fn filter_yaml() -> String {
    format!(
        "title: Backup service logons are expected\nlogsource:\n    product: windows\n    service: security\nfilter:\n    rules:\n        - {RULE_ID}\n    selection:\n        TargetUserName: svc-backup\n    condition: not selection\n"
    )
}

/// One failed logon of `user` on `host`, now, as the `evtx` crate renders it.
fn failed_logon(host: &str, user: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": 4625,
            "Channel": "Security",
            "Computer": host,
            "TimeCreated": {"#attributes": {"SystemTime": now}},
        },
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.7"},
    }})
    .to_string()
}

/// The tenants of the tests: national → telecom → org A → A's branch, telecom
/// → org B; national → banking → org C. Each organisation has a sensor.
struct Tree {
    telecom: Tenant,
    org_a: Tenant,
    branch: Tenant,
    org_b: Tenant,
    org_c: Tenant,
    sensors: BTreeMap<String, String>,
}

async fn tree(platform: &Platform) -> Tree {
    let telecom = platform.sector("CERT Telecom", Sector::Telecom).await;
    let banking = platform.sector("CERT Banking", Sector::Banking).await;
    let org_a = platform.organisation(&telecom, "Operator A").await;
    let branch = platform.organisation(&org_a, "Operator A branch").await;
    let org_b = platform.organisation(&telecom, "Operator B").await;
    let org_c = platform.organisation(&banking, "Bank C").await;
    let mut sensors = BTreeMap::new();
    for org in [&org_a, &branch, &org_b, &org_c] {
        let issued = platform.sensor(org).await;
        sensors.insert(org.id.to_string(), issued.secret.expose().to_owned());
    }
    Tree {
        telecom,
        org_a,
        branch,
        org_b,
        org_c,
        sensors,
    }
}

async fn person(platform: &Platform, tenant: &Tenant, name: &str, role: Role) -> Credentials {
    platform.user(tenant, name, role).await;
    platform.sign_in(name).await
}

async fn send_events(platform: &Platform, sensor_secret: &str, lines: &[String]) {
    let mut body = lines.join("\n");
    body.push('\n');
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor_secret)
                .raw("application/x-ndjson", body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], lines.len(), "{}", answer.text);
}

/// Every alert of the rule the caller sees: tenant → users whose events raised it (with counts).
async fn alerts_by_tenant(
    platform: &Platform,
    token: &str,
) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/alerts?limit=1000&rule={RULE_ID}&cursor={c}"),
            None => format!("/api/v1/alerts?limit=1000&rule={RULE_ID}"),
        };
        let page = platform
            .send(call(Method::GET, &path).bearer(token).empty())
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for alert in page.json["items"].as_array().unwrap() {
            let user = alert["user"].as_str().unwrap_or("").to_owned();
            *out.entry(alert["tenant"].as_str().unwrap().to_owned())
                .or_default()
                .entry(user)
                .or_default() += alert["event_count"].as_u64().unwrap();
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

/// Waits until live detection uses the store's current rules revision; the
/// promise is 5 seconds.
async fn wait_rules_in_use(platform: &Platform) -> Duration {
    let started = Instant::now();
    let telemetry = platform.telemetry.as_ref().unwrap();
    loop {
        let stored = platform.app.rules().revision().await.unwrap();
        if telemetry.detection_rules_revision() == Some(stored) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "live detection did not take rules revision {stored} within 5 s (in use: {:?})",
            telemetry.detection_rules_revision()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `check` holds for the alerts the caller sees.
async fn alerts_until(
    platform: &Platform,
    token: &str,
    what: &str,
    check: impl Fn(&BTreeMap<String, BTreeMap<String, u64>>) -> bool,
) -> BTreeMap<String, BTreeMap<String, u64>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = alerts_by_tenant(platform, token).await;
        if check(&alerts) {
            return alerts;
        }
        assert!(Instant::now() < deadline, "{what}: alerts are {alerts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(alerts: &BTreeMap<String, BTreeMap<String, u64>>, tenant: &Tenant, user: &str) -> u64 {
    alerts
        .get(&tenant.id.to_string())
        .and_then(|users| users.get(user))
        .copied()
        .unwrap_or(0)
}

async fn import(platform: &Platform, admin: &Credentials, yaml: &str, query: &str) -> Value {
    let answer = platform
        .send(
            call(Method::POST, &format!("/api/v1/rules/import{query}"))
                .bearer(&admin.token)
                .raw("application/yaml", yaml.to_owned()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json
}

/// Sends one failed logon of `user` from every organisation's sensor.
async fn round(platform: &Platform, tree: &Tree, user: &str) {
    for org in [&tree.org_a, &tree.branch, &tree.org_b, &tree.org_c] {
        let secret = &tree.sensors[&org.id.to_string()];
        send_events(platform, secret, &[failed_logon("ws-1", user)]).await;
    }
}

/// Issue 9's promise: disabling a rule for one organisation, or adding a
/// filter for it, changes that organisation's and its descendants' alerts only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_rule_or_adding_a_filter_changes_only_that_subtrees_alerts() {
    let platform = Platform::with_live_detection().await;
    let tree = tree(&platform).await;
    let admin = platform.sign_in("admin").await;
    let watch = person(
        &platform,
        &platform.root.clone(),
        "national-analyst",
        Role::Analyst,
    )
    .await;
    let telecom_admin = person(
        &platform,
        &tree.telecom,
        "telecom-admin",
        Role::Administrator,
    )
    .await;
    let report = import(&platform, &admin, &rule_yaml(), "").await;
    assert_eq!(report["added"], 1, "{report}");
    wait_rules_in_use(&platform).await;

    // 1. Every organisation raises.
    round(&platform, &tree, "alice").await;
    let all = [&tree.org_a, &tree.branch, &tree.org_b, &tree.org_c];
    alerts_until(&platform, &watch.token, "every organisation raises", |a| {
        all.iter().all(|org| count(a, org, "alice") == 1)
    })
    .await;

    // 2. Disabled for org A (by its sector's administrator): A and its branch go quiet.
    let answer = platform
        .send(
            call(
                Method::PUT,
                &format!("/api/v1/rules/{RULE_ID}/tenants/{}", tree.org_a.id),
            )
            .bearer(&telecom_admin.token)
            .json(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["enabled"], false);
    assert_eq!(answer.json["decided_by"], tree.org_a.id.to_string());
    // The branch inherits.
    let branch_state = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/rules/{RULE_ID}?tenant={}", tree.branch.id),
            )
            .bearer(&watch.token)
            .empty(),
        )
        .await;
    assert_eq!(branch_state.json["enabled"], false, "{}", branch_state.text);
    assert_eq!(branch_state.json["platform_enabled"], true);
    wait_rules_in_use(&platform).await;
    round(&platform, &tree, "bob").await;
    let after = alerts_until(&platform, &watch.token, "B and C raise for bob", |a| {
        count(a, &tree.org_b, "bob") == 1 && count(a, &tree.org_c, "bob") == 1
    })
    .await;
    // B's and C's were raised after A's and the branch's were matched (same
    // batch or later), so their absence is the rule's doing.
    assert_eq!(count(&after, &tree.org_a, "bob"), 0, "{after:?}");
    assert_eq!(count(&after, &tree.branch, "bob"), 0, "{after:?}");

    // 3. A filter for telecom (B's sector) drops svc-backup's logons in the
    // telecom subtree only; other users still raise there.
    let added = platform
        .send(
            call(Method::POST, "/api/v1/rules/filters")
                .bearer(&telecom_admin.token)
                .json(&json!({"yaml": filter_yaml()})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.json["tenant"], tree.telecom.id.to_string());
    assert_eq!(added.json["rules"], json!([RULE_ID]));
    let filter_id = added.json["id"].as_str().unwrap().to_owned();
    wait_rules_in_use(&platform).await;
    round(&platform, &tree, "svc-backup").await;
    round(&platform, &tree, "carol").await;
    let filtered = alerts_until(
        &platform,
        &watch.token,
        "C raises for both, B for carol",
        |a| {
            count(a, &tree.org_c, "svc-backup") == 1
                && count(a, &tree.org_c, "carol") == 1
                && count(a, &tree.org_b, "carol") == 1
        },
    )
    .await;
    assert_eq!(
        count(&filtered, &tree.org_b, "svc-backup"),
        0,
        "{filtered:?}"
    );
    for quiet in [&tree.org_a, &tree.branch] {
        assert_eq!(count(&filtered, quiet, "svc-backup"), 0, "{filtered:?}");
        assert_eq!(count(&filtered, quiet, "carol"), 0, "{filtered:?}");
    }

    // 4. A inherits again (its override removed), and the filter goes: all raise again.
    let inherited = platform
        .send(
            call(
                Method::DELETE,
                &format!("/api/v1/rules/{RULE_ID}/tenants/{}", tree.org_a.id),
            )
            .bearer(&telecom_admin.token)
            .empty(),
        )
        .await;
    assert_eq!(inherited.status, StatusCode::OK, "{}", inherited.text);
    assert_eq!(inherited.json["enabled"], true);
    assert_eq!(inherited.json["decided_by"], Value::Null);
    let removed = platform
        .send(
            call(
                Method::DELETE,
                &format!("/api/v1/rules/filters/{filter_id}"),
            )
            .bearer(&telecom_admin.token)
            .empty(),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    wait_rules_in_use(&platform).await;
    round(&platform, &tree, "svc-backup").await;
    alerts_until(
        &platform,
        &watch.token,
        "every organisation raises again",
        |a| {
            [&tree.org_a, &tree.branch, &tree.org_b]
                .iter()
                .all(|org| count(a, org, "svc-backup") == 1)
                && count(a, &tree.org_c, "svc-backup") == 2
        },
    )
    .await;

    // Every change was audited.
    let audit = platform
        .send(
            call(Method::GET, "/api/v1/audit?limit=1000")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("rule."))
        .collect();
    assert_eq!(
        actions,
        [
            "rule.import",
            "rule.override",
            "rule.filter_add",
            "rule.inherit",
            "rule.filter_remove"
        ]
    );
}

/// A rule change takes effect within 5 seconds while events flow: every
/// event sent before the change raises, every event sent once the change is
/// in use follows the new state, and the organisation whose rule did not
/// change misses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_takes_effect_within_five_seconds_and_no_event_is_missed() {
    let platform = Arc::new(Platform::with_live_detection().await);
    let tree = tree(&platform).await;
    let admin = platform.sign_in("admin").await;
    let watch = person(
        &platform,
        &platform.root.clone(),
        "national-analyst",
        Role::Analyst,
    )
    .await;
    import(&platform, &admin, &rule_yaml(), "").await;
    wait_rules_in_use(&platform).await;

    // One event every 40 ms to A and to B, each with its own user (so its own alert).
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<std::sync::Mutex<Vec<(Instant, String)>>> = Arc::default();
    let sender = {
        let (platform, stop, sent) = (Arc::clone(&platform), Arc::clone(&stop), Arc::clone(&sent));
        let (a, b) = (
            tree.sensors[&tree.org_a.id.to_string()].clone(),
            tree.sensors[&tree.org_b.id.to_string()].clone(),
        );
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let user = format!("user-{n:04}");
                let before = Instant::now();
                send_events(&platform, &a, &[failed_logon("ws-1", &user)]).await;
                send_events(&platform, &b, &[failed_logon("ws-1", &user)]).await;
                sent.lock().unwrap().push((before, user));
                n += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Events sent so far are matched before the change is asked for: B's
    // alert for a user means A's event of that user (sent just before it)
    // was matched too.
    let cutoff = Instant::now();
    let before: BTreeSet<String> = sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < cutoff)
        .map(|(_, u)| u.clone())
        .collect();
    alerts_until(
        &platform,
        &watch.token,
        "B raises for the events before the change",
        |a| {
            a.get(&tree.org_b.id.to_string())
                .is_some_and(|users| before.iter().all(|u| users.contains_key(u)))
        },
    )
    .await;
    let answer = platform
        .send(
            call(
                Method::PUT,
                &format!("/api/v1/rules/{RULE_ID}/tenants/{}", tree.org_a.id),
            )
            .bearer(&admin.token)
            .json(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let took = wait_rules_in_use(&platform).await;
    let in_use = Instant::now();
    assert!(took <= Duration::from_secs(5), "took {took:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.unwrap();
    let sent = sent.lock().unwrap().clone();
    // Sent wholly after the new rules were in use (the send began after).
    let after: BTreeSet<String> = sent
        .iter()
        .filter(|(at, _)| *at > in_use)
        .map(|(_, u)| u.clone())
        .collect();
    let everyone: BTreeSet<String> = sent.iter().map(|(_, u)| u.clone()).collect();
    assert!(
        before.len() >= 10 && after.len() >= 10,
        "{} before, {} after",
        before.len(),
        after.len()
    );
    let alerts = alerts_until(&platform, &watch.token, "B raises for every event", |a| {
        a.get(&tree.org_b.id.to_string())
            .is_some_and(|users| users.len() == everyone.len())
    })
    .await;
    let b_users: BTreeSet<String> = alerts[&tree.org_b.id.to_string()].keys().cloned().collect();
    assert_eq!(b_users, everyone, "B missed events");
    assert!(alerts[&tree.org_b.id.to_string()].values().all(|n| *n == 1));
    let a_users: BTreeSet<String> = alerts
        .get(&tree.org_a.id.to_string())
        .map(|users| users.keys().cloned().collect())
        .unwrap_or_default();
    let missing: Vec<&String> = before.difference(&a_users).collect();
    assert!(
        missing.is_empty(),
        "A's events before the change that raised nothing: {missing:?}"
    );
    let late: Vec<&String> = after.intersection(&a_users).collect();
    assert!(
        late.is_empty(),
        "A's events after the change that still raised: {late:?}"
    );
}

/// `POST /api/v1/rules/test` shows what a rule or filter would have raised
/// on the stored events the caller may see, and nothing of other tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_trial_shows_what_it_would_raise_on_the_callers_events_only() {
    let platform = Platform::new().await;
    let tree = tree(&platform).await;
    let admin = platform.sign_in("admin").await;
    let a_analyst = person(&platform, &tree.org_a, "a-analyst", Role::Analyst).await;
    let national = person(
        &platform,
        &platform.root.clone(),
        "n-analyst",
        Role::Analyst,
    )
    .await;
    // Stored disabled: a trial is for before it is enabled.
    let report = import(&platform, &admin, &rule_yaml(), "?enabled=false").await;
    assert_eq!(
        (report["added"].as_u64(), report["enabled"].as_bool()),
        (Some(1), Some(false))
    );
    let a = &tree.sensors[&tree.org_a.id.to_string()];
    let b = &tree.sensors[&tree.org_b.id.to_string()];
    let branch = &tree.sensors[&tree.branch.id.to_string()];
    send_events(
        &platform,
        a,
        &[
            failed_logon("ws-1", "alice"),
            failed_logon("ws-1", "svc-backup"),
        ],
    )
    .await;
    send_events(&platform, branch, &[failed_logon("ws-9", "dave")]).await;
    send_events(
        &platform,
        b,
        &[failed_logon("ws-2", "bob"), failed_logon("ws-2", "erin")],
    )
    .await;
    // Wait until search holds all five.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = platform
            .send(
                call(Method::GET, "/api/v1/events?limit=100")
                    .bearer(&national.token)
                    .empty(),
            )
            .await;
        if found.json["items"]
            .as_array()
            .is_some_and(|items| items.len() == 5)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "events not indexed: {}",
            found.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trial = |token: String, body: Value| {
        let platform = &platform;
        async move {
            platform
                .send(
                    call(Method::POST, "/api/v1/rules/test")
                        .bearer(&token)
                        .json(&body),
                )
                .await
        }
    };
    // The rule's text, as org A's analyst: A's and its branch's events only.
    let answer = trial(
        a_analyst.token.clone(),
        json!({"yaml": rule_yaml(), "hours": 1}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["events_examined"], 3, "{}", answer.text);
    assert_eq!(answer.json["count"], 3);
    let tenants: BTreeSet<&str> = answer.json["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tenant"].as_str().unwrap())
        .collect();
    let org_a = tree.org_a.id.to_string();
    let branch_id = tree.branch.id.to_string();
    assert_eq!(
        tenants,
        BTreeSet::from([org_a.as_str(), branch_id.as_str()])
    );
    let users: BTreeSet<&str> = answer.json["detections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["matched"].as_array().unwrap())
        .filter(|m| m["field"] == "EventID")
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(users, BTreeSet::from(["4625"]));
    // By stored id, as the national analyst: all five.
    let answer = trial(
        national.token.clone(),
        json!({"rule_id": RULE_ID, "hours": 1}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["count"], 5, "{}", answer.text);
    // A filter, tried with the rule it names: svc-backup's logon drops out.
    let answer = trial(
        a_analyst.token.clone(),
        json!({"yaml": filter_yaml(), "hours": 1}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["count"], 2, "{}", answer.text);
    // Another tenant's events are not the caller's to try on.
    let answer = trial(
        a_analyst.token.clone(),
        json!({"yaml": rule_yaml(), "hours": 1, "tenant": tree.org_b.id}),
    )
    .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    // A broken rule is refused with where it is broken.
    let answer = trial(
        a_analyst.token.clone(),
        json!({"yaml": "title: x\nid: 1\nlogsource:\n    product: windows\ndetection:\n    sel:\n        EventID|bogus: 1\n    condition: sel\n", "hours": 1}),
    )
    .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(answer.text.contains("yaml:"), "{}", answer.text);
    let answer = trial(
        a_analyst.token.clone(),
        json!({"rule_id": RULE_ID, "hours": 0}),
    )
    .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
}

/// An import keeps the good documents and names the broken one with its
/// file and line; a SigmaHQ archive from the corpus imports whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_keeps_good_rules_and_reports_broken_ones_by_place() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let broken = "title: Broken rule\nid: 0b0b0b0b-0000-4000-8000-000000000001\nlogsource:\n    product: windows\ndetection:\n    sel:\n        EventID|bogus: 1\n    condition: sel\n";
    let stream = format!("{}---\n{broken}", rule_yaml());
    let report = import(&platform, &admin, &stream, "?name=pack.yml").await;
    assert_eq!(report["added"], 1, "{report}");
    assert_eq!(report["broken"], 1, "{report}");
    let texts: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("pack.yml:") && t.contains("Broken rule")),
        "{texts:?}"
    );
    assert_eq!(
        report["files"],
        json!([{"file": "pack.yml", "rules": 1, "broken": 1}])
    );
    // Stored with its own text only.
    let rule = platform
        .send(
            call(Method::GET, &format!("/api/v1/rules/{RULE_ID}"))
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(rule.status, StatusCode::OK, "{}", rule.text);
    assert_eq!(rule.json["text"], rule_yaml());
    assert_eq!(rule.json["origin"], "imported");
    let missing = platform
        .send(
            call(
                Method::GET,
                "/api/v1/rules/0b0b0b0b-0000-4000-8000-000000000001",
            )
            .bearer(&admin.token)
            .empty(),
        )
        .await;
    missing.assert_error(StatusCode::NOT_FOUND, "not_found");

    // A SigmaHQ release as a .tar.gz built from the corpus.
    let Some(corpus) = nigehban_testkit::corpus_with("sigma/rules/rules") else {
        return;
    };
    let dir = corpus.join("sigma/rules/rules/windows/builtin/security");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    tar.append_dir_all("rules/windows/builtin/security", &dir)
        .unwrap();
    let archive = tar.into_inner().unwrap().finish().unwrap();
    let mut files = 0;
    let mut stack = vec![dir.clone()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "yml") {
                files += 1;
            }
        }
    }
    assert!(files >= 20, "{files} SigmaHQ rules in {}", dir.display());
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/rules/import?name=sigma.tar.gz")
                .bearer(&admin.token)
                .raw("application/gzip", archive),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let report = answer.json;
    let stored = report["added"].as_u64().unwrap() + report["replaced"].as_u64().unwrap();
    assert_eq!(
        stored as usize + report["broken"].as_u64().unwrap() as usize,
        files,
        "{report}"
    );
    assert!(stored as usize >= files * 9 / 10, "{report}");
    let listed = platform
        .send(
            call(Method::GET, "/api/v1/rules?limit=1000&kind=rule")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(
        listed.json["items"].as_array().unwrap().len() as u64,
        stored + 1
    );
    assert!(
        listed.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source_name"]
                .as_str()
                .unwrap()
                .starts_with("sigma.tar.gz!rules/windows/builtin/security/")),
        "{}",
        listed.text
    );
}
