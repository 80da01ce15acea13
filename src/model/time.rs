//! Conversions from TOML date-times to `jiff` values.

use jiff::civil::Date;
use jiff::{Timestamp, tz::Offset as TzOffset};
use toml::value::{Datetime, Offset};

/// The calendar date of a TOML value that has one (`2026-11-02` or a date-time).
pub fn to_date(dt: &Datetime) -> Option<Date> {
    let d = dt.date?;
    Date::new(i16::try_from(d.year).ok()?, d.month as i8, d.day as i8).ok()
}

/// An instant; a local date-time is read in the office's zone (`local_offset_hours`),
/// a bare date as its midnight there.
pub fn to_timestamp(dt: &Datetime, local_offset_hours: i8) -> Option<Timestamp> {
    let date = to_date(dt)?;
    let (h, m, s, ns) = dt.time.map_or((0, 0, 0, 0), |t| {
        (
            t.hour,
            t.minute,
            t.second.unwrap_or(0),
            t.nanosecond.unwrap_or(0),
        )
    });
    let civil =
        date.to_datetime(jiff::civil::Time::new(h as i8, m as i8, s as i8, ns as i32).ok()?);
    let offset = match dt.offset {
        Some(Offset::Z) => TzOffset::UTC,
        Some(Offset::Custom { minutes }) => TzOffset::from_seconds(i32::from(minutes) * 60).ok()?,
        None => TzOffset::from_hours(local_offset_hours).ok()?,
    };
    offset.to_timestamp(civil).ok()
}

/// Whether the value is a bare date (no time, no offset).
pub fn is_date_only(dt: &Datetime) -> bool {
    dt.date.is_some() && dt.time.is_none() && dt.offset.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_and_offsets() {
        let dt: Datetime = "2026-11-02T09:30:00+07:00".parse().unwrap();
        assert_eq!(to_date(&dt), Some(jiff::civil::date(2026, 11, 2)));
        let ts = to_timestamp(&dt, 8).unwrap();
        assert_eq!(ts.to_string(), "2026-11-02T02:30:00Z");
        let local: Datetime = "2026-11-02".parse().unwrap();
        assert!(is_date_only(&local));
        assert_eq!(
            to_timestamp(&local, 7).unwrap().to_string(),
            "2026-11-01T17:00:00Z"
        );
        let bad: Datetime = "2026-02-30".parse().unwrap_or(local);
        assert!(to_date(&bad).is_some());
    }
}
