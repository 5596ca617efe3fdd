//! Paging's services with an injected clock, on SQLite and PostgreSQL (issue
//! 12): the duty loop pages for a high alert read from the alert change feed
//! (through the nearest ancestor's roster), not for a low one and never
//! twice; a failed delivery is retried with back-off; the next step comes
//! after the wait; a step cut short by a crash runs again without losing or
//! repeating its notifications; a recipient who may not see the alert gets a message
//! without it; an acknowledgement stops the escalation; an unacknowledged
//! hand-over escalates, an acknowledged one does not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/alerts.rs"]
mod alerts;
#[path = "support/incident_world.rs"]
mod incident_world;
#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use incident_world::{IncidentWorld, incident_world, postgres_incident_world};
use nigehban_app::model::duty::jiff::civil::{Time, date};
use nigehban_app::model::duty::{
    EscalationPolicy, EscalationStep, EscalationTarget, Layer, Rotation, Schedule, ShiftPattern,
};
use nigehban_app::model::{AlertRule, AlertSignal, Role, Severity};
use nigehban_app::{
    AUDIT_KEY_FILE, AppError, AuditKeyFile, ContactMethod, MessageTemplates, PolicyDocument,
    ScheduleDocument, Store, StoreConfig,
};

fn roster(people: &[&str], handoffs: Vec<Time>) -> Schedule {
    Schedule::new(vec![Layer {
        name: "watch".into(),
        priority: 0,
        rotation: Rotation {
            participants: people.iter().map(|p| (*p).to_owned()).collect(),
            start: date(2026, 1, 1),
            pattern: ShiftPattern::Daily { handoffs },
        },
    }])
}

/// A second handle on the world's storage, as another node (or an attacker
/// with database access) has it.
async fn raw_store(w: &IncidentWorld) -> std::sync::Arc<dyn Store> {
    let config = match &w.postgres_url {
        Some(url) => StoreConfig::Postgres {
            url: url.clone(),
            pool_size: 1,
        },
        None => StoreConfig::Sqlite {
            data_dir: w.world.dir.path().to_path_buf(),
        },
    };
    let key = AuditKeyFile::at(w.world.dir.path().join(AUDIT_KEY_FILE));
    nigehban_store::open(&config, &key).await.unwrap()
}

fn email(address: &str) -> Vec<ContactMethod> {
    vec![ContactMethod::Email {
        address: address.into(),
    }]
}

async fn alerts_page_through_the_policy_and_stop_when_acknowledged(w: &IncidentWorld) {
    let duty = w.app.duty();
    let world = &w.world;
    let unique = &w.sibling.id.to_string()[30..];
    let (watcher, outsider) = (
        format!("banking-watch-{unique}"),
        format!("telecom-{unique}"),
    );
    let banking_watch = world.user(world.banking.id, &watcher, Role::Analyst).await;
    world.user(world.telecom.id, &outsider, Role::Analyst).await;
    let officer = world.caller(world.banking.id, Role::DutyOfficer).await;
    duty.set_contacts(&officer, Some(&watcher), email("watch@cert.example.pk"))
        .await
        .unwrap();
    duty.set_contacts(
        &w.national_admin,
        Some(&outsider),
        email("t@cert.example.pk"),
    )
    .await
    .unwrap();
    // The bank has no roster: its nearest ancestor's, the banking CERT's, answers.
    let schedule = duty
        .create_schedule(
            &officer,
            world.banking.id,
            "banking watch",
            ScheduleDocument {
                team: "soc".into(),
                roster: roster(&[&watcher], vec![Time::constant(0, 0, 0, 0)]),
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap();
    let step = |notify, minutes| EscalationStep {
        notify: vec![notify],
        wait_minutes: minutes,
        wait_seconds: None,
    };
    let broken = PolicyDocument {
        policy: EscalationPolicy {
            steps: vec![step(
                EscalationTarget::User {
                    user: outsider.clone(),
                },
                5,
            )],
            repeat: 0,
            severities: Vec::new(),
            rsit_classes: Vec::new(),
        },
        templates: MessageTemplates {
            subject: "{{title}} {{secret}}".into(),
            body: "{{title}}".into(),
        },
    };
    let refused = duty
        .create_policy(&officer, world.banking.id, "broken", broken)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::Invalid(m) if m.contains("{{secret}}")),
        "{refused}"
    );
    duty.create_policy(
        &officer,
        world.banking.id,
        "high alerts",
        PolicyDocument {
            policy: EscalationPolicy {
                steps: vec![
                    step(
                        EscalationTarget::Schedule {
                            schedule: schedule.id.to_string(),
                        },
                        5,
                    ),
                    step(
                        EscalationTarget::User {
                            user: outsider.clone(),
                        },
                        5,
                    ),
                ],
                repeat: 1,
                severities: vec!["high".into(), "critical".into()],
                rsit_classes: Vec::new(),
            },
            templates: MessageTemplates::default(),
        },
    )
    .await
    .unwrap();
    // The loop starts at the feed's head: what came before never pages.
    duty.check().await.unwrap();

    let high = alerts::alert_in(&w.app, world.bank.id).await;
    let mut low_rule = AlertRule::new("quiet-rule", "A quiet rule", Severity::Low);
    low_rule.tags.clear();
    let low = AlertSignal::new(world.bank.id, low_rule, "quiet-event", alerts::at(0));
    alerts::open_alert(&w.app, low).await;
    let pass = duty.check().await.unwrap();
    assert_eq!(pass.pages_opened, 1, "{pass:?}");
    let pages = duty.pages(&officer, None).await.unwrap();
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(page.tenant, world.bank.id);
    assert_eq!(page.state.page.source, format!("alert:{high}"));
    assert_eq!(page.state.step, 1);
    // No SMTP relay is configured: the attempt fails and is retried later.
    let log = duty.notifications(&officer, None).await.unwrap();
    assert_eq!(log.len(), 1, "{log:#?}");
    let first = &log[0];
    assert_eq!(first.state.recipient, watcher);
    assert!(first.state.full);
    assert!(
        first
            .state
            .subject
            .starts_with("[TLP:AMBER] high: Rule rule-"),
        "{}",
        first.state.subject
    );
    assert_eq!(first.status, "pending");
    assert_eq!(first.state.attempts.len(), 1);
    assert!(first.state.attempts[0].detail.contains("no SMTP relay"));
    let retry_at = first.next_attempt_at.unwrap();
    assert_eq!(
        retry_at,
        first.state.attempts[0].at.plus(Duration::from_secs(30))
    );

    // A node that dies after writing the step's notifications but before
    // claiming the step leaves the page at step 0 (played here by putting the
    // page back through a second store handle): the step runs again, and the
    // notification is neither lost nor written twice.
    let store = raw_store(w).await;
    let mut rewound = store.duty_record(page.id).await.unwrap().unwrap();
    rewound.body["step"] = 0.into();
    rewound.due_at = Some(rewound.updated_at);
    store
        .put_duty_record(&rewound, rewound.version, None)
        .await
        .unwrap();
    let pass = duty.check().await.unwrap();
    assert_eq!(pass.steps_run, 1, "{pass:?}");
    let log = duty.notifications(&officer, None).await.unwrap();
    assert_eq!(
        log.len(),
        1,
        "the step ran twice, its notification once: {log:#?}"
    );
    assert_eq!(log[0].id, first.id);
    assert_eq!(duty.page(&officer, page.id).await.unwrap().state.step, 1);

    // The same feed read again pages nothing more; the retry comes after 30 s.
    w.clock.advance(Duration::from_secs(31));
    let pass = duty.check().await.unwrap();
    assert_eq!((pass.pages_opened, pass.steps_run), (0, 0), "{pass:?}");
    let first = &duty.notifications(&officer, None).await.unwrap()[0];
    assert_eq!(first.state.attempts.len(), 2);
    assert_eq!(
        first.next_attempt_at.unwrap(),
        first.state.attempts[1].at.plus(Duration::from_secs(60)),
        "the back-off doubles"
    );

    // After the wait, step 2: a person of another branch, who may not see the alert.
    w.clock.advance(Duration::from_secs(5 * 60));
    duty.check().await.unwrap();
    let log = duty.notifications(&officer, None).await.unwrap();
    let second = log
        .iter()
        .find(|n| n.state.recipient == outsider)
        .expect("step 2 notified the named person");
    assert_eq!(second.state.step, 2);
    assert!(!second.state.full);
    assert!(
        !second.state.subject.contains("Rule rule-"),
        "the subject tells an outsider about the alert: {}",
        second.state.subject
    );
    assert!(second.state.subject.starts_with("[TLP:AMBER] high: "));

    // The watcher acknowledges: nothing more is sent, no step runs.
    let acknowledged = duty.acknowledge(&banking_watch, page.id).await.unwrap();
    assert_eq!(acknowledged.status, "acknowledged");
    assert_eq!(
        acknowledged.state.acknowledged.as_ref().unwrap().by,
        watcher
    );
    let again = duty.acknowledge(&banking_watch, page.id).await.unwrap_err();
    assert!(matches!(again, AppError::Conflict(_)), "{again}");
    let before = duty.notifications(&officer, None).await.unwrap().len();
    w.clock.advance(Duration::from_secs(30 * 60));
    let pass = duty.check().await.unwrap();
    assert_eq!(pass.steps_run, 0, "{pass:?}");
    let log = duty.notifications(&officer, None).await.unwrap();
    assert_eq!(log.len(), before);
    assert!(
        log.iter().all(|n| n.status != "pending"),
        "pending deliveries of an acknowledged page are cancelled: {log:#?}"
    );
    // The proof: every version of the page, with its time.
    let history = duty.page_history(&officer, page.id).await.unwrap();
    let steps: Vec<(usize, &str)> = history
        .iter()
        .map(|(_, p)| (p.state.step, p.status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (0, "open"),
            (1, "open"),
            (0, "open"), // the crash played above
            (1, "open"),
            (2, "open"),
            (2, "acknowledged")
        ]
    );
    // A sibling bank's analyst sees none of it.
    let sibling = world.caller(w.sibling.id, Role::Analyst).await;
    assert!(duty.pages(&sibling, None).await.unwrap().is_empty());
    assert!(duty.notifications(&sibling, None).await.unwrap().is_empty());
    assert!(duty.page(&sibling, page.id).await.is_err());
}

async fn an_unacknowledged_hand_over_escalates(w: &IncidentWorld) {
    let duty = w.app.duty();
    let world = &w.world;
    let unique = &w.sibling.id.to_string()[30..];
    let (day, night) = (format!("day-{unique}"), format!("night-{unique}"));
    let mut people = Vec::new();
    for name in [&day, &night] {
        people.push(world.user(world.operator.id, name, Role::Analyst).await);
    }
    let officer = world.caller(world.operator.id, Role::DutyOfficer).await;
    let schedule = duty
        .create_schedule(
            &officer,
            world.operator.id,
            "operator NOC",
            ScheduleDocument {
                team: "noc".into(),
                roster: roster(
                    &[&day, &night],
                    vec![Time::constant(8, 0, 0, 0), Time::constant(20, 0, 0, 0)],
                ),
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap();
    alerts::alert_in(&w.app, world.operator.id).await;
    let now = duty
        .on_call(&officer, Some(world.operator.id), Some("noc"), None)
        .await
        .unwrap()[0]
        .shift
        .clone()
        .unwrap();
    let (outgoing, incoming) = if now.user == day {
        (&people[0], &night)
    } else {
        (&people[1], &day)
    };
    let refused = duty
        .write_handover(
            if outgoing == &people[0] {
                &people[1]
            } else {
                &people[0]
            },
            schedule.id,
            "not mine to write",
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused}");
    let handover = duty
        .write_handover(
            outgoing,
            schedule.id,
            "Bank phishing wave: watch the mail gateway",
        )
        .await
        .unwrap();
    assert_eq!(handover.state.incoming.as_deref(), Some(incoming.as_str()));
    assert_eq!(handover.state.shift_ends, now.end);
    assert!(handover.state.summary.open_alerts >= 1);
    assert!(
        handover
            .state
            .summary
            .alerts
            .iter()
            .any(|a| a.contains("Rule rule-")),
        "{:?}",
        handover.state.summary
    );
    // Up to the shift change and the wait after it, nothing happens.
    let wait = w.app.settings().duty.handover_wait;
    w.clock.set(now.end.plus(wait).plus(Duration::from_secs(0)));
    w.clock.advance(Duration::from_secs(1));
    let pass = duty.check().await.unwrap();
    assert_eq!(pass.handovers_escalated, 1, "{pass:?}");
    let listed = duty.handovers(&officer, None).await.unwrap();
    let escalated = listed.iter().find(|h| h.id == handover.id).unwrap();
    assert_eq!(escalated.status, "escalated");
    let page = duty
        .page(&officer, escalated.state.escalated_to.unwrap())
        .await
        .unwrap();
    assert_eq!(page.state.page.source, format!("handover:{}", handover.id));
    assert!(page.state.page.title.contains("not acknowledged"));

    // The next hand-over is acknowledged in time: it never escalates.
    let now = duty
        .on_call(&officer, Some(world.operator.id), Some("noc"), None)
        .await
        .unwrap()[0]
        .shift
        .clone()
        .unwrap();
    let (outgoing, incoming_caller) = if now.user == day {
        (&people[0], &people[1])
    } else {
        (&people[1], &people[0])
    };
    let next = duty
        .write_handover(outgoing, schedule.id, "quiet night")
        .await
        .unwrap();
    let acknowledged = duty
        .acknowledge_handover(incoming_caller, next.id)
        .await
        .unwrap();
    assert_eq!(acknowledged.status, "acknowledged");
    w.clock
        .set(now.end.plus(wait).plus(Duration::from_secs(60)));
    let pass = duty.check().await.unwrap();
    assert_eq!(pass.handovers_escalated, 0, "{pass:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_on_sqlite() {
    let w = incident_world().await;
    alerts_page_through_the_policy_and_stop_when_acknowledged(&w).await;
    an_unacknowledged_hand_over_escalates(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_on_postgresql() {
    let Some(w) = postgres_incident_world().await else {
        return;
    };
    alerts_page_through_the_policy_and_stop_when_acknowledged(&w).await;
    an_unacknowledged_hand_over_escalates(&w).await;
}
