//! Alerts end to end through the services, on SQLite and (with
//! `NIGEHBAN_TEST_POSTGRES_URL`) on PostgreSQL: raising and folding,
//! redeliveries, triage through the one policy, bulk changes, the change
//! feed behind the live stream, and who sees which alert.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/alerts.rs"]
mod alerts;
#[path = "support/world.rs"]
mod world;

use std::collections::BTreeSet;
use std::time::Duration;

use alerts::{alert_in, alerts_seen, at, open_alert, raise, signal};
use nigehban_app::model::{
    AlertChangeKind, AlertId, AlertStatus, AlertText, AlertTriage, ReopenAs, Resolution, Role,
    Severity, TenantId, Timestamp,
};
use nigehban_app::{AlertListing, AppError, AuditListing, PageRequest};
use world::World;

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
    each_tenant_sees_its_own_alerts_and_those_below,
    repeats_fold_within_the_window_and_not_beyond,
    redelivered_signals_are_counted_once,
    closed_alerts_are_never_folded_into,
    triage_goes_through_the_policy_and_is_audited,
    assignees_must_be_able_to_see_the_alert,
    bulk_changes_answer_per_alert_and_hide_what_the_caller_cannot_see,
    the_change_feed_follows_what_the_caller_may_see,
    listing_filters_and_exercise_alerts,
);

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::NotFound { kind: "alert", .. }) => {}
        other => panic!("expected an alert not found, got {other:?}"),
    }
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::Forbidden(_)) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

/// One alert in each tenant of the world.
struct Placed {
    national: AlertId,
    telecom: AlertId,
    operator: AlertId,
    banking: AlertId,
    bank: AlertId,
}

async fn one_alert_per_tenant(w: &World) -> Placed {
    Placed {
        national: alert_in(&w.app, w.national.id).await,
        telecom: alert_in(&w.app, w.telecom.id).await,
        operator: alert_in(&w.app, w.operator.id).await,
        banking: alert_in(&w.app, w.banking.id).await,
        bank: alert_in(&w.app, w.bank.id).await,
    }
}

async fn each_tenant_sees_its_own_alerts_and_those_below(w: &World) {
    let placed = one_alert_per_tenant(w).await;
    let all = BTreeSet::from([
        placed.national,
        placed.telecom,
        placed.operator,
        placed.banking,
        placed.bank,
    ]);
    let listing = AlertListing::default;

    // The national analyst sees every alert, two levels down included.
    let national = w.caller(w.national.id, Role::Analyst).await;
    assert_eq!(
        alerts_seen(&w.app, &national, listing()).await.unwrap(),
        all
    );
    // The telecom CERT sees its own and its organisation's, not the
    // national CERT's nor the banking sector's.
    for role in [
        Role::Analyst,
        Role::Responder,
        Role::IntelAnalyst,
        Role::DutyOfficer,
    ] {
        let telecom = w.caller(w.telecom.id, role).await;
        assert_eq!(
            alerts_seen(&w.app, &telecom, listing()).await.unwrap(),
            BTreeSet::from([placed.telecom, placed.operator]),
            "{role}"
        );
    }
    // An organisation sees only its own.
    let operator = w.caller(w.operator.id, Role::Analyst).await;
    assert_eq!(
        alerts_seen(&w.app, &operator, listing()).await.unwrap(),
        BTreeSet::from([placed.operator])
    );
    let bank = w.caller(w.bank.id, Role::Analyst).await;
    assert_eq!(
        alerts_seen(&w.app, &bank, listing()).await.unwrap(),
        BTreeSet::from([placed.bank])
    );
    // Narrowed to one tenant, with or without those below it.
    let only_telecom = AlertListing {
        under: Some(w.telecom.id),
        include_descendants: false,
        ..AlertListing::default()
    };
    assert_eq!(
        alerts_seen(&w.app, &national, only_telecom).await.unwrap(),
        BTreeSet::from([placed.telecom])
    );
    let under_banking = AlertListing {
        under: Some(w.banking.id),
        ..AlertListing::default()
    };
    assert_eq!(
        alerts_seen(&w.app, &national, under_banking.clone())
            .await
            .unwrap(),
        BTreeSet::from([placed.banking, placed.bank])
    );
    // A subtree outside the caller's is not found, not an empty list.
    let telecom = w.caller(w.telecom.id, Role::Analyst).await;
    match alerts_seen(&w.app, &telecom, under_banking).await {
        Err(AppError::NotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    // One alert: seen within the subtree, never beside or above.
    assert_eq!(
        w.app
            .alerts()
            .get(&telecom, placed.operator)
            .await
            .unwrap()
            .tenant,
        w.operator.id
    );
    for hidden in [placed.national, placed.banking, placed.bank] {
        assert_not_found(w.app.alerts().get(&telecom, hidden).await);
        assert_not_found(w.app.alerts().comments(&telecom, hidden).await);
        assert_not_found(w.app.alerts().acknowledge(&telecom, hidden).await);
    }
    assert_not_found(w.app.alerts().get(&operator, placed.telecom).await);

    // The council sees none individually; nor do constituent reporters,
    // administrators or auditors.
    for role in [
        Role::CouncilMember,
        Role::ConstituentReporter,
        Role::Administrator,
        Role::Auditor,
    ] {
        let caller = w.caller(w.national.id, role).await;
        assert_forbidden(alerts_seen(&w.app, &caller, listing()).await);
        assert_forbidden(w.app.alerts().get(&caller, placed.operator).await);
        assert_forbidden(w.app.alerts().changes(&caller, 0, 100, false).await);
        assert_forbidden(w.app.alerts().changes_head(&caller).await);
    }
    let reporter = w.caller(w.operator.id, Role::ConstituentReporter).await;
    assert_forbidden(alerts_seen(&w.app, &reporter, listing()).await);
}

async fn repeats_fold_within_the_window_and_not_beyond(w: &World) {
    let window = w.app.settings().alerts.fold_window;
    assert_eq!(window, Duration::from_secs(3600), "the default window");
    let first = open_alert(&w.app, signal(w.operator.id, "r", "e1", 0)).await;
    // Same rule and key, exactly one window later: folds.
    let outcome = raise(&w.app, vec![signal(w.operator.id, "r", "e2", 3600)]).await;
    assert_eq!((outcome.opened, outcome.folded), (0, 1));
    assert_eq!(outcome.alerts, vec![Some(first)]);
    // Another user on the same host: its own alert.
    let mut other_user = signal(w.operator.id, "r", "e3", 3600);
    other_user.user = Some("bob".into());
    // The rule's own key replaces host and user.
    let mut keyed_a = signal(w.operator.id, "spray", "e4", 0);
    keyed_a.fold_key = Some("203.0.113.9".into());
    let mut keyed_b = signal(w.operator.id, "spray", "e5", 0);
    keyed_b.fold_key = Some("203.0.113.9".into());
    keyed_b.host = Some("web-2".into());
    // Beyond the window after the last event (3600 s): a new alert.
    let mut late = signal(w.operator.id, "r", "e6", 0);
    late.event_time = Timestamp::from_unix_micros(at(7200).unix_micros() + 1);
    let outcome = raise(&w.app, vec![other_user, keyed_a, keyed_b, late]).await;
    assert_eq!((outcome.opened, outcome.folded), (3, 1), "{outcome:?}");
    assert_eq!(
        outcome.alerts[1], outcome.alerts[2],
        "the rule's key folds across hosts"
    );
    assert!(!outcome.alerts.contains(&Some(first)));

    let operator = w.caller(w.operator.id, Role::Analyst).await;
    let alert = w.app.alerts().get(&operator, first).await.unwrap();
    assert_eq!(alert.count, 2);
    assert_eq!(alert.event_ids, vec!["e1", "e2"]);
    assert_eq!((alert.first_seen, alert.last_seen), (at(0), at(3600)));
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.rule.attack_techniques(), vec!["T1110.003"]);
    let metrics = w.app.alerts().metrics();
    assert_eq!((metrics.opened, metrics.folded), (4, 2));
    assert_eq!(metrics.latency.count, 6, "one latency per signal stored");
    assert_eq!(metrics.latency.counts.iter().sum::<u64>(), 6);
}

async fn redelivered_signals_are_counted_once(w: &World) {
    let batch: Vec<_> = (0..20)
        .map(|n| signal(w.operator.id, "r", &format!("e{n}"), n))
        .collect();
    let outcome = raise(&w.app, batch.clone()).await;
    assert_eq!(
        (outcome.opened, outcome.folded, outcome.duplicates),
        (1, 19, 0)
    );
    let alert = outcome.alerts[0].unwrap();
    // The bus redelivers the batch (at-least-once), with one new signal and
    // one bad one.
    let mut again = batch;
    again.push(signal(w.operator.id, "r", "e20", 20));
    let mut bad = signal(w.operator.id, "r", "", 21);
    bad.event_id = " ".into();
    again.push(bad);
    let outcome = raise(&w.app, again).await;
    assert_eq!(
        (outcome.opened, outcome.folded, outcome.duplicates),
        (0, 1, 20)
    );
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!(outcome.rejected[0].index, 21);
    assert!(
        outcome.rejected[0].reason.contains("event id"),
        "{outcome:?}"
    );
    let analyst = w.caller(w.operator.id, Role::Analyst).await;
    assert_eq!(w.app.alerts().get(&analyst, alert).await.unwrap().count, 21);
    let metrics = w.app.alerts().metrics();
    assert_eq!(
        (metrics.duplicates, metrics.rejected, metrics.batches),
        (20, 1, 2)
    );
    // An empty batch does nothing.
    assert_eq!(
        raise(&w.app, Vec::new()).await,
        nigehban_app::RaiseOutcome::default()
    );
}

async fn closed_alerts_are_never_folded_into(w: &World) {
    let analyst = w.caller(w.operator.id, Role::Analyst).await;
    let first = open_alert(&w.app, signal(w.operator.id, "r", "e1", 0)).await;
    w.app
        .alerts()
        .close(&analyst, first, Resolution::FalsePositive, None)
        .await
        .unwrap();
    let outcome = raise(&w.app, vec![signal(w.operator.id, "r", "e2", 1)]).await;
    assert_eq!(outcome.opened, 1);
    assert_ne!(outcome.alerts[0], Some(first));
    assert_eq!(w.app.alerts().get(&analyst, first).await.unwrap().count, 1);
}

async fn triage_goes_through_the_policy_and_is_audited(w: &World) {
    let alert = alert_in(&w.app, w.operator.id).await;
    let analyst = w.user(w.telecom.id, "telecom-analyst", Role::Analyst).await;
    let alerts = w.app.alerts();

    // Intel analysts read alerts but do not triage them.
    let intel = w.caller(w.telecom.id, Role::IntelAnalyst).await;
    assert_eq!(alerts.get(&intel, alert).await.unwrap().id, alert);
    assert_forbidden(alerts.acknowledge(&intel, alert).await);
    assert_forbidden(
        alerts
            .comment(&intel, alert, AlertText::parse("mine").unwrap())
            .await,
    );

    let acknowledged = alerts.acknowledge(&analyst, alert).await.unwrap();
    assert_eq!(acknowledged.status, AlertStatus::Acknowledged);
    // Acknowledging again changes nothing and is not audited.
    assert_eq!(
        alerts.acknowledge(&analyst, alert).await.unwrap(),
        acknowledged
    );
    let comment = alerts
        .comment(
            &analyst,
            alert,
            AlertText::parse("password spraying from one address").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(comment.author, analyst.user_id());
    assert_eq!(comment.tenant, w.operator.id);
    let closed = alerts
        .close(
            &analyst,
            alert,
            Resolution::TruePositive,
            Some(AlertText::parse("address blocked").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(closed.resolution, Some(Resolution::TruePositive));
    match alerts.acknowledge(&analyst, alert).await {
        Err(AppError::Conflict(message)) => assert!(message.contains("reopen"), "{message}"),
        other => panic!("{other:?}"),
    }
    let reopened = alerts.reopen(&analyst, alert, ReopenAs::New).await.unwrap();
    assert_eq!(reopened.status, AlertStatus::New);
    assert_eq!(
        alerts.comments(&analyst, alert).await.unwrap(),
        vec![comment]
    );

    // Every change is in the audit log, with who made it.
    let entries = w
        .app
        .audit()
        .list(
            &w.root_admin,
            AuditListing {
                under: Some(w.operator.id),
                newest_first: false,
            },
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    let alert_entries: Vec<_> = entries
        .iter()
        .filter(|e| e.record_kind == "alert")
        .collect();
    let actions: Vec<&str> = alert_entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "alert.acknowledge",
            "alert.comment",
            "alert.close",
            "alert.reopen"
        ]
    );
    assert!(
        alert_entries
            .iter()
            .all(|e| e.actor.user == analyst.user_id() && e.record_id == alert.to_string())
    );
}

async fn assignees_must_be_able_to_see_the_alert(w: &World) {
    let alert = alert_in(&w.app, w.operator.id).await;
    let triager = w.caller(w.telecom.id, Role::DutyOfficer).await;
    let national = w.user(w.national.id, "nsoc-analyst", Role::Analyst).await;
    let sibling = w.user(w.bank.id, "bank-analyst", Role::Analyst).await;
    let council = w.user(w.national.id, "council", Role::CouncilMember).await;
    let alerts = w.app.alerts();
    // A national analyst sees the operator's alert (two levels down).
    let assigned = alerts
        .assign(&triager, alert, national.user_id())
        .await
        .unwrap();
    assert_eq!(assigned.assignee, national.user_id());
    let mine = AlertListing {
        assignee: national.user_id(),
        ..AlertListing::default()
    };
    assert_eq!(
        alerts_seen(&w.app, &national, mine).await.unwrap(),
        BTreeSet::from([alert])
    );
    // A sibling's analyst, a council member and nobody at all may not be assigned.
    for user in [
        sibling.user_id(),
        council.user_id(),
        Some(nigehban_app::model::UserId::new()),
    ] {
        match alerts.assign(&triager, alert, user).await {
            Err(AppError::Invalid(message)) => {
                assert!(message.contains("may not see"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    let unassigned = alerts.assign(&triager, alert, None).await.unwrap();
    assert_eq!(unassigned.assignee, None);
}

async fn bulk_changes_answer_per_alert_and_hide_what_the_caller_cannot_see(w: &World) {
    let placed = one_alert_per_tenant(w).await;
    let telecom = w.caller(w.telecom.id, Role::Analyst).await;
    let missing = AlertId::new();
    let ids = [
        placed.operator,
        placed.bank,
        missing,
        placed.telecom,
        placed.operator,
    ];
    let results = w
        .app
        .alerts()
        .bulk(&telecom, &ids, AlertTriage::Acknowledge)
        .await
        .unwrap();
    let answered: Vec<AlertId> = results.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        answered,
        vec![placed.operator, placed.bank, missing, placed.telecom],
        "each alert once, in the order given"
    );
    assert_eq!(
        results[0].1.as_ref().unwrap().status,
        AlertStatus::Acknowledged
    );
    assert_eq!(
        results[3].1.as_ref().unwrap().status,
        AlertStatus::Acknowledged
    );
    // A sibling's alert reads exactly like one that does not exist.
    let message = |result: &Result<_, AppError>| match result {
        Err(error @ AppError::NotFound { kind: "alert", .. }) => error.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        message(&results[1].1),
        format!("alert {} not found", placed.bank)
    );
    assert_eq!(message(&results[2].1), format!("alert {missing} not found"));
    let national = w.caller(w.national.id, Role::Analyst).await;
    assert_eq!(
        w.app
            .alerts()
            .get(&national, placed.bank)
            .await
            .unwrap()
            .status,
        AlertStatus::New,
        "the hidden alert was not changed"
    );
    // Closing in bulk, and the limits.
    let results = w
        .app
        .alerts()
        .bulk(
            &national,
            &[placed.national, placed.banking],
            AlertTriage::Close {
                resolution: Resolution::Duplicate,
                note: None,
            },
        )
        .await
        .unwrap();
    assert!(
        results
            .iter()
            .all(|(_, r)| r.as_ref().unwrap().status == AlertStatus::Closed)
    );
    assert!(matches!(
        w.app
            .alerts()
            .bulk(&national, &[], AlertTriage::Acknowledge)
            .await,
        Err(AppError::Invalid(_))
    ));
    let too_many: Vec<AlertId> = (0..=nigehban_app::MAX_BULK_ALERTS)
        .map(|_| AlertId::new())
        .collect();
    assert!(matches!(
        w.app
            .alerts()
            .bulk(&national, &too_many, AlertTriage::Acknowledge)
            .await,
        Err(AppError::Invalid(_))
    ));
}

async fn the_change_feed_follows_what_the_caller_may_see(w: &World) {
    let telecom = w.caller(w.telecom.id, Role::Analyst).await;
    let start = w.app.alerts().changes_head(&telecom).await.unwrap();
    let mut woken = w.app.alerts().subscribe();
    woken.borrow_and_update();
    let placed = one_alert_per_tenant(w).await;
    assert!(woken.has_changed().unwrap(), "a raise wakes followers");
    let national = w.caller(w.national.id, Role::Analyst).await;
    w.app
        .alerts()
        .acknowledge(&national, placed.operator)
        .await
        .unwrap();
    w.app
        .alerts()
        .acknowledge(&national, placed.bank)
        .await
        .unwrap();
    let operator_rule = w
        .app
        .alerts()
        .get(&national, placed.operator)
        .await
        .unwrap()
        .rule
        .id;
    let outcome = raise(
        &w.app,
        vec![signal(w.operator.id, &operator_rule, "again", 1)],
    )
    .await;
    assert_eq!(outcome.alerts, vec![Some(placed.operator)]);

    let updates = w
        .app
        .alerts()
        .changes(&telecom, start, 100, false)
        .await
        .unwrap();
    let seen: Vec<(AlertId, AlertChangeKind)> =
        updates.items.iter().map(|u| (u.alert.id, u.kind)).collect();
    assert_eq!(
        seen,
        vec![
            (placed.telecom, AlertChangeKind::Opened),
            (placed.operator, AlertChangeKind::Opened),
            (placed.operator, AlertChangeKind::Triaged),
            (placed.operator, AlertChangeKind::Folded),
        ],
        "only the telecom subtree's alerts"
    );
    assert!(
        updates
            .items
            .windows(2)
            .all(|pair| pair[0].seq < pair[1].seq)
    );
    // Each change carries the alert as it is now.
    assert_eq!(updates.items[1].alert.status, AlertStatus::Acknowledged);
    assert_eq!(updates.items[1].alert.count, 2);
    assert_eq!(
        updates.last_seq,
        w.app.alerts().changes_head(&telecom).await.unwrap()
    );
    assert!(!updates.more);
    // The national analyst sees all of it, and resumes after any number.
    let all = w
        .app
        .alerts()
        .changes(&national, start, 100, false)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 8, "5 opened, 2 triaged, 1 folded");
    let resumed = w
        .app
        .alerts()
        .changes(&national, all.items[5].seq, 100, false)
        .await
        .unwrap();
    assert_eq!(resumed.items, all.items[6..].to_vec());
    // Reading in small steps says when more is waiting.
    let first_two = w
        .app
        .alerts()
        .changes(&national, start, 2, false)
        .await
        .unwrap();
    assert_eq!(first_two.items.len(), 2);
    assert!(first_two.more);
    // An organisation's analyst sees only its own alert's changes.
    let operator = w.caller(w.operator.id, Role::Analyst).await;
    let own = w
        .app
        .alerts()
        .changes(&operator, start, 100, false)
        .await
        .unwrap();
    assert!(
        own.items.iter().all(|u| u.alert.id == placed.operator),
        "{:?}",
        own.items
    );
    assert_eq!(own.items.len(), 3);
}

async fn listing_filters_and_exercise_alerts(w: &World) {
    let mut low = signal(w.operator.id, "scan", "e1", 10);
    low.rule.level = Severity::Low;
    low.host = Some("mail-gw".into());
    let critical = {
        let mut s = signal(w.operator.id, "ransom", "e2", 20);
        s.rule.level = Severity::Critical;
        s
    };
    let mut drill = signal(w.operator.id, "ransom", "e3", 30);
    drill.exercise = true;
    let outcome = raise(&w.app, vec![low, critical, drill]).await;
    let [low, critical, drill] = [0, 1, 2].map(|i| outcome.alerts[i].unwrap());
    let analyst = w.caller(w.operator.id, Role::Analyst).await;
    let seen = |listing: AlertListing| alerts_seen(&w.app, &analyst, listing);
    assert_eq!(
        seen(AlertListing::default()).await.unwrap(),
        BTreeSet::from([low, critical])
    );
    assert_eq!(
        seen(AlertListing {
            exercise: true,
            ..AlertListing::default()
        })
        .await
        .unwrap(),
        BTreeSet::from([drill]),
        "exercise alerts never mix with real ones"
    );
    assert_eq!(
        seen(AlertListing {
            severities: vec![Severity::High, Severity::Critical],
            ..AlertListing::default()
        })
        .await
        .unwrap(),
        BTreeSet::from([critical])
    );
    assert_eq!(
        seen(AlertListing {
            text: Some("MAIL-gw".into()),
            ..AlertListing::default()
        })
        .await
        .unwrap(),
        BTreeSet::from([low])
    );
    assert_eq!(
        seen(AlertListing {
            rule_id: Some("ransom".into()),
            ..AlertListing::default()
        })
        .await
        .unwrap(),
        BTreeSet::from([critical])
    );
    let _: TenantId = w.operator.id;
}
