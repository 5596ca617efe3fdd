//! Alerts' part of the conformance suite: raising (folding, redeliveries,
//! windows), listing, triage and comments (audited), and the change feed,
//! on every backend.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use nigehban_model::{
    Alert, AlertChangeKind, AlertComment, AlertCommentId, AlertId, AlertRule, AlertSignal,
    AlertStatus, AlertText, AlertTriage, AuditEntry, ReopenAs, Resolution, SensorId, Severity,
    SignalFate, TenantId, Timestamp, UserId,
};
use nigehban_store::{
    AlertQuery, AlertRaise, AlertScope, AuditQuery, PageRequest, Store, StoreError,
};

use crate::harness::{TestBackend, ctx, tree};

const HOUR: Duration = Duration::from_secs(3600);

/// A fixed point in time, plus `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_750_000_000_000_000 + seconds * 1_000_000)
}

fn rule(id: &str, level: Severity) -> AlertRule {
    let mut rule = AlertRule::new(id, format!("Rule {id}"), level);
    rule.author = Some("Nigehban tests".into());
    rule.references = vec!["https://attack.mitre.org/techniques/T1110/".into()];
    rule.tags = vec!["attack.credential_access".into(), "attack.t1110.001".into()];
    rule
}

/// A signal of `rule` on `tenant` for event `event` at `seconds`, host web-1 and user alice.
fn signal(tenant: TenantId, rule_id: &str, event: &str, seconds: i64) -> AlertSignal {
    let mut signal = AlertSignal::new(tenant, rule(rule_id, Severity::High), event, at(seconds));
    signal.host = Some("web-1".into());
    signal.user = Some("alice".into());
    signal
        .matched_fields
        .insert("EventID".into(), serde_json::json!(4625));
    signal
}

async fn raise(store: &dyn Store, signals: Vec<AlertSignal>) -> Vec<SignalFate> {
    store
        .raise_alerts(&AlertRaise {
            signals,
            window: HOUR,
            at: Timestamp::now(),
        })
        .await
        .unwrap()
}

fn opened(fate: &SignalFate) -> AlertId {
    match fate {
        SignalFate::Opened(id) => *id,
        other => panic!("expected an opened alert, got {other:?}"),
    }
}

async fn list(store: &dyn Store, query: &AlertQuery) -> Vec<Alert> {
    store
        .list_alerts(query, &PageRequest::first(1000))
        .await
        .unwrap()
        .items
}

fn ids(alerts: &[Alert]) -> Vec<AlertId> {
    alerts.iter().map(|a| a.id).collect()
}

async fn all_changes(store: &dyn Store) -> Vec<(AlertId, AlertChangeKind)> {
    store
        .alert_changes(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.alert, c.kind))
        .collect()
}

async fn all_audit(store: &dyn Store) -> Vec<AuditEntry> {
    store
        .list_audit(AuditQuery::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
}

pub(crate) async fn raised_signals_fold_by_rule_and_key(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let audit_before = store.audit_head().await.unwrap().seq;
    let sensor = SensorId::new();
    let mut first = signal(tree.operator.id, "brute-force", "e1", 0);
    first.sensor = Some(sensor);
    let mut other_host = signal(tree.operator.id, "brute-force", "e3", 20);
    other_host.host = Some("web-2".into());
    let mut same_host_other_case = signal(tree.operator.id, "brute-force", "e4", 30);
    same_host_other_case.host = Some("WEB-1".into());
    let fates = raise(
        store,
        vec![
            first,
            signal(tree.operator.id, "brute-force", "e2", 10),
            other_host,
            same_host_other_case,
            signal(tree.bank.id, "brute-force", "e5", 5),
            signal(tree.operator.id, "other-rule", "e6", 5),
        ],
    )
    .await;
    let alert = opened(&fates[0]);
    assert_eq!(fates[1], SignalFate::Folded(alert));
    assert_eq!(
        fates[3],
        SignalFate::Folded(alert),
        "hosts compare without case"
    );
    let web2 = opened(&fates[2]);
    let bank = opened(&fates[4]);
    let other_rule = opened(&fates[5]);
    assert_eq!(
        BTreeSet::from([alert, web2, bank, other_rule]).len(),
        4,
        "{fates:?}"
    );

    let stored = store.alert(alert).await.unwrap().unwrap();
    assert_eq!(stored.count, 3);
    assert_eq!(stored.event_ids, vec!["e1", "e2", "e4"]);
    assert_eq!((stored.first_seen, stored.last_seen), (at(0), at(30)));
    assert_eq!(stored.tenant, tree.operator.id);
    assert_eq!(stored.sensor, Some(sensor));
    assert_eq!(stored.severity, Severity::High);
    assert_eq!(stored.status, AlertStatus::New);
    assert_eq!(stored.rule, rule("brute-force", Severity::High));
    assert_eq!(stored.rule.attack_techniques(), vec!["T1110.001"]);
    assert_eq!(stored.matched_fields["EventID"], 4625);
    assert_eq!(stored.host.as_deref(), Some("web-1"));
    assert_eq!(stored.instance, store.instance());

    // A later batch folds into the same alert; raising writes no audit entry.
    let fates = raise(
        store,
        vec![signal(tree.operator.id, "brute-force", "e7", 40)],
    )
    .await;
    assert_eq!(fates, vec![SignalFate::Folded(alert)]);
    let stored = store.alert(alert).await.unwrap().unwrap();
    assert_eq!(stored.count, 4);
    assert_eq!(stored.last_seen, at(40));
    assert_eq!(store.audit_head().await.unwrap().seq, audit_before);

    // The change feed has one entry per alert written, in order.
    assert_eq!(
        all_changes(store)
            .await
            .into_iter()
            .filter(|(id, _)| *id == alert)
            .collect::<Vec<_>>(),
        vec![
            (alert, AlertChangeKind::Opened),
            (alert, AlertChangeKind::Folded)
        ]
    );
    assert_eq!(store.alert_changes_head().await.unwrap(), 5);
    assert!(store.alert(AlertId::new()).await.unwrap().is_none());
    let by_id: BTreeSet<AlertId> = ids(&store
        .alerts_by_id(&[alert, bank, AlertId::new()])
        .await
        .unwrap())
    .into_iter()
    .collect();
    assert_eq!(by_id, BTreeSet::from([alert, bank]));
}

pub(crate) async fn redelivered_signals_count_once(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let batch: Vec<AlertSignal> = (0..50)
        .map(|n| signal(tree.operator.id, "brute-force", &format!("e{n}"), n))
        .collect();
    let fates = raise(store, batch.clone()).await;
    let alert = opened(&fates[0]);
    assert!(fates[1..].iter().all(|f| *f == SignalFate::Folded(alert)));
    // The bus delivers the whole batch again, and one signal twice in one batch.
    let mut again = batch.clone();
    again.push(signal(tree.operator.id, "brute-force", "e50", 50));
    again.push(signal(tree.operator.id, "brute-force", "e50", 50));
    let fates = raise(store, again).await;
    assert!(
        fates[..50].iter().all(|f| *f == SignalFate::Duplicate),
        "{fates:?}"
    );
    assert_eq!(fates[50], SignalFate::Folded(alert));
    assert_eq!(fates[51], SignalFate::Duplicate);
    let stored = store.alert(alert).await.unwrap().unwrap();
    assert_eq!(stored.count, 51);
    // The same event matching another rule is not a redelivery.
    let fates = raise(store, vec![signal(tree.operator.id, "other", "e1", 1)]).await;
    assert!(matches!(fates[0], SignalFate::Opened(_)));
    // Nor the same event id in another tenant.
    let fates = raise(store, vec![signal(tree.bank.id, "brute-force", "e1", 1)]).await;
    assert!(matches!(fates[0], SignalFate::Opened(_)));

    // Once the delivery records expire, a redelivery is no longer recognised.
    let pruned = store
        .prune_alert_records(Timestamp::now().plus(Duration::from_secs(1)), at(-1))
        .await
        .unwrap();
    assert_eq!(pruned.deliveries, 53);
    assert_eq!(pruned.changes, 0);
    let fates = raise(store, vec![batch[0].clone()]).await;
    assert_eq!(fates, vec![SignalFate::Folded(alert)]);
}

pub(crate) async fn bad_signals_are_rejected_alone(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut too_long = signal(tree.operator.id, "r", &"x".repeat(300), 0);
    too_long.rule.title = "ok".into();
    let mut bad_title = signal(tree.operator.id, "r", "e2", 0);
    bad_title.rule.title = "two\nlines".into();
    let fates = raise(
        store,
        vec![
            too_long,
            signal(TenantId::new(), "r", "e1", 0),
            bad_title,
            signal(tree.operator.id, "r", "e3", 0),
        ],
    )
    .await;
    assert!(
        matches!(&fates[0], SignalFate::Rejected(why) if why.contains("event id")),
        "{fates:?}"
    );
    assert!(
        matches!(&fates[1], SignalFate::Rejected(why) if why.contains("does not exist")),
        "{fates:?}"
    );
    assert!(
        matches!(&fates[2], SignalFate::Rejected(why) if why.contains("rule title")),
        "{fates:?}"
    );
    let alert = opened(&fates[3]);
    assert_eq!(store.alert(alert).await.unwrap().unwrap().count, 1);
    assert_eq!(
        list(
            store,
            &AlertQuery::new(AlertScope::Subtree(tree.national.id))
        )
        .await
        .len(),
        1
    );
}

pub(crate) async fn folding_windows_hold_at_their_edges(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e1", 0)]).await;
    let alert = opened(&fates[0]);
    // Exactly one window after the last event: folds, and moves last_seen.
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e2", 3600)]).await;
    assert_eq!(fates, vec![SignalFate::Folded(alert)]);
    // One microsecond beyond one window after the new last event: a new alert.
    let mut late = signal(tree.operator.id, "r", "e3", 0);
    late.event_time = Timestamp::from_unix_micros(at(7200).unix_micros() + 1);
    let fates = raise(store, vec![late]).await;
    let second = opened(&fates[0]);
    assert_ne!(second, alert);
    // Only the group's most recent open alert is folded into: an event the
    // first alert's window would take, but far from the second, opens a third.
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e4", 10)]).await;
    assert!(matches!(fates[0], SignalFate::Opened(_)), "{fates:?}");
    let first = store.alert(alert).await.unwrap().unwrap();
    assert_eq!((first.count, first.last_seen), (2, at(3600)));
}

pub(crate) async fn closed_alerts_are_never_folded_into(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e1", 0)]).await;
    let alert = opened(&fates[0]);
    store
        .triage_alert(
            alert,
            &AlertTriage::Close {
                resolution: Resolution::FalsePositive,
                note: None,
            },
            &ctx(),
        )
        .await
        .unwrap();
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e2", 5)]).await;
    let new = opened(&fates[0]);
    assert_ne!(new, alert);
    assert_eq!(store.alert(alert).await.unwrap().unwrap().count, 1);
    // Reopened, the old alert is open again, but the newer one is the
    // group's most recent: repeats fold there.
    store
        .triage_alert(alert, &AlertTriage::Reopen { to: ReopenAs::New }, &ctx())
        .await
        .unwrap();
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e3", 6)]).await;
    assert_eq!(fates, vec![SignalFate::Folded(new)]);
}

pub(crate) async fn exercise_and_retro_hunt_alerts_stay_apart(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let real = signal(tree.operator.id, "r", "e1", 0);
    let mut drill = signal(tree.operator.id, "r", "e2", 0);
    drill.exercise = true;
    let mut retro = signal(tree.operator.id, "r", "e3", 0);
    retro.retrospective = true;
    let fates = raise(store, vec![real, drill, retro]).await;
    let (real, drill, retro) = (opened(&fates[0]), opened(&fates[1]), opened(&fates[2]));
    let scope = AlertScope::Subtree(tree.national.id);
    let listed = ids(&list(store, &AlertQuery::new(scope)).await);
    assert_eq!(BTreeSet::from_iter(listed), BTreeSet::from([real, retro]));
    let exercises = ids(&list(
        store,
        &AlertQuery {
            exercise: true,
            ..AlertQuery::new(scope)
        },
    )
    .await);
    assert_eq!(exercises, vec![drill]);
    assert!(store.alert(retro).await.unwrap().unwrap().retrospective);
}

pub(crate) async fn alerts_list_by_scope_and_filters_newest_first(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let sensor = SensorId::new();
    let mut signals = Vec::new();
    let mut on_operator = signal(tree.operator.id, "a", "e1", 100);
    on_operator.sensor = Some(sensor);
    signals.push(on_operator);
    let mut low = signal(tree.telecom.id, "b", "e2", 200);
    low.rule.level = Severity::Low;
    low.host = Some("mail-gw".into());
    signals.push(low);
    let mut critical = signal(tree.bank.id, "c", "e3", 300);
    critical.rule.level = Severity::Critical;
    critical.user = Some("Administrator".into());
    signals.push(critical);
    signals.push(signal(tree.national.id, "d", "e4", 400));
    let fates = raise(store, signals).await;
    let [operator, telecom, bank, national] = [0, 1, 2, 3].map(|i| opened(&fates[i]));

    let national_scope = AlertScope::Subtree(tree.national.id);
    assert_eq!(
        ids(&list(store, &AlertQuery::new(national_scope)).await),
        vec![national, bank, telecom, operator],
        "newest last_seen first"
    );
    assert_eq!(
        ids(&list(
            store,
            &AlertQuery::new(AlertScope::Subtree(tree.telecom.id))
        )
        .await),
        vec![telecom, operator]
    );
    assert_eq!(
        ids(&list(store, &AlertQuery::new(AlertScope::Tenant(tree.telecom.id))).await),
        vec![telecom]
    );
    assert_eq!(
        ids(&list(
            store,
            &AlertQuery::new(AlertScope::Subtree(tree.operator.id))
        )
        .await),
        vec![operator]
    );
    let with = |edit: fn(&mut AlertQuery)| {
        let mut query = AlertQuery::new(national_scope);
        edit(&mut query);
        query
    };
    assert_eq!(
        ids(&list(
            store,
            &with(|q| q.severities = vec![Severity::High, Severity::Critical])
        )
        .await),
        vec![national, bank, operator]
    );
    assert_eq!(
        ids(&list(store, &with(|q| q.rule_id = Some("b".into()))).await),
        vec![telecom]
    );
    let mut by_sensor = AlertQuery::new(national_scope);
    by_sensor.sensor = Some(sensor);
    assert_eq!(ids(&list(store, &by_sensor).await), vec![operator]);
    assert_eq!(
        ids(&list(store, &with(|q| q.text = Some("MAIL".into()))).await),
        vec![telecom],
        "text matches the host without case"
    );
    assert_eq!(
        ids(&list(store, &with(|q| q.text = Some("administrator".into()))).await),
        vec![bank]
    );
    assert_eq!(
        ids(&list(store, &with(|q| q.text = Some("rule c".into()))).await),
        vec![bank],
        "text matches the title"
    );
    assert!(
        list(store, &with(|q| q.text = Some("%".into())))
            .await
            .is_empty(),
        "wildcards are literal"
    );
    assert_eq!(
        ids(&list(
            store,
            &with(|q| {
                q.last_seen_from = Some(at(200));
                q.last_seen_to = Some(at(400));
            })
        )
        .await),
        vec![bank, telecom],
        "from inclusive, to exclusive"
    );
    assert_eq!(
        ids(&list(store, &with(|q| q.first_seen_to = Some(at(101)))).await),
        vec![operator]
    );

    // Triage state filters.
    let user = UserId::new();
    store
        .triage_alert(bank, &AlertTriage::Assign(Some(user)), &ctx())
        .await
        .unwrap();
    store
        .triage_alert(telecom, &AlertTriage::Acknowledge, &ctx())
        .await
        .unwrap();
    assert_eq!(
        ids(&list(
            store,
            &with(|q| q.statuses = vec![AlertStatus::Acknowledged])
        )
        .await),
        vec![telecom]
    );
    assert_eq!(
        ids(&list(store, &with(|q| q.statuses = vec![AlertStatus::New])).await),
        vec![national, bank, operator]
    );
    let mut mine = AlertQuery::new(national_scope);
    mine.assignee = Some(user);
    assert_eq!(ids(&list(store, &mine).await), vec![bank]);

    // Paging returns each alert once, in order.
    let mut page = PageRequest::first(3);
    let mut seen = Vec::new();
    loop {
        let got = store
            .list_alerts(&AlertQuery::new(national_scope), &page)
            .await
            .unwrap();
        seen.extend(ids(&got.items));
        match got.next {
            Some(next) => page = PageRequest::after(next, 3),
            None => break,
        }
    }
    assert_eq!(seen, vec![national, bank, telecom, operator]);
    let error = store
        .list_alerts(
            &AlertQuery::new(national_scope),
            &PageRequest::after(nigehban_store::Cursor::encode("tenants", "x"), 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::BadCursor(_)), "{error}");
}

pub(crate) async fn triage_is_audited_and_fed(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e1", 0)]).await;
    let alert = opened(&fates[0]);
    let audit_start = store.audit_head().await.unwrap().seq;
    let analyst = UserId::new();
    let assigned = store
        .triage_alert(alert, &AlertTriage::Assign(Some(analyst)), &ctx())
        .await
        .unwrap();
    assert_eq!(assigned.assignee, Some(analyst));
    // The same assignment again changes nothing and writes nothing.
    let again = store
        .triage_alert(alert, &AlertTriage::Assign(Some(analyst)), &ctx())
        .await
        .unwrap();
    assert_eq!(again, assigned);
    let acknowledged = store
        .triage_alert(alert, &AlertTriage::Acknowledge, &ctx())
        .await
        .unwrap();
    assert_eq!(acknowledged.status, AlertStatus::Acknowledged);
    assert!(acknowledged.acknowledged_at.is_some());
    let note = AlertText::parse("authorised penetration test").unwrap();
    let closed = store
        .triage_alert(
            alert,
            &AlertTriage::Close {
                resolution: Resolution::Benign,
                note: Some(note.clone()),
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(closed.status, AlertStatus::Closed);
    assert_eq!(closed.resolution, Some(Resolution::Benign));
    assert_eq!(closed.resolution_note, Some(note));
    assert_eq!(store.alert(alert).await.unwrap().unwrap(), closed);
    // A closed alert cannot be acknowledged or closed again.
    for change in [
        AlertTriage::Acknowledge,
        AlertTriage::Close {
            resolution: Resolution::TruePositive,
            note: None,
        },
    ] {
        let error = store
            .triage_alert(alert, &change, &ctx())
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");
    }
    let reopened = store
        .triage_alert(
            alert,
            &AlertTriage::Reopen {
                to: ReopenAs::Acknowledged,
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(reopened.status, AlertStatus::Acknowledged);
    assert_eq!((reopened.resolution, reopened.closed_at), (None, None));
    let error = store
        .triage_alert(AlertId::new(), &AlertTriage::Acknowledge, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");

    let audit: Vec<AuditEntry> = all_audit(store)
        .await
        .into_iter()
        .filter(|e| e.seq > audit_start)
        .collect();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "alert.assign",
            "alert.acknowledge",
            "alert.close",
            "alert.reopen"
        ]
    );
    assert!(audit.iter().all(|e| e.record_kind == "alert"
        && e.record_id == alert.to_string()
        && e.tenant == tree.operator.id));
    let close = &audit[2];
    assert!(
        close
            .before
            .as_ref()
            .unwrap()
            .as_str()
            .contains("\"acknowledged\"")
    );
    assert!(
        close
            .after
            .as_ref()
            .unwrap()
            .as_str()
            .contains("authorised penetration test")
    );
    assert!(store.verify_audit().await.unwrap().is_intact());
    let kinds: Vec<AlertChangeKind> = all_changes(store)
        .await
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        kinds,
        vec![
            AlertChangeKind::Opened,
            AlertChangeKind::Triaged,
            AlertChangeKind::Triaged,
            AlertChangeKind::Triaged,
            AlertChangeKind::Triaged
        ]
    );
}

pub(crate) async fn comments_are_kept_in_order_and_audited(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let fates = raise(store, vec![signal(tree.operator.id, "r", "e1", 0)]).await;
    let alert = opened(&fates[0]);
    let author = UserId::new();
    let mut written = Vec::new();
    for text in [
        "first look: brute force from one address",
        "blocked at the edge\nby the ISP",
    ] {
        let comment = AlertComment {
            id: AlertCommentId::new(),
            instance: store.instance(),
            alert,
            tenant: tree.operator.id,
            author: Some(author),
            body: AlertText::parse(text).unwrap(),
            at: Timestamp::now(),
        };
        store.insert_alert_comment(&comment, &ctx()).await.unwrap();
        written.push(comment);
    }
    assert_eq!(store.alert_comments(alert).await.unwrap(), written);
    assert!(
        store
            .alert_comments(AlertId::new())
            .await
            .unwrap()
            .is_empty()
    );
    // A comment claiming another tenant, or on no alert, is refused.
    let mut wrong = written[0].clone();
    wrong.id = AlertCommentId::new();
    wrong.tenant = tree.bank.id;
    let error = store
        .insert_alert_comment(&wrong, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");
    wrong.alert = AlertId::new();
    let error = store
        .insert_alert_comment(&wrong, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
    let audit = all_audit(store).await;
    let comments: Vec<&AuditEntry> = audit
        .iter()
        .filter(|e| e.action.as_str() == "alert.comment")
        .collect();
    assert_eq!(comments.len(), 2);
    assert!(
        comments[1]
            .after
            .as_ref()
            .unwrap()
            .as_str()
            .contains("by the ISP")
    );
    let kinds: Vec<AlertChangeKind> = all_changes(store)
        .await
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        kinds,
        vec![
            AlertChangeKind::Opened,
            AlertChangeKind::Commented,
            AlertChangeKind::Commented
        ]
    );
}

/// Raises and triages from several tasks at once while a reader follows
/// the feed the way the live stream does (after the last `seq` it saw): it
/// must see every entry, each once, in increasing order.
pub(crate) async fn the_change_feed_misses_nothing_under_concurrency(backend: &TestBackend) {
    let store: Arc<dyn Store> = backend.reopen().await;
    let tree = tree(store.as_ref()).await;
    let writers = 4;
    let batches = 15;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = Arc::clone(&store);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                let changes = store.alert_changes(after, 50).await.unwrap();
                for change in &changes {
                    assert!(change.seq > after, "{} after {after}", change.seq);
                    after = change.seq;
                    seen.push(change.seq);
                }
                if done && changes.is_empty() {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = Arc::clone(&store);
        let tenant = if writer % 2 == 0 {
            tree.operator.id
        } else {
            tree.bank.id
        };
        tasks.push(tokio::spawn(async move {
            for batch in 0..batches {
                let signals = (0..5)
                    .map(|n| {
                        let mut s = signal(
                            tenant,
                            &format!("rule-{n}"),
                            &format!("w{writer}-b{batch}-e{n}"),
                            batch,
                        );
                        // Writers of one tenant raise into the same groups.
                        s.host = Some(format!("host-{}", batch % 3));
                        s
                    })
                    .collect();
                let fates = raise(store.as_ref(), signals).await;
                if let Some(SignalFate::Opened(id)) = fates.first() {
                    store
                        .triage_alert(*id, &AlertTriage::Acknowledge, &ctx())
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all: Vec<u64> = store
        .alert_changes(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.seq)
        .collect();
    assert!(all.len() as i64 >= writers * batches, "{}", all.len());
    assert_eq!(seen, all, "the reader saw every entry once, in order");
    assert_eq!(
        store.alert_changes_head().await.unwrap(),
        *all.last().unwrap()
    );
    // Open alerts were never duplicated for one group by concurrent raises.
    let alerts = store
        .list_alerts(
            &AlertQuery::new(AlertScope::Subtree(tree.national.id)),
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    let groups: BTreeSet<_> = alerts.iter().map(|a| a.fold_group()).collect();
    assert_eq!(groups.len(), alerts.len());
    assert_eq!(
        alerts.iter().map(|a| a.count).sum::<u64>(),
        (writers * batches * 5) as u64
    );
}

pub(crate) async fn pruning_the_feed_keeps_its_numbering(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    for n in 0..3 {
        raise(
            store,
            vec![signal(tree.operator.id, &format!("r{n}"), "e", n)],
        )
        .await;
    }
    assert_eq!(store.alert_changes_head().await.unwrap(), 3);
    let pruned = store
        .prune_alert_records(at(-10), Timestamp::now().plus(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(pruned.changes, 3);
    assert_eq!(pruned.deliveries, 0);
    assert!(store.alert_changes(0, 10).await.unwrap().is_empty());
    assert_eq!(
        store.alert_changes_head().await.unwrap(),
        3,
        "the head survives"
    );
    raise(store, vec![signal(tree.operator.id, "r9", "e", 9)]).await;
    let changes = store.alert_changes(3, 10).await.unwrap();
    assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![4]);
}
