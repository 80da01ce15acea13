//! The office's clock in `loket.toml`: opening hours per weekday (`[office.hours]`),
//! the year's holidays (`office.holidays`) and the reminder policy (`[reminders]`).
//! Kept as written (strings with spans) so `loket check` can point at a bad value
//! (L090, L091); [`crate::calendar`] turns them into working time.

use serde::Deserialize;

use super::Spanned;

/// Opening hours: each weekday's periods as `"HH:MM-HH:MM"` (or `HH.MM`, as
/// Indonesian notices write them), in the office's zone. A day left out is closed.
/// Without the table: Monday–Thursday 07:30–16:00 and Friday 07:30–11:00, the usual
/// shorter Friday of regional offices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OfficeHours {
    #[serde(default)]
    pub monday: Vec<Spanned<String>>,
    #[serde(default)]
    pub tuesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub wednesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub thursday: Vec<Spanned<String>>,
    #[serde(default)]
    pub friday: Vec<Spanned<String>>,
    #[serde(default)]
    pub saturday: Vec<Spanned<String>>,
    #[serde(default)]
    pub sunday: Vec<Spanned<String>>,
}

/// The weekday keys of `[office.hours]`, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl OfficeHours {
    /// Each weekday's periods, Monday first.
    pub fn days(&self) -> [&[Spanned<String>]; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }
}

impl Default for OfficeHours {
    fn default() -> Self {
        let day = |s: &str| vec![Spanned::new(0..0, s.to_string())];
        OfficeHours {
            monday: day("07:30-16:00"),
            tuesday: day("07:30-16:00"),
            wednesday: day("07:30-16:00"),
            thursday: day("07:30-16:00"),
            friday: day("07:30-11:00"),
            saturday: Vec::new(),
            sunday: Vec::new(),
        }
    }
}

/// `[reminders]`: when `loket remind` escalates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reminders {
    /// A pending step past this multiple of its standard time is escalated to the
    /// role above; finite and above 1 (L091).
    #[serde(default = "default_escalate_after")]
    pub escalate_after: Spanned<f64>,
}

pub const DEFAULT_ESCALATE_AFTER: f64 = 2.0;

fn default_escalate_after() -> Spanned<f64> {
    Spanned::new(0..0, DEFAULT_ESCALATE_AFTER)
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders {
            escalate_after: default_escalate_after(),
        }
    }
}
