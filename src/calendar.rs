//! Working time: how much of the office's opening hours lies between two instants,
//! and when a standard time that starts at an instant runs out. SOP standard times
//! ("mutu baku") count working time only: office hours per weekday, less holidays
//! and cuti bersama, in the office's zone. Indonesia's three zones (WIB, WITA, WIT)
//! keep no daylight saving time, so a fixed offset is exact and no tz database is
//! needed.
//!
//! Used by `loket remind` (elapsed time of a pending step) and the site ("expected
//! by").

use std::collections::BTreeSet;

use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

use crate::model::Config;
use crate::model::config::TimeZone;
use crate::model::office_time::WEEKDAYS;

/// One opening period of a day: `[open, close)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub open: Time,
    pub close: Time,
}

/// The office's working calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    offset: Offset,
    /// Opening periods per weekday, Monday first, sorted and disjoint.
    days: [Vec<Period>; 7],
    holidays: BTreeSet<Date>,
}

/// A bad value in `[office.hours]` or `office.holidays` (what L090 reports).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("office.hours.{day}: {value:?} is not a period \"HH:MM-HH:MM\" (e.g. \"07:30-16:00\")")]
    BadPeriod { day: &'static str, value: String },
    #[error("office.hours.{day}: {value:?} closes before it opens")]
    Backwards { day: &'static str, value: String },
    #[error("office.hours.{day}: {value:?} overlaps or comes before the period listed before it")]
    Overlap { day: &'static str, value: String },
    #[error("office.hours: no day has opening hours, so no standard time could ever run")]
    NeverOpen,
    #[error("office.holidays: {value:?} is not a date \"YYYY-MM-DD\"")]
    BadHoliday { value: String },
}

/// Reads `"07:30"` or `"07.30"`.
fn parse_time(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once([':', '.'])?;
    let digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// Reads one period `"07:30-16:00"`; `None` when it is not that shape.
pub fn parse_period(s: &str) -> Option<(Time, Time)> {
    let (a, b) = s.split_once('-')?;
    Some((parse_time(a)?, parse_time(b)?))
}

/// Reads a holiday `"2026-08-17"`.
pub fn parse_holiday(s: &str) -> Option<Date> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    s.parse::<Date>().ok()
}

/// One weekday's periods, checked: well formed, each opening before it closes, in
/// order and not overlapping.
pub fn parse_day(day: &'static str, values: &[&str]) -> Result<Vec<Period>, CalendarError> {
    let mut out: Vec<Period> = Vec::new();
    for v in values {
        let value = v.to_string();
        let (open, close) = parse_period(v).ok_or_else(|| CalendarError::BadPeriod {
            day,
            value: value.clone(),
        })?;
        if close <= open {
            return Err(CalendarError::Backwards { day, value });
        }
        if out.last().is_some_and(|p| open < p.close) {
            return Err(CalendarError::Overlap { day, value });
        }
        out.push(Period { open, close });
    }
    Ok(out)
}

impl Calendar {
    /// The calendar from checked parts.
    pub fn new(
        zone: TimeZone,
        days: [Vec<Period>; 7],
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Calendar, CalendarError> {
        if days.iter().all(Vec::is_empty) {
            return Err(CalendarError::NeverOpen);
        }
        let offset = Offset::from_hours(zone.utc_offset_hours()).unwrap_or(Offset::UTC);
        Ok(Calendar {
            offset,
            days,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// The office's calendar from `loket.toml`; the first bad value is the error.
    pub fn from_config(config: &Config) -> Result<Calendar, CalendarError> {
        let office = &config.office;
        let given = office.hours.days();
        let mut days: [Vec<Period>; 7] = Default::default();
        for (i, day) in days.iter_mut().enumerate() {
            let values: Vec<&str> = given[i].iter().map(|s| s.get_ref().as_str()).collect();
            *day = parse_day(WEEKDAYS[i], &values)?;
        }
        let mut holidays = Vec::new();
        for h in &office.holidays {
            holidays.push(
                parse_holiday(h.get_ref()).ok_or_else(|| CalendarError::BadHoliday {
                    value: h.get_ref().clone(),
                })?,
            );
        }
        Calendar::new(*office.time_zone.get_ref(), days, holidays)
    }

    /// The opening periods of `date` (none on a holiday or a closed weekday).
    pub fn periods(&self, date: Date) -> &[Period] {
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.days[date.weekday().to_monday_zero_offset() as usize]
    }

    /// The instants a period of `date` spans.
    fn span(&self, date: Date, p: Period) -> Option<(Timestamp, Timestamp)> {
        let at = |t: Time| self.offset.to_timestamp(date.to_datetime(t)).ok();
        Some((at(p.open)?, at(p.close)?))
    }

    /// Working time between `from` and `to` (zero when `to` is not after `from`).
    pub fn working_time(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        if to <= from {
            return total;
        }
        let last = self.offset.to_datetime(to).date();
        let mut date = self.offset.to_datetime(from).date();
        loop {
            for &p in self.periods(date) {
                let Some((open, close)) = self.span(date, p) else {
                    continue;
                };
                let (a, b) = (open.max(from), close.min(to));
                if a < b {
                    total += b.duration_since(a);
                }
            }
            match date.tomorrow() {
                Ok(next) if date < last => date = next,
                _ => return total,
            }
        }
    }

    /// Whole minutes of working time between `from` and `to`.
    pub fn working_minutes(&self, from: Timestamp, to: Timestamp) -> i64 {
        self.working_time(from, to).as_secs() / 60
    }

    /// The instant `minutes` of working time after `from` run out: when a step
    /// started at `from` with that standard is expected done. `None` if the office
    /// has no opening in the ten years after `from` (a calendar of holidays only).
    pub fn add_working(&self, from: Timestamp, minutes: u32) -> Option<Timestamp> {
        let mut left = SignedDuration::from_mins(i64::from(minutes));
        let mut date = self.offset.to_datetime(from).date();
        for _ in 0..3660 {
            for &p in self.periods(date) {
                let (open, close) = self.span(date, p)?;
                let a = open.max(from);
                if a >= close {
                    continue;
                }
                let here = close.duration_since(a);
                if here >= left {
                    return a.checked_add(left).ok();
                }
                left -= here;
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests;
