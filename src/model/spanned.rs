//! [`Spanned<T>`]: a value and the byte range it came from, for every field of the
//! model, so any stage can point a diagnostic at the exact line.
//!
//! In TOML it behaves exactly as `toml::Spanned` (it delegates to it). It exists because
//! `toml::Spanned` serialises the value only, so its span would not survive the parse
//! cache ([`super::cache`]); in binary formats (postcard) this one is the tuple
//! `(start, end, value)`. Like `toml::Spanned`, comparing and hashing look at the value
//! only.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug)]
pub struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    pub fn new(span: Range<usize>, value: T) -> Self {
        Self { span, value }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn into_inner(self) -> T {
        self.value
    }

    pub fn get_ref(&self) -> &T {
        &self.value
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> From<toml::Spanned<T>> for Spanned<T> {
    fn from(s: toml::Spanned<T>) -> Self {
        Self::new(s.span(), s.into_inner())
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<T> AsRef<T> for Spanned<T> {
    fn as_ref(&self) -> &T {
        &self.value
    }
}

impl<T> AsMut<T> for Spanned<T> {
    fn as_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            self.value.serialize(serializer)
        } else {
            (self.span.start, self.span.end, &self.value).serialize(serializer)
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            toml::Spanned::<T>::deserialize(deserializer).map(Self::from)
        } else {
            let (start, end, value) = <(usize, usize, T)>::deserialize(deserializer)?;
            Ok(Self::new(start..end, value))
        }
    }
}

/// `#[serde(with = "…")]` for `Spanned<Datetime>` fields: `toml::value::Datetime`
/// deserialises from TOML's private map form only, so binary formats carry it as its
/// RFC 3339 text (which `Datetime` parses back to an equal value).
pub mod datetime {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use toml::value::Datetime;

    use super::Spanned;

    pub fn serialize<S: Serializer>(v: &Spanned<Datetime>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            (v.span.start, v.span.end, v.value.to_string()).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Datetime>, D::Error> {
        if d.is_human_readable() {
            Spanned::deserialize(d)
        } else {
            let (start, end, text) = <(usize, usize, String)>::deserialize(d)?;
            let value = text.parse().map_err(D::Error::custom)?;
            Ok(Spanned::new(start..end, value))
        }
    }
}

/// [`datetime`] for `Option<Spanned<Datetime>>` fields.
pub mod option_datetime {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use toml::value::Datetime;

    use super::Spanned;

    /// Lets `Option`'s own serde impl call [`super::datetime`] for the inner value.
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Inner(#[serde(with = "super::datetime")] Spanned<Datetime>);

    pub fn serialize<S: Serializer>(
        v: &Option<Spanned<Datetime>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        // `Inner` borrows nothing, so clone the one small value rather than add a
        // second, borrowing wrapper type.
        v.clone().map(Inner).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Spanned<Datetime>>, D::Error> {
        Ok(Option::<Inner>::deserialize(d)?.map(|i| i.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::value::Datetime;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Doc {
        name: Spanned<String>,
        #[serde(with = "datetime")]
        at: Spanned<Datetime>,
        #[serde(default, with = "option_datetime")]
        until: Option<Spanned<Datetime>>,
        list: Vec<Spanned<u32>>,
    }

    fn spans(d: &Doc) -> Vec<Range<usize>> {
        let mut v = vec![d.name.span(), d.at.span()];
        v.extend(d.until.as_ref().map(|u| u.span()));
        v.extend(d.list.iter().map(|l| l.span()));
        v
    }

    const TEXT: &str =
        "name = \"x\"\nat = 2026-11-02T09:30:00.25+07:00\nuntil = 2026-12-01\nlist = [1, 22]\n";

    #[test]
    fn toml_behaves_as_toml_spanned() {
        let ours: Doc = toml::from_str(TEXT).unwrap();
        let theirs: toml::Spanned<toml::Table> = toml::from_str(TEXT).unwrap();
        let name = theirs.get_ref()["name"].as_str().unwrap();
        assert_eq!(ours.name.get_ref(), name);
        assert_eq!(&TEXT[ours.name.span()], "\"x\"");
        assert_eq!(&TEXT[ours.list[1].span()], "22");
        assert_eq!(&TEXT[ours.until.as_ref().unwrap().span()], "2026-12-01");
        // Serialised back to TOML: values only, as toml::Spanned does.
        let back = toml::to_string(&ours).unwrap();
        assert_eq!(toml::from_str::<Doc>(&back).unwrap(), ours);
        assert!(!back.contains("start"), "{back}");
    }

    #[test]
    fn postcard_keeps_values_and_spans() {
        for text in [TEXT, &TEXT.replace("until = 2026-12-01\n", "")] {
            let doc: Doc = toml::from_str(text).unwrap();
            let bytes = postcard::to_stdvec(&doc).unwrap();
            let back: Doc = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back, doc);
            assert_eq!(spans(&back), spans(&doc));
            assert_eq!(
                back.at.get_ref().to_string(),
                "2026-11-02T09:30:00.25+07:00"
            );
        }
    }

    #[test]
    fn equality_ignores_spans_like_toml() {
        let a = Spanned::new(0..1, "a".to_string());
        let b = Spanned::new(5..6, "a".to_string());
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        let set: std::collections::HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert!(set.contains("a"));
    }
}
