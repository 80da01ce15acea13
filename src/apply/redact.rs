//! Secrets never leave the process through a reply: one registry of the run's
//! secrets and one function, [`redact`], that every text coming back from a remote
//! system passes before it is shown, logged, recorded or put in an error.
//!
//! **Registered** as they come into existence: every [`Secret`](super::Secret) (its
//! constructor registers it: generated passwords, passwords opened from the outbox,
//! the LDAP bind password), the admin key from `LOKET_SSH_KEY` (the whole key and
//! each line of it) and the forge token. Stored zeroized; never printed.
//!
//! **Removed** from a text: each secret as is; quoted as IMAP, JSON, `zmprov` or a
//! POSIX shell quote it; percent-encoded (upper and lower hex, `+` for a space); and
//! in base64, standard or URL-safe, padded or not, *also inside a longer base64
//! string* (SASL `PLAIN` sends `base64(authzid\0user\0password)`): for each of the
//! three byte offsets a secret can start at, the run of base64 characters that
//! depends on the secret's bytes alone is a needle, and a match takes out the whole
//! base64 word around it. Every match becomes [`MARK`].
//!
//! **Why nothing gets through.** Texts leave a run in four ways, and each passes
//! [`redact`]: (1) the `apply` report (statuses, unreadable backends) — redacted as a
//! whole before `run::apply` returns it, whatever it holds; (2) `records/<T>.toml`
//! — every event detail in `records::write`; (3) `verify`/`audit`/`plan` results and
//! every error the CLI prints (`error: …`); (4) nothing else: the journal and the
//! unverified list hold change keys and tickets, never replies. On top of these
//! sinks, each protocol redacts where its text enters (IMAP/SMTP every line read,
//! SSH stderr, LDAP error texts, command output), so a message built on the way
//! holds no secret either. A secret is registered before any remote system sees it
//! (a password is sealed, hence constructed, before its backend applies it).
//!
//! Limits: a secret re-encoded in other ways (hex, line-wrapped base64, case-folded)
//! is not recognised; the one or two base64 characters that mix a secret's first or
//! last bits with its neighbours are removed only with the word around them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, OnceLock};

use zeroize::{Zeroize, Zeroizing};

/// What a secret is replaced with.
pub const MARK: &str = "<redacted>";

/// Needles at least this long are found through the prefix index; shorter ones by
/// a plain scan (there are few: a short bind password, say).
const K: usize = 8;

struct Needle {
    bytes: Zeroizing<Vec<u8>>,
    /// A base64 core: the match widens to the whole base64 word.
    word: bool,
}

#[derive(Default)]
struct Registry {
    needles: Vec<Needle>,
    /// Keyed hash of a needle's first `K` bytes → needles starting so (the index
    /// keeps no secret bytes).
    index: HashMap<u64, Vec<usize>>,
    short: Vec<usize>,
    hasher: std::hash::RandomState,
}

impl Registry {
    fn key(&self, window: &[u8]) -> u64 {
        self.hasher.hash_one(window)
    }

    fn add(&mut self, bytes: Zeroizing<Vec<u8>>, word: bool) {
        if bytes.is_empty() {
            return;
        }
        let list = if bytes.len() >= K {
            let key = self.key(&bytes[..K]);
            self.index.entry(key).or_default()
        } else {
            &mut self.short
        };
        if list
            .iter()
            .any(|&i| self.needles[i].bytes[..] == bytes[..] && self.needles[i].word == word)
        {
            return;
        }
        list.push(self.needles.len());
        self.needles.push(Needle { bytes, word });
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Registers a secret of this run: from now on [`redact`] removes it and its
/// encodings. Empty text is ignored.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    fn push(forms: &mut Vec<Zeroizing<String>>, f: Zeroizing<String>) {
        if !forms.iter().any(|g| g[..] == f[..]) {
            forms.push(f);
        }
    }
    let mut forms: Vec<Zeroizing<String>> = vec![Zeroizing::new(secret.to_string())];
    // IMAP quoted string, zmprov's `zq`, and JSON for the two it must escape.
    push(
        &mut forms,
        Zeroizing::new(secret.replace('\\', "\\\\").replace('"', "\\\"")),
    );
    // JSON's own escaping (control characters too).
    if let Ok(json) = serde_json::to_string(secret) {
        let json = Zeroizing::new(json);
        push(
            &mut forms,
            Zeroizing::new(json[1..json.len() - 1].to_string()),
        );
    }
    // Inside a POSIX single-quoted word.
    push(&mut forms, Zeroizing::new(secret.replace('\'', r"'\''")));
    let texts = forms.len();
    for (upper, plus) in [(true, false), (false, false), (true, true)] {
        push(&mut forms, percent(secret, upper, plus));
    }

    let mut cores: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for f in &forms[..texts] {
        for url in [false, true] {
            for offset in 0..3 {
                let core = base64_core(f.as_bytes(), offset, url);
                if core.len() >= K {
                    cores.push(core);
                }
            }
        }
    }
    let mut r = registry();
    for f in &forms {
        r.add(Zeroizing::new(f.as_bytes().to_vec()), false);
    }
    for c in cores {
        r.add(c, true);
    }
}

/// `text` with every registered secret (in each encoding) replaced by [`MARK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let r = registry();
    let bytes = text.as_bytes();
    let mut spans = find(&r, bytes);
    // Percent-encoding can cover any subset of a secret's bytes (every byte, say, or
    // upper and lower hex mixed), too many forms to list: the text is decoded, the
    // needles are looked for in that, and each match maps back to its encoded span.
    if bytes.contains(&b'%') {
        let (decoded, from) = percent_decoded(bytes);
        if decoded.len() < bytes.len() {
            for (s, e) in find(&r, &decoded) {
                spans.push((from[s].0, from[e - 1].1));
            }
        }
    }
    drop(r);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (mut s, mut e) in spans {
        // Needles are whole UTF-8 strings (or ASCII), so both ends are char
        // boundaries; kept so for a decoded match whatever the text was.
        while !text.is_char_boundary(s) {
            s -= 1;
        }
        while !text.is_char_boundary(e) {
            e += 1;
        }
        if e <= at {
            continue;
        }
        if s >= at {
            out.push_str(&text[at..s]);
            out.push_str(MARK);
        }
        at = e;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// The spans of `bytes` holding a needle (a base64 core widened to its word).
fn find(r: &Registry, bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut found = |n: &Needle, start: usize| {
        let mut end = start + n.bytes.len();
        let mut start = start;
        if n.word {
            while start > 0 && is_b64(bytes[start - 1]) {
                start -= 1;
            }
            while end < bytes.len() && (is_b64(bytes[end]) || bytes[end] == b'=') {
                end += 1;
            }
        }
        spans.push((start, end));
    };
    if !r.index.is_empty() && bytes.len() >= K {
        for i in 0..=bytes.len() - K {
            let Some(ids) = r.index.get(&r.key(&bytes[i..i + K])) else {
                continue;
            };
            for &id in ids {
                let n = &r.needles[id];
                if bytes[i..].starts_with(&n.bytes) {
                    found(n, i);
                }
            }
        }
    }
    for &id in &r.short {
        let n = &r.needles[id];
        let mut i = 0;
        while i + n.bytes.len() <= bytes.len() {
            if bytes[i..].starts_with(&n.bytes) {
                found(n, i);
                i += n.bytes.len();
            } else {
                i += 1;
            }
        }
    }
    spans
}

/// `bytes` with each `%XX` decoded (wiped when dropped), and for each decoded byte
/// the span of `bytes` it came from.
fn percent_decoded(bytes: &[u8]) -> (Zeroizing<Vec<u8>>, Vec<(usize, usize)>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut from = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let pair = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        if let Some((hi, lo)) = pair {
            out.push(hi << 4 | lo);
            from.push((i, i + 3));
            i += 3;
        } else {
            out.push(bytes[i]);
            from.push((i, i + 1));
            i += 1;
        }
    }
    (out, from)
}

/// [`redact`] for an owned text; the original is wiped when it held a secret.
pub fn redact_owned(mut text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => {
            text.zeroize();
            clean
        }
    }
}

/// Redacts `text` in place.
pub fn redact_in_place(text: &mut String) {
    let t = std::mem::take(text);
    *text = redact_owned(t);
}

impl super::run::RunReport {
    /// Every text of the report redacted: what `apply` prints, as text or JSON.
    pub fn redact(&mut self) {
        use super::run::Status;
        for c in &mut self.changes {
            if let Status::Refused(t) | Status::Failed(t) | Status::Verified(t) = &mut c.status {
                redact_in_place(t);
            }
        }
        for r in &mut self.resumed {
            redact_in_place(r);
        }
        for (_, e) in &mut self.unreadable {
            redact_in_place(e);
        }
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Percent-encoding of every byte outside RFC 3986's unreserved set.
fn percent(secret: &str, upper: bool, plus_for_space: bool) -> Zeroizing<String> {
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = Zeroizing::new(String::with_capacity(secret.len() * 3));
    for &b in secret.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else {
            out.push('%');
            out.push(hex[(b >> 4) as usize] as char);
            out.push(hex[(b & 15) as usize] as char);
        }
    }
    out
}

/// The base64 characters that depend only on `secret` when it starts `offset`
/// bytes into a 3-byte group of a longer encoded string.
fn base64_core(secret: &[u8], offset: usize, url: bool) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(Vec::with_capacity(offset + secret.len()));
    input.resize(offset, 0);
    input.extend_from_slice(secret);
    let enc = base64(&input, url);
    // Character i covers bits [6i, 6i+6); the secret covers [8·offset, 8·(offset+len)).
    let first = (8 * offset).div_ceil(6);
    let end = 8 * input.len() / 6;
    Zeroizing::new(enc.get(first..end).unwrap_or_default().to_vec())
}

/// Unpadded base64 (RFC 4648 §4, or §5 with `url`).
fn base64(bytes: &[u8], url: bool) -> Zeroizing<Vec<u8>> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let alphabet = if url { URL } else { STD };
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len().div_ceil(3) * 4));
    for chunk in bytes.chunks(3) {
        let mut b = [chunk[0], 0, 0];
        b[1..chunk.len()].copy_from_slice(&chunk[1..]);
        let mut idx = [
            b[0] >> 2,
            ((b[0] & 3) << 4) | (b[1] >> 4),
            ((b[1] & 15) << 2) | (b[2] >> 6),
            b[2] & 63,
        ];
        for &i in &idx[..chunk.len() + 1] {
            out.push(alphabet[i as usize]);
        }
        b.zeroize();
        idx.zeroize();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh secret per test (the registry is shared by the whole test process).
    fn secret(tag: &str) -> String {
        let s = crate::apply::credentials::generate_password();
        format!("{tag}{}", s.expose())
    }

    /// Reference base64 (padded), written independently of the module's encoder.
    fn b64(bytes: &[u8], url: bool) -> String {
        let a: Vec<char> = if url {
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        } else {
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        }
        .chars()
        .collect();
        let mut bits = String::new();
        for b in bytes {
            bits.push_str(&format!("{b:08b}"));
        }
        while !bits.len().is_multiple_of(6) {
            bits.push('0');
        }
        let mut out: String = bits
            .as_bytes()
            .chunks(6)
            .map(|c| a[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()])
            .collect();
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    }

    fn red(text: String) -> String {
        redact(&text).into_owned()
    }

    fn clean(text: &str, s: &str) {
        let r = redact(text);
        assert!(!r.contains(s), "secret left in a redacted text");
        assert!(r.contains(MARK), "nothing marked");
    }

    #[test]
    fn the_secret_and_its_quoted_and_url_forms_are_removed() {
        let s = secret("a\"b\\c d/é'");
        register(&s);
        clean(&format!("a1 NO LOGIN \"user\" \"{s}\" rejected"), &s);
        let quoted = s.replace('\\', "\\\\").replace('"', "\\\"");
        let r = red(format!("a1 NO LOGIN \"user\" \"{quoted}\" rejected"));
        assert!(!r.contains(&quoted) && r.contains("LOGIN \"user\" \"<redacted>\" rejected"));
        let json = serde_json::to_string(&serde_json::json!({ "pw": s })).unwrap();
        assert!(!redact(&json).contains(&quoted[..]));
        assert!(!redact(&json).contains(&s));
        let shell = s.replace('\'', r"'\''");
        assert!(!red(format!("sh -c 'x {shell}'")).contains(&shell));
        let pct = |upper: bool| -> String {
            s.bytes()
                .map(|b| match b {
                    b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                        (b as char).to_string()
                    }
                    b if upper => format!("%{b:02X}"),
                    b => format!("%{b:02x}"),
                })
                .collect()
        };
        let r = red(format!("GET /login?pw={}&x=1", pct(true)));
        assert!(
            !r.contains(&pct(true)) && r.ends_with("&x=1"),
            "{}",
            r.len()
        );
        assert!(!red(format!("pw={}", pct(false))).contains(&pct(false)));
        // Every byte encoded, hex of both cases mixed: decoded and found.
        let all: String = s
            .bytes()
            .enumerate()
            .map(|(i, b)| match i % 2 {
                0 => format!("%{b:02X}"),
                _ => format!("%{b:02x}"),
            })
            .collect();
        assert_eq!(
            red(format!("u=a&pass={all}&x=1")),
            format!("u=a&pass={MARK}&x=1")
        );
        // A lone or broken escape is text like any other.
        assert_eq!(redact("100% sure, %zz and %4"), "100% sure, %zz and %4");
        // Other text is kept.
        assert_eq!(
            redact("a1 NO [AUTHENTICATIONFAILED]"),
            "a1 NO [AUTHENTICATIONFAILED]"
        );
    }

    #[test]
    fn any_mix_of_percent_encoded_and_plain_bytes_is_removed() {
        let s = secret("pw-");
        register(&s);
        for step in 2..5 {
            let mixed: String = s
                .bytes()
                .enumerate()
                .map(|(i, b)| match i % step {
                    0 => format!("%{b:02X}"),
                    1 => format!("%{b:02x}"),
                    _ => (b as char).to_string(),
                })
                .collect();
            assert_eq!(
                red(format!("GET /?u=a&pass={mixed} HTTP/1.1")),
                format!("GET /?u=a&pass={MARK} HTTP/1.1")
            );
        }
        // Base64 of it, its own `+` `/` `=` percent-encoded in a URL.
        let sasl = b64(format!("\0u\0{s}").as_bytes(), false)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert!(red(format!("auth={sasl}")).starts_with(&format!("auth={MARK}")));
        assert!(!red(format!("auth={sasl}")).contains(&sasl[4..]));
    }

    #[test]
    fn base64_is_removed_alone_and_inside_sasl_plain() {
        let s = secret("pw-");
        register(&s);
        let user = "agus.lestari@kuduskab.go.id";
        for url in [false, true] {
            let alone = b64(s.as_bytes(), url);
            clean(&format!("535 bad {alone} x"), &alone);
            clean(
                &format!("535 bad {} x", alone.trim_end_matches('=')),
                &alone,
            );
            for (i, prefix) in [
                format!("\0{user}\0"),
                format!("{user}\0{user}\0"),
                "\0u\0".into(),
                "\0uu\0".into(),
                "\0uuu\0".into(),
            ]
            .iter()
            .enumerate()
            {
                let plain = b64(format!("{prefix}{s}").as_bytes(), url);
                let r = red(format!("AUTH PLAIN {plain} rejected ({i})"));
                assert_eq!(r, format!("AUTH PLAIN {MARK} rejected ({i})"));
                let suffix = b64(format!("{prefix}{s}\0trailer").as_bytes(), url);
                assert!(!redact(&suffix).contains(&suffix[8..]), "{i}");
            }
        }
        // Base64 of text that does not hold the secret is left alone.
        let other = b64(format!("\0{user}\0not-it").as_bytes(), false);
        assert_eq!(redact(&other), other);
    }

    #[test]
    fn short_secrets_and_many_secrets() {
        let short = "q7!";
        register(short);
        assert_eq!(redact("x q7! y"), "x <redacted> y");
        let many: Vec<String> = (0..2000).map(|i| secret(&format!("m{i}-"))).collect();
        for s in &many {
            register(s);
        }
        let text: String = many
            .iter()
            .step_by(97)
            .map(|s| format!("no: {s}; "))
            .collect();
        let r = redact(&text);
        assert!(many.iter().all(|s| !r.contains(s.as_str())));
        assert_eq!(r.matches(MARK).count(), many.iter().step_by(97).count());
    }

    #[test]
    fn owned_texts_without_a_secret_are_returned_as_they_are() {
        assert_eq!(redact_owned("plain reply".into()), "plain reply");
        let mut t = String::from("IMAP login as a@b: login refused");
        redact_in_place(&mut t);
        assert_eq!(t, "IMAP login as a@b: login refused");
    }
}
