//! The duty roster's services on SQLite and PostgreSQL (issue 12): past
//! answers come from the roster as it was, a holiday correction that opens
//! a gap warns at once, the feed behind a secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/incident_world.rs"]
mod incident_world;
#[path = "support/world.rs"]
mod world;

use incident_world::{IncidentWorld, incident_world, minutes, postgres_incident_world};
use nigehban_app::ScheduleDocument;
use nigehban_app::model::duty::jiff::civil::{Time, date};
use nigehban_app::model::duty::{
    HolidayRule, Layer, Leave, Rotation, Schedule, ShiftPattern, parse_ical,
};
use nigehban_app::model::{Role, Timestamp};

const HOLIDAYS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nigehban test data//duty//EN\r\nBEGIN:VEVENT\r\nUID:eid@test\r\nDTSTART;VALUE=DATE:20260316\r\nSUMMARY:Eid (approximate: lunar)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn rotation(people: &[&str]) -> Rotation {
    Rotation {
        participants: people.iter().map(|p| (*p).to_owned()).collect(),
        start: date(2026, 1, 1),
        pattern: ShiftPattern::Daily {
            handoffs: vec![Time::constant(8, 0, 0, 0), Time::constant(20, 0, 0, 0)],
        },
    }
}

fn roster(people: &[&str]) -> Schedule {
    Schedule::new(vec![Layer {
        name: "primary".into(),
        priority: 0,
        rotation: rotation(people),
    }])
}

async fn past_answers_come_from_the_roster_as_it_was(w: &IncidentWorld) {
    let duty = w.app.duty();
    let officer = w.world.caller(w.world.telecom.id, Role::DutyOfficer).await;
    let created = duty
        .create_schedule(
            &officer,
            w.world.telecom.id,
            "Telecom SOC",
            ScheduleDocument {
                team: "soc".into(),
                roster: roster(&["amna"]),
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap();
    w.advance(60);
    let changed = duty
        .update_schedule(
            &officer,
            created.id,
            created.version,
            "Telecom SOC",
            ScheduleDocument {
                team: "soc".into(),
                roster: roster(&["bilal"]),
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.version, 2);
    // A stale version is refused.
    let stale = duty
        .update_schedule(
            &officer,
            created.id,
            created.version,
            "Telecom SOC",
            ScheduleDocument {
                team: "soc".into(),
                roster: roster(&["chaudhry"]),
                calendars: Vec::new(),
            },
        )
        .await;
    assert!(stale.is_err(), "{stale:?}");
    let then = duty
        .on_call(&officer, None, Some("soc"), Some(minutes(30)))
        .await
        .unwrap();
    let who = |answers: &[nigehban_app::OnCall]| {
        answers
            .iter()
            .map(|a| {
                (
                    a.roster_version,
                    a.shift.as_ref().map(|s| s.user.clone()).unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(who(&then), [(1, "amna".to_owned())]);
    let now = duty.on_call(&officer, None, None, None).await.unwrap();
    assert_eq!(who(&now), [(2, "bilal".to_owned())]);
    // Before the schedule existed, there is no answer from it.
    let before = duty
        .on_call(&officer, None, None, Some(Timestamp::from_unix_micros(0)))
        .await
        .unwrap();
    assert_eq!(who(&before), []);
    // The bank's duty officer does not see the telecom roster.
    let bank_officer = w.world.caller(w.world.bank.id, Role::DutyOfficer).await;
    assert_eq!(
        who(&duty.on_call(&bank_officer, None, None, None).await.unwrap()),
        []
    );
}

async fn a_holiday_correction_that_opens_a_gap_warns_at_once(w: &IncidentWorld) {
    let duty = w.app.duty();
    let officer = w.world.caller(w.world.banking.id, Role::DutyOfficer).await;
    let imported = duty
        .import_holidays(
            &officer,
            w.world.banking.id,
            "Pakistan",
            "Pakistan",
            HOLIDAYS,
        )
        .await
        .unwrap();
    assert_eq!(imported.import.unwrap().added, 1);
    assert_eq!(imported.warnings, []);
    let mut schedule = roster(&["amna"]);
    schedule.holiday_rule = HolidayRule::Rotation {
        rotation: rotation(&["hina"]),
    };
    // hina is away on the 17th (Karachi time).
    let leave_from = schedule.instant(date(2026, 3, 17).at(0, 0, 0, 0)).unwrap();
    let leave_to = schedule.instant(date(2026, 3, 18).at(0, 0, 0, 0)).unwrap();
    schedule.leave.push(Leave {
        user: "hina".into(),
        start: leave_from,
        end: leave_to,
    });
    let created = duty
        .create_schedule(
            &officer,
            w.world.banking.id,
            "Banking CERT",
            ScheduleDocument {
                team: "cert".into(),
                roster: schedule,
                calendars: vec![imported.calendar.id],
            },
        )
        .await
        .unwrap();
    let clean = duty.coverage(&officer, None, 2).await.unwrap();
    assert!(clean.iter().all(|c| c.gaps.is_empty()), "{clean:?}");
    // The Eid is announced a day late: the 17th, when hina is away.
    let moved = duty
        .correct_holiday(
            &officer,
            imported.calendar.id,
            imported.calendar.version,
            "eid@test",
            date(2026, 3, 17),
            None,
        )
        .await
        .unwrap();
    assert_eq!(moved.warnings.len(), 1, "{:?}", moved.warnings);
    assert_eq!(moved.warnings[0].schedule, created.id);
    let gaps: Vec<(Timestamp, Timestamp)> = moved.warnings[0]
        .gaps
        .iter()
        .map(|g| (g.start, g.end))
        .collect();
    assert_eq!(gaps, [(leave_from, leave_to)]);
    // Nobody works the holiday: hina is away, and the holiday rotation replaces amna.
    let ledger = duty.ledger(&officer, created.id, 2026).await.unwrap();
    assert!(ledger.people.values().all(|r| r.holiday == 0), "{ledger:?}");
    assert!(ledger.people["amna"].shifts > 500, "{ledger:?}");
    let calendar = duty.calendar(&officer, imported.calendar.id).await.unwrap();
    assert_eq!(
        calendar.calendar.holidays[0].corrected_from,
        Some(date(2026, 3, 16))
    );
}

async fn the_feed_behind_a_secret_lists_the_persons_shifts(w: &IncidentWorld) {
    let duty = w.app.duty();
    let me = "noc-analyst";
    let analyst = &w.world.user(w.world.operator.id, me, Role::Analyst).await;
    let officer = w.world.caller(w.world.operator.id, Role::DutyOfficer).await;
    duty.create_schedule(
        &officer,
        w.world.operator.id,
        "Operator NOC",
        ScheduleDocument {
            team: "noc".into(),
            roster: roster(&[me, "someone-else"]),
            calendars: Vec::new(),
        },
    )
    .await
    .unwrap();
    let first = duty.rotate_feed_secret(analyst).await.unwrap();
    let second = duty.rotate_feed_secret(analyst).await.unwrap();
    assert!(
        duty.feed(first.secret.expose(), 2).await.is_err(),
        "the old URL stops working"
    );
    let feed = duty.feed(second.secret.expose(), 2).await.unwrap();
    let events = parse_ical(&feed).unwrap();
    // 3 weeks, two 12-hour shifts a day, every other one: ~21 shifts.
    assert!((20..=23).contains(&events.len()), "{}", events.len());
    assert!(events.iter().all(|e| e.summary.contains("primary")));
    assert!(duty.feed("not-a-secret", 2).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duty_on_sqlite() {
    let w = incident_world().await;
    past_answers_come_from_the_roster_as_it_was(&w).await;
    a_holiday_correction_that_opens_a_gap_warns_at_once(&w).await;
    the_feed_behind_a_secret_lists_the_persons_shifts(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duty_on_postgresql() {
    let Some(w) = postgres_incident_world().await else {
        return;
    };
    past_answers_come_from_the_roster_as_it_was(&w).await;
    a_holiday_correction_that_opens_a_gap_warns_at_once(&w).await;
    the_feed_behind_a_secret_lists_the_persons_shifts(&w).await;
}
