//! Free mail names for `loket new`: when the requested name is taken or reserved,
//! alternatives built from the applicant's name (and agency), each verified free
//! with the collision key rule L024 compares ([`crate::check::names`]).

use std::collections::{HashMap, HashSet};

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::check::mail::{MAX_LOCAL_PART, reserved_keys};
use crate::check::names::{address_key, collision_key};
use crate::model::config::Naming;

/// What makes a name unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Held by an account or asked for by a pending request (the address named).
    Taken(String),
    /// On the built-in or the office's reserved list.
    Reserved,
    /// Does not match the office's local-part pattern or is too long.
    Invalid,
}

/// Every name already in use or reserved, keyed the way the check (L024) compares
/// them. Reserved names are compared by the same key, which refuses a little more
/// than L023 does (e.g. `Post_Master`), never less.
pub struct Names {
    naming: Naming,
    pattern: Option<Regex>,
    /// Collision key of the address to the address holding it.
    taken: HashMap<String, String>,
    reserved: HashSet<String>,
}

impl Names {
    /// `used` are the addresses of accounts and pending requests.
    pub fn new<'a>(used: impl IntoIterator<Item = &'a str>, naming: &Naming) -> Names {
        let mut taken = HashMap::new();
        for addr in used {
            taken
                .entry(address_key(addr, naming))
                .or_insert_with(|| addr.to_string());
        }
        let reserved = reserved_keys(naming);
        Names {
            naming: naming.clone(),
            pattern: Regex::new(naming.local_part_pattern.get_ref()).ok(),
            taken,
            reserved,
        }
    }

    /// Whether `local@domain` may be given out, and if not, why.
    pub fn check(&self, local: &str, domain: &str) -> Result<(), Unavailable> {
        if self.reserved.contains(&collision_key(local, &self.naming)) {
            return Err(Unavailable::Reserved);
        }
        let key = address_key(&format!("{local}@{domain}"), &self.naming);
        if let Some(holder) = self.taken.get(&key) {
            return Err(Unavailable::Taken(holder.clone()));
        }
        if local.len() > MAX_LOCAL_PART || self.pattern.as_ref().is_some_and(|p| !p.is_match(local))
        {
            return Err(Unavailable::Invalid);
        }
        Ok(())
    }

    /// Up to `max` free local parts built from the applicant's `name` and `opd`, in
    /// order of preference, no two sharing a collision key.
    pub fn suggest(&self, name: &str, opd: &str, domain: &str, max: usize) -> Vec<String> {
        let mut seen = HashSet::new();
        candidates(name, opd)
            .into_iter()
            .filter(|c| self.check(c, domain).is_ok())
            .filter(|c| seen.insert(collision_key(c, &self.naming)))
            .take(max)
            .collect()
    }
}

/// The words of a person's name as ASCII lower case, without academic and religious
/// titles ("Dr.", "Hj.", ", S.Kom."): what a mail name can be built from.
pub fn name_words(name: &str) -> Vec<String> {
    // Degrees follow a comma: "Budi Santoso, S.Kom., M.T."
    let name = name.split(',').next().unwrap_or("");
    name.split_whitespace()
        .filter(|w| !w.contains('.'))
        .map(|w| {
            w.nfkd()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Initials of the significant words of an agency name: "Dinas Kesehatan" → "dk".
fn opd_initials(opd: &str) -> String {
    const SKIP: &[&str] = &["dan", "serta", "dr", "kabupaten", "kota"];
    opd.split(|c: char| c.is_whitespace() || c == ',')
        .flat_map(|w| name_words(&w.replace('.', " ")))
        .filter(|w| !SKIP.contains(&w.as_str()))
        .filter_map(|w| w.chars().next())
        .collect()
}

/// Candidate local parts, most natural first; not yet checked for availability.
pub fn candidates(name: &str, opd: &str) -> Vec<String> {
    let w = name_words(name);
    let Some(first) = w.first() else {
        return Vec::new();
    };
    let last = w.last().unwrap_or(first);
    let mut out = Vec::new();
    if w.len() == 1 {
        out.push(first.clone());
    } else {
        out.push(format!("{first}.{last}"));
        if w.len() > 2 {
            out.push(w.join("."));
            let middles: String = w[1..w.len() - 1]
                .iter()
                .filter_map(|m| m.chars().next())
                .collect();
            out.push(format!("{first}.{middles}.{last}"));
        }
        out.push(format!("{}{last}", &first[..1]));
        out.push(format!("{first}{}", &last[..1]));
        out.push(format!("{last}.{first}"));
    }
    let base = out[0].clone();
    let initials = opd_initials(opd);
    if initials.len() >= 2 {
        out.push(format!("{base}.{initials}"));
    }
    out.extend((2..=9).map(|n| format!("{base}{n}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(used: &[&str]) -> Names {
        let naming = Naming {
            reserved: vec![crate::model::Spanned::new(0..0, "humas".to_string())],
            ..Naming::default()
        };
        Names::new(used.iter().copied(), &naming)
    }

    #[test]
    fn confusable_and_separator_variants_are_taken() {
        let n = names(&["bambang@kuduskab.go.id"]);
        // Cyrillic а (U+0430) looks like Latin a; full-width letters fold under NFKC
        for v in ["b\u{0430}mbang", "Bam_bang", "ｂａｍｂａｎｇ"] {
            assert!(
                matches!(n.check(v, "kuduskab.go.id"), Err(Unavailable::Taken(_))),
                "{v}"
            );
        }
        let apart = Naming {
            separators_collide: false,
            ..Naming::default()
        };
        let n = Names::new(["budi.santoso@kuduskab.go.id"], &apart);
        assert_eq!(n.check("budi_santoso", "kuduskab.go.id"), Ok(()));
    }

    #[test]
    fn names_drop_titles_degrees_and_diacritics() {
        assert_eq!(
            name_words("Dr. Ir. Budi Santoso, S.Kom., M.T."),
            ["budi", "santoso"]
        );
        assert_eq!(name_words("Hj. Siti Ma'rufah"), ["siti", "marufah"]);
        assert_eq!(name_words("Renée  Éka"), ["renee", "eka"]);
        assert!(name_words("Drs.").is_empty());
    }

    #[test]
    fn candidates_come_from_the_name_and_agency() {
        let c = candidates("Budi Santoso", "Dinas Kesehatan");
        assert_eq!(
            &c[..4],
            ["budi.santoso", "bsantoso", "budis", "santoso.budi"]
        );
        assert!(c.contains(&"budi.santoso.dk".to_string()));
        assert!(c.contains(&"budi.santoso2".to_string()));
        let c = candidates(
            "Sri Wahyu Utami",
            "Dinas Pendidikan, Kepemudaan dan Olahraga",
        );
        assert_eq!(&c[..3], ["sri.utami", "sri.wahyu.utami", "sri.w.utami"]);
        assert!(c.contains(&"sri.utami.dpko".to_string()));
        assert_eq!(candidates("Slamet", "Satpol PP")[0], "slamet");
        assert!(candidates("", "x").is_empty());
    }

    #[test]
    fn suggestions_are_free_and_distinct() {
        let n = names(&["budi.santoso@kuduskab.go.id", "BSantoso@kuduskab.go.id"]);
        let s = n.suggest("Budi Santoso", "Dinas Kesehatan", "kuduskab.go.id", 4);
        assert_eq!(
            s,
            ["budis", "santoso.budi", "budi.santoso.dk", "budi.santoso2"]
        );
        for c in &s {
            assert_eq!(n.check(c, "kuduskab.go.id"), Ok(()));
        }
        // another domain is another address
        assert_eq!(n.check("budi.santoso", "example.go.id"), Ok(()));
    }

    #[test]
    fn taken_reserved_and_invalid_are_told_apart() {
        let n = names(&["budi.santoso@kuduskab.go.id"]);
        assert_eq!(
            n.check("Budi_Santoso", "kuduskab.go.id"),
            Err(Unavailable::Taken("budi.santoso@kuduskab.go.id".into()))
        );
        assert_eq!(
            n.check("postmaster", "kuduskab.go.id"),
            Err(Unavailable::Reserved)
        );
        assert_eq!(
            n.check("hu.mas", "kuduskab.go.id"),
            Err(Unavailable::Reserved)
        );
        assert_eq!(
            n.check("9lives", "kuduskab.go.id"),
            Err(Unavailable::Invalid)
        );
        assert_eq!(
            n.check(&"a".repeat(65), "kuduskab.go.id"),
            Err(Unavailable::Invalid)
        );
    }
}
