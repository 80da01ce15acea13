//! NIP (Nomor Induk Pegawai), the 18-digit civil-servant number:
//! birth date `YYYYMMDD`, appointment `YYYYMM`, sex digit, 3-digit sequence, e.g.
//! `19860926 201505 1 001`. PPPK contract staff carry `21` where the month stands.

use jiff::civil::Date;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nip {
    /// The 18 digits, without spaces.
    pub digits: String,
    pub birth: Date,
    pub appointed_year: i16,
    /// `None` for PPPK, whose month position holds the code `21`.
    pub appointed_month: Option<i8>,
    pub sex: Sex,
    pub sequence: u16,
}

impl Nip {
    pub fn is_pppk(&self) -> bool {
        self.appointed_month.is_none()
    }
}

/// The month code PPPK numbers carry.
pub const PPPK_CODE: i8 = 21;
/// Youngest and oldest plausible age at appointment.
pub const MIN_AGE: i16 = 18;
pub const MAX_AGE: i16 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NipError {
    #[error("a NIP has 18 digits, this one has {0}")]
    Length(usize),
    #[error("a NIP has only digits (spaces are allowed between its groups)")]
    NotDigits,
    #[error("digits 1–8 must be a real birth date (YYYYMMDD)")]
    BirthDate,
    #[error("digits 9–14 must be the appointment year and month (YYYYMM, or YYYY21 for PPPK)")]
    Appointment,
    #[error("appointed at age {0}, outside the plausible {MIN_AGE}–{MAX_AGE}")]
    Age(i16),
    #[error("the appointment date lies in the future")]
    FutureAppointment,
    #[error("digit 15 is the sex code and must be 1 or 2")]
    Sex,
    #[error("digits 16–18 are a sequence number from 001")]
    Sequence,
}

/// Parses and checks a NIP against `today` (for birth and appointment plausibility).
pub fn parse(input: &str, today: Date) -> Result<Nip, NipError> {
    let digits: String = input.chars().filter(|c| *c != ' ').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(NipError::NotDigits);
    }
    if digits.len() != 18 {
        return Err(NipError::Length(digits.len()));
    }
    let num = |r: std::ops::Range<usize>| -> i32 { digits[r].parse().unwrap_or(-1) };
    let birth = Date::new(num(0..4) as i16, num(4..6) as i8, num(6..8) as i8)
        .map_err(|_| NipError::BirthDate)?;
    if birth > today || birth.year() < 1900 {
        return Err(NipError::BirthDate);
    }
    let year = num(8..12) as i16;
    let month = num(12..14) as i8;
    let appointed_month = match month {
        1..=12 => Some(month),
        PPPK_CODE => None,
        _ => return Err(NipError::Appointment),
    };
    if !(1900..=9999).contains(&year) {
        return Err(NipError::Appointment);
    }
    let appointed =
        Date::new(year, appointed_month.unwrap_or(1), 1).map_err(|_| NipError::Appointment)?;
    if appointed > today {
        return Err(NipError::FutureAppointment);
    }
    let before_birthday = (appointed.month(), appointed.day()) < (birth.month(), birth.day());
    let age = year - birth.year() - i16::from(before_birthday);
    if !(MIN_AGE..=MAX_AGE).contains(&age) {
        return Err(NipError::Age(age));
    }
    let sex = match &digits[14..15] {
        "1" => Sex::Male,
        "2" => Sex::Female,
        _ => return Err(NipError::Sex),
    };
    let sequence = num(15..18) as u16;
    if sequence == 0 {
        return Err(NipError::Sequence);
    }
    Ok(Nip {
        digits,
        birth,
        appointed_year: year,
        appointed_month,
        sex,
        sequence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 24);

    #[test]
    fn accepts_pns_and_pppk() {
        let n = parse("19860926 201505 1 001", TODAY).unwrap();
        assert_eq!(n.digits, "198609262015051001");
        assert_eq!(n.sex, Sex::Male);
        assert!(!n.is_pppk());
        let p = parse("199203142023212005", TODAY).unwrap();
        assert!(p.is_pppk());
        assert_eq!(p.sex, Sex::Female);
    }

    #[test]
    fn refuses_each_broken_part() {
        assert_eq!(parse("1986092620150510", TODAY), Err(NipError::Length(16)));
        assert_eq!(parse("19860926201505100A", TODAY), Err(NipError::NotDigits));
        assert_eq!(parse("198602302015051001", TODAY), Err(NipError::BirthDate));
        assert_eq!(
            parse("198609262015131001", TODAY),
            Err(NipError::Appointment)
        );
        assert_eq!(parse("198609262000051001", TODAY), Err(NipError::Age(13)));
        assert_eq!(parse("195009262020051001", TODAY), Err(NipError::Age(69)));
        assert_eq!(
            parse("198609262030051001", TODAY),
            Err(NipError::FutureAppointment)
        );
        assert_eq!(parse("198609262015053001", TODAY), Err(NipError::Sex));
        assert_eq!(parse("198609262015051000", TODAY), Err(NipError::Sequence));
    }
}
