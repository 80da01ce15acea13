//! Ticket numbers (nomor tiket): `KDS-7HQ4M-2XR9P`.
//!
//! The office prefix, then ten symbols from a 31-symbol alphabet without look-alikes
//! (no 0/O, 1/I/L): nine random (≈44.6 bits, so a public status URL cannot be guessed
//! from a neighbour's) and one check symbol. The check makes the weighted sum
//! `Σ (i+1)·vᵢ` divisible by 31; because 31 is prime and all weights are distinct and
//! below 31, every single substitution and every adjacent swap changes the sum by a
//! non-multiple of 31 and is caught. Random tickets need no coordination between
//! concurrent pull requests; `loket check` still refuses duplicates.

use std::fmt;

use rand::RngExt;
use thiserror::Error;

/// The 31 symbols, easy to read out over the phone.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const BODY: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    prefix: String,
    /// Symbol values (indices into [`ALPHABET`]), the last one the check.
    body: [u8; BODY],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketError {
    #[error("a ticket looks like PREFIX-XXXXX-XXXXX (e.g. KDS-7HQ4M-2XR9P)")]
    Format,
    #[error("the prefix must be {expected}, not {found}")]
    Prefix { expected: String, found: String },
    #[error("'{ch}' is not a ticket symbol (tickets use 2-9 and A-Z without I, L, O)")]
    Symbol { ch: char },
    #[error("the check symbol does not match: a symbol is mistyped or two are swapped")]
    Check,
}

fn value(ch: u8) -> Option<u8> {
    ALPHABET.iter().position(|&a| a == ch).map(|p| p as u8)
}

/// The check symbol value that makes the weighted sum of `data` and it divisible by 31.
fn check_value(data: &[u8]) -> u8 {
    let n = data.len() as u32;
    let s: u32 = data
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32 + 1) * u32::from(v))
        .sum();
    // Solve (n+1)·c ≡ -s (mod 31) with the inverse of n+1 (Fermat: x^29).
    let w = (n + 1) % 31;
    let inv = (0..29).fold(1u32, |acc, _| acc * w % 31);
    ((31 - s % 31) % 31 * inv % 31) as u8
}

fn is_valid_prefix(p: &str) -> bool {
    (2..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase())
}

impl Ticket {
    /// A fresh random ticket from the operating system's CSPRNG-seeded generator.
    pub fn generate(prefix: &str) -> Ticket {
        Self::generate_with(prefix, &mut rand::rng())
    }

    /// A ticket from the given generator (seeded ones make reproducible data sets).
    pub fn generate_with<R: rand::Rng + ?Sized>(prefix: &str, rng: &mut R) -> Ticket {
        let mut body = [0u8; BODY];
        for v in body.iter_mut().take(BODY - 1) {
            *v = rng.random_range(0..31u8);
        }
        body[BODY - 1] = check_value(&body[..BODY - 1]);
        Ticket {
            prefix: prefix.to_string(),
            body,
        }
    }

    /// Parses a ticket as typed by a person: case, spaces and hyphens are forgiven,
    /// the prefix, symbols and check symbol are not.
    pub fn parse(input: &str, expected_prefix: Option<&str>) -> Result<Ticket, TicketError> {
        let upper = input.trim().to_ascii_uppercase();
        let (prefix, rest) = upper.split_once('-').ok_or(TicketError::Format)?;
        if !is_valid_prefix(prefix) {
            return Err(TicketError::Format);
        }
        if let Some(exp) = expected_prefix
            && exp != prefix
        {
            return Err(TicketError::Prefix {
                expected: exp.to_string(),
                found: prefix.to_string(),
            });
        }
        let symbols: Vec<char> = rest.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if symbols.len() != BODY {
            return Err(TicketError::Format);
        }
        let mut body = [0u8; BODY];
        for (slot, ch) in body.iter_mut().zip(&symbols) {
            *slot = u8::try_from(*ch)
                .ok()
                .and_then(value)
                .ok_or(TicketError::Symbol { ch: *ch })?;
        }
        if check_value(&body[..BODY - 1]) != body[BODY - 1] {
            return Err(TicketError::Check);
        }
        Ok(Ticket {
            prefix: prefix.to_string(),
            body,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sym = |r: std::ops::Range<usize>| -> String {
            self.body[r]
                .iter()
                .map(|&v| ALPHABET[v as usize] as char)
                .collect()
        };
        write!(f, "{}-{}-{}", self.prefix, sym(0..5), sym(5..10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tickets_parse_back() {
        for _ in 0..200 {
            let t = Ticket::generate("KDS");
            let s = t.to_string();
            assert_eq!(s.len(), "KDS-XXXXX-XXXXX".len());
            assert_eq!(Ticket::parse(&s, Some("KDS")).unwrap(), t);
            assert_eq!(
                Ticket::parse(
                    &s.to_lowercase().replace('-', " ").replacen(' ', "-", 1),
                    None
                )
                .unwrap(),
                t
            );
        }
    }

    #[test]
    fn every_single_substitution_is_caught() {
        let t = Ticket::generate("KDS").to_string();
        let chars: Vec<char> = t.chars().collect();
        for i in 4..chars.len() {
            if chars[i] == '-' {
                continue;
            }
            for &a in ALPHABET {
                let a = a as char;
                if a == chars[i] {
                    continue;
                }
                let mut c = chars.clone();
                c[i] = a;
                let typo: String = c.into_iter().collect();
                assert_eq!(
                    Ticket::parse(&typo, None),
                    Err(TicketError::Check),
                    "{typo}"
                );
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        for _ in 0..50 {
            let t = Ticket::generate("KDS");
            let body: Vec<u8> = t.body.to_vec();
            for i in 0..BODY - 1 {
                if body[i] == body[i + 1] {
                    continue;
                }
                let mut b = body.clone();
                b.swap(i, i + 1);
                let s: String = b.iter().map(|&v| ALPHABET[v as usize] as char).collect();
                assert_eq!(
                    Ticket::parse(&format!("KDS-{s}"), None),
                    Err(TicketError::Check)
                );
            }
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        assert_eq!(
            Ticket::parse("KDS7HQ4M2XR9P", None),
            Err(TicketError::Format)
        );
        assert_eq!(Ticket::parse("KDS-7HQ4M", None), Err(TicketError::Format));
        assert!(matches!(
            Ticket::parse("KDS-0HQ4M-2XR9P", None),
            Err(TicketError::Symbol { ch: '0' })
        ));
        let t = Ticket::generate("KDS").to_string();
        assert!(matches!(
            Ticket::parse(&t, Some("PLK")),
            Err(TicketError::Prefix { .. })
        ));
    }
}
