use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// Monday–Thursday 07:30–16:00, Friday 07:30–11:00 (the default hours).
fn week() -> [Vec<Period>; 7] {
    let full = parse_day("monday", &["07:30-16:00"]).unwrap();
    let friday = parse_day("friday", &["07:30-11:00"]).unwrap();
    [
        full.clone(),
        full.clone(),
        full.clone(),
        full,
        friday,
        Vec::new(),
        Vec::new(),
    ]
}

fn wib(holidays: &[&str]) -> Calendar {
    Calendar::new(TimeZone::WIB, week(), holidays.iter().map(|d| date(d))).unwrap()
}

#[test]
fn within_one_working_day() {
    let c = wib(&[]);
    // Thursday 3 Dec 2026, 09:00–10:30 WIB.
    assert_eq!(
        c.working_minutes(ts("2026-12-03T02:00:00Z"), ts("2026-12-03T03:30:00Z")),
        90
    );
    // Before opening and after closing count nothing: 06:00–17:00 WIB is 8 h 30 min.
    assert_eq!(
        c.working_minutes(ts("2026-12-02T23:00:00Z"), ts("2026-12-03T10:00:00Z")),
        510
    );
    // Backwards or empty: zero.
    assert_eq!(
        c.working_minutes(ts("2026-12-03T03:30:00Z"), ts("2026-12-03T02:00:00Z")),
        0
    );
}

#[test]
fn friday_closes_at_eleven_and_the_weekend_counts_nothing() {
    let c = wib(&[]);
    // Friday 18 Sep 2026 10:00 WIB to Monday 21 Sep 08:30 WIB: one hour on Friday
    // (to 11:00), nothing on Saturday or Sunday, one hour on Monday (from 07:30).
    assert_eq!(
        c.working_minutes(ts("2026-09-18T03:00:00Z"), ts("2026-09-21T01:30:00Z")),
        120
    );
    // Friday afternoon is closed.
    assert_eq!(
        c.working_minutes(ts("2026-09-18T05:00:00Z"), ts("2026-09-18T08:00:00Z")),
        0
    );
}

#[test]
fn a_holiday_counts_nothing() {
    // Monday 17 Aug 2026 (Proklamasi) is closed: Friday 14 Aug 10:00 WIB to
    // Tuesday 18 Aug 08:30 WIB is Friday's hour and Tuesday's hour.
    let c = wib(&["2026-08-17"]);
    let (from, to) = (ts("2026-08-14T03:00:00Z"), ts("2026-08-18T01:30:00Z"));
    assert_eq!(c.working_minutes(from, to), 120);
    // Without the holiday, Monday's 8 h 30 min count too.
    assert_eq!(wib(&[]).working_minutes(from, to), 120 + 510);
}

#[test]
fn zones_are_fixed_offsets_without_daylight_saving() {
    // The same instants, 01:00–02:00 UTC on Thursday 3 Dec 2026, are 08:00–09:00
    // WIB (all open), 09:00–10:00 WITA (all open) and 10:00–11:00 WIT (open).
    let (from, to) = (ts("2026-12-03T01:00:00Z"), ts("2026-12-03T02:00:00Z"));
    for zone in [TimeZone::WIB, TimeZone::WITA, TimeZone::WIT] {
        let c = Calendar::new(zone, week(), []).unwrap();
        assert_eq!(c.working_minutes(from, to), 60, "{zone:?}");
    }
    // 23:00–00:30 UTC: 06:00–07:30 WIB (closed), 07:00–08:30 WITA (one hour open),
    // 08:00–09:30 WIT (all open).
    let (from, to) = (ts("2026-12-02T23:00:00Z"), ts("2026-12-03T00:30:00Z"));
    let got: Vec<i64> = [TimeZone::WIB, TimeZone::WITA, TimeZone::WIT]
        .into_iter()
        .map(|z| {
            Calendar::new(z, week(), [])
                .unwrap()
                .working_minutes(from, to)
        })
        .collect();
    assert_eq!(got, [0, 60, 90]);
    // Across the March and October dates other countries change their clocks, a
    // working week is the same length: 4 × 8 h 30 min + 3 h 30 min.
    for (mon, next_mon) in [
        ("2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z"),
        ("2026-10-19T00:00:00Z", "2026-10-26T00:00:00Z"),
    ] {
        let c = Calendar::new(TimeZone::WITA, week(), []).unwrap();
        assert_eq!(c.working_minutes(ts(mon), ts(next_mon)), 4 * 510 + 210);
    }
}

#[test]
fn a_lunch_break_splits_the_day() {
    let mut days = week();
    days[0] = parse_day("monday", &["07:30-12:00", "13:00-16:00"]).unwrap();
    let c = Calendar::new(TimeZone::WIB, days, []).unwrap();
    // Monday 21 Sep 2026, 11:00–14:00 WIB: one hour before the break, one after.
    assert_eq!(
        c.working_minutes(ts("2026-09-21T04:00:00Z"), ts("2026-09-21T07:00:00Z")),
        120
    );
}

#[test]
fn a_standard_time_runs_out_in_working_time() {
    let c = wib(&["2026-08-17"]);
    // Friday 14 Aug 10:30 WIB + 60 min: 30 min on Friday, the rest on Tuesday
    // 18 Aug (Monday is a holiday) from 07:30, so 08:00 WIB.
    assert_eq!(
        c.add_working(ts("2026-08-14T03:30:00Z"), 60),
        Some(ts("2026-08-18T01:00:00Z"))
    );
    // Started on a Saturday: runs from Monday's opening.
    assert_eq!(
        c.add_working(ts("2026-09-19T03:00:00Z"), 10),
        Some(ts("2026-09-21T00:40:00Z"))
    );
    // Round trip: the working time to that instant is the standard.
    let from = ts("2026-09-17T08:00:00Z");
    let due = c.add_working(from, 600).unwrap();
    assert_eq!(c.working_minutes(from, due), 600);
}

#[test]
fn bad_hours_and_holidays_are_named() {
    assert!(matches!(
        parse_day("monday", &["7:30-16:00"]),
        Err(CalendarError::BadPeriod { day: "monday", .. })
    ));
    assert!(matches!(
        parse_day("friday", &["11:00-07:30"]),
        Err(CalendarError::Backwards { .. })
    ));
    assert!(matches!(
        parse_day("friday", &["07:30-12:00", "11:00-13:00"]),
        Err(CalendarError::Overlap { .. })
    ));
    assert!(matches!(
        parse_day("friday", &["25:00-26:00"]),
        Err(CalendarError::BadPeriod { .. })
    ));
    assert_eq!(
        parse_period("07.30-16.00"),
        Some((Time::constant(7, 30, 0, 0), Time::constant(16, 0, 0, 0)))
    );
    assert_eq!(parse_holiday("2026-02-30"), None);
    assert_eq!(parse_holiday("2026-8-17"), None);
    assert_eq!(parse_holiday("2026-08-17"), Some(date("2026-08-17")));
    let closed: [Vec<Period>; 7] = Default::default();
    assert_eq!(
        Calendar::new(TimeZone::WIB, closed, []).unwrap_err(),
        CalendarError::NeverOpen
    );
}

#[test]
fn the_kudus_preset_reads() {
    let (inst, _) = crate::check::testutil::Fixture::kudus().check();
    let c = Calendar::from_config(inst.config.as_ref().unwrap()).unwrap();
    // 17 Aug 2026 is a holiday in the preset; Friday keeps its shorter hours.
    assert!(c.periods(date("2026-08-17")).is_empty());
    assert_eq!(c.periods(date("2026-09-18")).len(), 1);
    assert!(c.periods(date("2026-09-19")).is_empty());
}
