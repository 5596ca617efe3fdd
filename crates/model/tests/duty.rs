//! Roster tests (issue 12): every moment is named, never read from a clock.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time, date};
use nigehban_model::Timestamp;
use nigehban_model::duty::{
    FairnessLedger, HolidayCalendar, HolidayRule, Layer, Leave, Override, OverrideKind, Rotation,
    Schedule, ShiftPattern, ShiftSource, ZoneName, coverage_gaps, parse_ical, shift_feed,
};

const PAKISTAN_2027: &str = include_str!("data/duty/pakistan-2027.ics");
const LEDGER_WEEK: &str = include_str!("data/duty/ledger-week.json");

fn t(h: i8, m: i8) -> Time {
    Time::constant(h, m, 0, 0)
}

fn three_shifts(people: &[&str], start: Date) -> Rotation {
    Rotation {
        participants: people.iter().map(|p| (*p).to_owned()).collect(),
        start,
        pattern: ShiftPattern::Daily {
            handoffs: vec![t(0, 0), t(8, 0), t(16, 0)],
        },
    }
}

fn layer(name: &str, rotation: Rotation) -> Layer {
    Layer {
        name: name.to_owned(),
        priority: 0,
        rotation,
    }
}

fn utc(text: &str) -> Timestamp {
    let at: jiff::Timestamp = text.parse().expect("test timestamp");
    Timestamp::from_unix_micros(at.as_microsecond())
}

fn local(schedule: &Schedule, at: DateTime) -> Timestamp {
    schedule.instant(at).expect("local time")
}

fn pakistan_holidays() -> HolidayCalendar {
    let mut calendar = HolidayCalendar {
        scope: "Pakistan".to_owned(),
        holidays: Vec::new(),
    };
    let imported = HolidayCalendar::read_ical(PAKISTAN_2027).expect("fixture reads");
    let outcome = calendar.merge_import(imported);
    assert_eq!(outcome.added, 11);
    calendar
}

fn year_2027(schedule: &Schedule) -> (Timestamp, Timestamp) {
    (
        local(schedule, date(2027, 1, 1).at(0, 0, 0, 0)),
        local(schedule, date(2028, 1, 1).at(0, 0, 0, 0)),
    )
}

#[test]
fn the_pakistan_2027_fixture_reads_as_sixteen_holiday_dates() {
    let calendar = pakistan_holidays();
    let dates = calendar.dates();
    assert_eq!(dates.len(), 16, "{dates:?}");
    for d in [
        date(2027, 2, 5),
        date(2027, 3, 10),
        date(2027, 3, 12),
        date(2027, 3, 23),
        date(2027, 5, 19),
        date(2027, 6, 15),
        date(2027, 8, 14),
        date(2027, 8, 15),
        date(2027, 12, 25),
    ] {
        assert!(dates.contains(&d), "{d} missing");
    }
    let ashura = calendar
        .holidays
        .iter()
        .find(|h| h.uid == "pk-2027-ashura@test.nigehban")
        .expect("ashura");
    assert_eq!(
        ashura.name,
        "Ashura, 9th and 10th Muharram (approximate: lunar)"
    );
    assert_eq!(ashura.days, 2);
}

#[test]
fn three_by_eight_over_2027_with_pakistan_holidays_has_no_gap() {
    let calendar = pakistan_holidays();
    let mut schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal", "chaudhry", "danish"], date(2027, 1, 1)),
    )]);
    schedule.holiday_rule = HolidayRule::Rotation {
        rotation: Rotation {
            participants: vec!["hina".to_owned(), "imran".to_owned()],
            start: date(2027, 1, 1),
            pattern: ShiftPattern::Daily {
                handoffs: vec![t(8, 0), t(20, 0)],
            },
        },
    };
    schedule.validate().expect("valid");
    let (from, to) = year_2027(&schedule);
    let shifts = schedule
        .shifts(from, to, &calendar.dates())
        .expect("shifts");
    assert_eq!(coverage_gaps(&shifts, from, to), vec![]);
    // Holidays go to the holiday rotation, midnight to midnight local.
    let on_eid = local(&schedule, date(2027, 3, 11).at(12, 0, 0, 0));
    let shift = schedule
        .on_call_at(on_eid, &calendar.dates())
        .expect("answer")
        .expect("someone");
    assert_eq!(shift.source, ShiftSource::HolidayRotation);
    assert!(["hina", "imran"].contains(&shift.user.as_str()));
    let ordinary = local(&schedule, date(2027, 3, 15).at(12, 0, 0, 0));
    let shift = schedule
        .on_call_at(ordinary, &calendar.dates())
        .expect("answer")
        .expect("someone");
    assert_eq!(shift.source, ShiftSource::Rotation);
    // Every holiday hour is the holiday rotation's: 16 days x 24 h.
    let holiday_minutes: i64 = shifts
        .iter()
        .filter(|s| s.source == ShiftSource::HolidayRotation)
        .map(|s| (s.end.unix_micros() - s.start.unix_micros()) / 60_000_000)
        .sum();
    assert_eq!(holiday_minutes, 16 * 24 * 60);
    let ledger = FairnessLedger::count(2027, &shifts);
    let people: Vec<&String> = ledger.people.keys().collect();
    assert_eq!(
        people,
        ["amna", "bilal", "chaudhry", "danish", "hina", "imran"]
    );
    let total: i64 = ledger.people.values().map(|r| r.minutes).sum();
    assert_eq!(total, 365 * 24 * 60);
}

#[test]
fn a_removed_shift_is_reported_as_a_gap() {
    let mut schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal", "chaudhry", "danish"], date(2027, 1, 1)),
    )]);
    let holidays = BTreeSet::new();
    let shift_start = local(&schedule, date(2027, 3, 23).at(8, 0, 0, 0));
    let who = schedule
        .on_call_at(shift_start, &holidays)
        .expect("answer")
        .expect("someone")
        .user;
    let shift_end = local(&schedule, date(2027, 3, 23).at(16, 0, 0, 0));
    schedule.leave.push(Leave {
        user: who,
        start: shift_start,
        end: shift_end,
    });
    let (from, to) = year_2027(&schedule);
    let shifts = schedule.shifts(from, to, &holidays).expect("shifts");
    let gaps = coverage_gaps(&shifts, from, to);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    // 08:00-16:00 in Karachi (UTC+5) is 03:00-11:00 UTC.
    assert_eq!(gaps[0].start, utc("2027-03-23T03:00:00Z"));
    assert_eq!(gaps[0].end, utc("2027-03-23T11:00:00Z"));
    assert_eq!(
        schedule
            .on_call_at(utc("2027-03-23T05:00:00Z"), &holidays)
            .expect("answer"),
        None
    );
}

#[test]
fn a_swap_survives_a_later_rotation_edit() {
    let mut schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal", "chaudhry"], date(2027, 1, 1)),
    )]);
    let holidays = BTreeSet::new();
    // amna and bilal swap their 2027-04-10 shifts.
    let day = date(2027, 4, 10);
    let shifts = schedule
        .shifts(
            local(&schedule, day.at(0, 0, 0, 0)),
            local(&schedule, day.tomorrow().expect("day").at(0, 0, 0, 0)),
            &holidays,
        )
        .expect("shifts");
    let of = |user: &str| {
        shifts
            .iter()
            .find(|s| s.user == user)
            .expect("shift")
            .clone()
    };
    let (amna, bilal) = (of("amna"), of("bilal"));
    schedule.overrides.push(Override {
        user: "bilal".to_owned(),
        start: amna.start,
        end: amna.end,
        kind: OverrideKind::Swap,
        replaces: Some("amna".to_owned()),
    });
    schedule.overrides.push(Override {
        user: "amna".to_owned(),
        start: bilal.start,
        end: bilal.end,
        kind: OverrideKind::Swap,
        replaces: Some("bilal".to_owned()),
    });
    // The rotation is edited afterwards: a new person, another order.
    schedule.layers[0].rotation.participants = ["danish", "chaudhry", "bilal", "amna"]
        .map(str::to_owned)
        .to_vec();
    let after = |at: Timestamp| {
        schedule
            .on_call_at(at, &holidays)
            .expect("answer")
            .expect("someone")
    };
    let swapped = after(amna.start);
    assert_eq!(
        (swapped.user.as_str(), swapped.source),
        ("bilal", ShiftSource::Override)
    );
    assert_eq!(swapped.end, amna.end);
    assert_eq!(after(bilal.start).user, "amna");
    // Elsewhere the edited rotation rules: 2027-01-01 00:00 is turn 0, danish.
    assert_eq!(
        after(local(&schedule, date(2027, 1, 1).at(1, 0, 0, 0))).user,
        "danish"
    );
}

#[test]
fn europe_berlin_hands_off_at_the_right_instant_on_both_dst_days() {
    let mut schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal", "chaudhry", "danish"], date(2027, 1, 1)),
    )]);
    schedule.time_zone = ZoneName::parse("Europe/Berlin").expect("zone");
    let holidays = BTreeSet::new();
    // 2027-03-28: clocks go 02:00 CET -> 03:00 CEST. 08:00 local = 06:00 UTC.
    let spring = schedule
        .shifts(
            utc("2027-03-27T23:00:00Z"),
            utc("2027-03-28T22:00:00Z"),
            &holidays,
        )
        .expect("shifts");
    let starts: Vec<Timestamp> = spring.iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [
            utc("2027-03-27T23:00:00Z"),
            utc("2027-03-28T06:00:00Z"),
            utc("2027-03-28T14:00:00Z")
        ]
    );
    assert_eq!(
        spring[0].end,
        utc("2027-03-28T06:00:00Z"),
        "the night is 7 hours"
    );
    let before = schedule
        .on_call_at(utc("2027-03-28T05:59:59Z"), &holidays)
        .expect("answer")
        .expect("someone");
    let after = schedule
        .on_call_at(utc("2027-03-28T06:00:00Z"), &holidays)
        .expect("answer")
        .expect("someone");
    assert_ne!(before.user, after.user);
    // 2027-10-31: clocks go 03:00 CEST -> 02:00 CET. 08:00 local = 07:00 UTC.
    let autumn = schedule
        .shifts(
            utc("2027-10-30T22:00:00Z"),
            utc("2027-10-31T23:00:00Z"),
            &holidays,
        )
        .expect("shifts");
    let starts: Vec<Timestamp> = autumn.iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [
            utc("2027-10-30T22:00:00Z"),
            utc("2027-10-31T07:00:00Z"),
            utc("2027-10-31T15:00:00Z")
        ]
    );
    assert_eq!(
        autumn[0].end,
        utc("2027-10-31T07:00:00Z"),
        "the night is 9 hours"
    );
    assert_eq!(autumn[0].local_start, date(2027, 10, 31).at(0, 0, 0, 0));
}

#[test]
fn a_holiday_moved_by_a_day_changes_the_holiday_counts_and_nothing_else() {
    let mut calendar = pakistan_holidays();
    let schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal", "chaudhry", "danish"], date(2027, 1, 1)),
    )]);
    let (from, to) = year_2027(&schedule);
    let before = schedule
        .shifts(from, to, &calendar.dates())
        .expect("shifts");
    let moved = calendar
        .correct("pk-2027-eid-milad-un-nabi@test.nigehban", date(2027, 8, 16))
        .expect("known holiday");
    assert_eq!(moved, date(2027, 8, 15));
    let after = schedule
        .shifts(from, to, &calendar.dates())
        .expect("shifts");
    let who = |s: &[nigehban_model::duty::Shift]| {
        s.iter()
            .map(|s| (s.user.clone(), s.start, s.end, s.night, s.weekend))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        who(&before),
        who(&after),
        "the roster itself did not change"
    );
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.holiday != a.holiday)
        .map(|(b, a)| (b.local_start.date(), b.holiday, a.holiday))
        .collect();
    // Aug 14 stays a holiday (Independence Day); Aug 15 no longer, Aug 16 now.
    assert_eq!(changed.len(), 6, "{changed:?}");
    assert!(
        changed
            .iter()
            .all(|(d, b, a)| (*d == date(2027, 8, 15) && *b && !*a)
                || (*d == date(2027, 8, 16) && !*b && *a))
    );
    let (lb, la) = (
        FairnessLedger::count(2027, &before),
        FairnessLedger::count(2027, &after),
    );
    for (person, b) in &lb.people {
        let a = la.people[person];
        assert_eq!(
            (b.shifts, b.night, b.weekend, b.minutes),
            (a.shifts, a.night, a.weekend, a.minutes),
            "{person}"
        );
    }
    let total = |l: &FairnessLedger| l.people.values().map(|r| r.holiday).sum::<u32>();
    assert_eq!(total(&lb), 16 * 3);
    assert_eq!(total(&la), 16 * 3);
    assert_ne!(lb, la, "whose holiday shifts they are changed");
    // A re-import of the unchanged official calendar keeps the correction.
    let outcome = calendar.merge_import(HolidayCalendar::read_ical(PAKISTAN_2027).expect("reads"));
    assert_eq!(outcome.corrections_kept, 1);
    assert!(calendar.dates().contains(&date(2027, 8, 16)));
}

#[test]
fn the_fairness_ledger_equals_the_hand_computed_fixture() {
    let mut calendar = HolidayCalendar::default();
    calendar.merge_import(vec![nigehban_model::duty::Holiday {
        uid: "pakistan-day".to_owned(),
        name: "Pakistan Day".to_owned(),
        date: date(2027, 3, 23),
        days: 1,
        source: nigehban_model::duty::HolidaySource::Manual,
        corrected_from: None,
    }]);
    let schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["a", "b", "c", "d"], date(2027, 3, 22)),
    )]);
    let shifts = schedule
        .shifts(
            local(&schedule, date(2027, 3, 22).at(0, 0, 0, 0)),
            local(&schedule, date(2027, 3, 29).at(0, 0, 0, 0)),
            &calendar.dates(),
        )
        .expect("shifts");
    let expected: FairnessLedger = serde_json::from_str(LEDGER_WEEK).expect("fixture");
    assert_eq!(FairnessLedger::count(2027, &shifts), expected);
}

#[test]
fn layers_by_priority_and_leave_falls_through_to_the_lower_layer() {
    let mut schedule = Schedule::new(vec![
        layer(
            "backup",
            Rotation {
                participants: vec!["zara".to_owned()],
                start: date(2027, 1, 1),
                pattern: ShiftPattern::Weekly {
                    weekday: nigehban_model::duty::DayOfWeek::Monday,
                    at: t(9, 0),
                },
            },
        ),
        Layer {
            priority: 10,
            ..layer("primary", three_shifts(&["amna"], date(2027, 1, 1)))
        },
    ]);
    let holidays = BTreeSet::new();
    let at = utc("2027-05-05T10:00:00Z");
    let on = |s: &Schedule| {
        s.on_call_at(at, &holidays)
            .expect("answer")
            .expect("someone")
    };
    assert_eq!(on(&schedule).user, "amna");
    schedule.leave.push(Leave {
        user: "amna".to_owned(),
        start: utc("2027-05-05T00:00:00Z"),
        end: utc("2027-05-06T00:00:00Z"),
    });
    let shift = on(&schedule);
    assert_eq!(
        (shift.user.as_str(), shift.layer.as_str()),
        ("zara", "backup")
    );
}

#[test]
fn bad_rosters_and_bad_calendars_are_refused_naming_the_place() {
    let err = ZoneName::parse("Asia/Lahore").expect_err("not a zone");
    assert!(err.to_string().contains("Asia/Lahore"), "{err}");
    let schedule = Schedule::new(vec![layer("primary", three_shifts(&[], date(2027, 1, 1)))]);
    let err = schedule.validate().expect_err("nobody");
    assert!(
        err.to_string().contains("layers[0].rotation.participants"),
        "{err}"
    );
    let err = parse_ical("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2027-02-05\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        .expect_err("bad date");
    assert_eq!(err.line, 3, "{err}");
    let err = parse_ical("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n").expect_err("open");
    assert_eq!(err.line, 2, "{err}");
    assert!(parse_ical("hello").is_err());
}

#[test]
fn a_shift_feed_read_back_gives_the_same_shifts() {
    let schedule = Schedule::new(vec![layer(
        "primary",
        three_shifts(&["amna", "bilal"], date(2027, 1, 1)),
    )]);
    let holidays = BTreeSet::new();
    let shifts: Vec<_> = schedule
        .shifts(
            utc("2027-01-01T00:00:00Z"),
            utc("2027-01-08T00:00:00Z"),
            &holidays,
        )
        .expect("shifts")
        .into_iter()
        .filter(|s| s.user == "amna")
        .collect();
    let feed = shift_feed(
        "SOC primary; night, day",
        "s1",
        &shifts,
        utc("2027-01-01T00:00:00Z"),
    );
    let events = parse_ical(&feed).expect("feed reads");
    let read: Vec<(Timestamp, Timestamp)> = events
        .iter()
        .map(|e| match (e.start, e.end) {
            (
                nigehban_model::duty::IcalTime::Utc(s),
                Some(nigehban_model::duty::IcalTime::Utc(e)),
            ) => (s, e),
            other => panic!("not UTC: {other:?}"),
        })
        .collect();
    let written: Vec<(Timestamp, Timestamp)> = shifts.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(read, written);
    assert_eq!(
        events[0].summary,
        "On call: SOC primary; night, day (primary)"
    );
}
