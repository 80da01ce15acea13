//! Issue 12, "done when": a grep for every generated password across stdout,
//! stderr, records, git objects, the site and the daemons' logs finds nothing, with a
//! server that echoes credentials in the loop.
//!
//! The office: the bundled Kudus instance, its mail on a real Dovecot + Postfix
//! (tests/common/mail.rs) whose files loket writes on "mail-1" over a real sshd
//! (tests/common/sshd.rs). Between loket and Dovecot's IMAP sits a proxy that
//! appends the `LOGIN` it was sent to the server's answer, as is, quoted, SASL PLAIN
//! base64 and percent-encoded: to the `OK` of a login that works and to the `NO` of
//! one that does not (while `sabotage` is set it spoils one user's password on the
//! way, so real Dovecot refuses it). Two applies (the first with a refused login,
//! the second retrying it as a reset), `verify` with the sealed passwords, `plan`,
//! `audit` and `loket site` run; the instance is a git repository whose records are
//! committed after each run, as CI does.
//!
//! Every password sealed to the outbox (opened with the test's admin identity) and
//! every one the proxy saw is then looked for, with its encodings, in: each run's
//! stdout and stderr, records/, every object of the instance's git repository
//! (`git cat-file --batch-all-objects --batch`: the contents, not the compressed
//! files), the built site, the state folder but the outbox, and the daemons' files
//! and logs (Dovecot's log, Postfix's maillog and queue, the delivered mail, sshd's
//! log). Before that, the same search must find passwords planted in each of those
//! forms, in a scratch file and in a scratch git repository: it can fail.

#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/mail.rs"]
mod mail;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use apply::*;
use common::sshd::Sshd;
use mail::MailServer;

const MARK: &str = "<redacted>";

/// Standard padded base64, written here independently of loket's redaction.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encoding of every byte but the unreserved ones (`upper` hex digits or not).
fn url_encoded(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// Percent-encoding of every byte, letters and digits too.
fn url_encoded_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The forms a secret can take in a text, each long enough to be no accident: as is;
/// IMAP/JSON quoted; percent-encoded (partly or wholly); hex; and base64, standard or
/// URL-safe, at each of the three byte offsets it can start at inside a longer
/// base64 string (SASL PLAIN): the run of characters that depends on its bytes alone.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let escaped = secret.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = vec![
        ("plain", secret.to_string()),
        ("quoted", format!("\"{escaped}\"")),
        ("url-encoded", url_encoded(secret, true)),
        ("url-encoded (lower hex)", url_encoded(secret, false)),
        ("url-encoded (every byte)", url_encoded_all(secret)),
        ("hex", secret.bytes().map(|b| format!("{b:02x}")).collect()),
    ];
    for k in 0..3usize {
        let mut bytes = vec![0u8; k];
        bytes.extend_from_slice(secret.as_bytes());
        let enc = b64(&bytes);
        let start = [0, 2, 3][k];
        let end = bytes.len() / 3 * 4;
        let core = enc[start..end].to_string();
        out.push(("base64", core.clone()));
        out.push(("base64url", core.replace('+', "-").replace('/', "_")));
    }
    out
}

/// A haystack: where it came from, and its bytes.
type Hay = (String, Vec<u8>);

/// A needle: the secret's number, the form's name and the form's bytes.
type Needle<'a> = (usize, &'a str, &'a [u8]);

/// Every (place, secret number, form) where a form of a secret occurs. Needles are
/// indexed by their first eight bytes, so each haystack is scanned once.
fn grep(secrets: &[String], hay: &[Hay]) -> Vec<String> {
    const K: usize = 8;
    let mut index: HashMap<&[u8], Vec<Needle>> = HashMap::new();
    let all: Vec<(usize, Vec<(&'static str, String)>)> = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| (i, forms(s)))
        .collect();
    for (i, fs) in &all {
        for (form, n) in fs {
            assert!(n.len() >= K, "needle too short");
            index
                .entry(&n.as_bytes()[..K])
                .or_default()
                .push((*i, form, n.as_bytes()));
        }
    }
    let mut found = Vec::new();
    for (place, h) in hay {
        for at in 0..h.len().saturating_sub(K - 1) {
            let Some(cands) = index.get(&h[at..at + K]) else {
                continue;
            };
            for (i, form, n) in cands {
                if h[at..].starts_with(n) {
                    // The secret itself is never printed.
                    found.push(format!("password #{i} ({form}) in {place} at byte {at}"));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Every regular file under `dir` (links followed: the site is a link to its copy),
/// but the folders named `skip`.
fn files(dir: &Path, skip: &[&str]) -> Vec<Hay> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| !skip.iter().any(|s| e.file_name() == *s))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=CI", "-c", "user.email=ci@kuduskab.go.id"])
        .args(args)
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {}", text(&o));
    o
}

/// Commits everything in the working tree (records/, as the apply workflow does).
fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// The contents of every object in the repository at `dir`, one haystack.
fn git_objects(dir: &Path) -> Hay {
    let o = git(dir, &["cat-file", "--batch-all-objects", "--batch"]);
    (format!("git objects of {}", dir.display()), o.stdout)
}

/// (user, password) a LOGIN through the proxy carried.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An IMAP proxy in front of `upstream` that appends the LOGIN it relayed to the
/// server's tagged answer; with `sabotage` set, `victim`'s password is spoiled on
/// the way (the server then refuses it, and the refusal quotes the real one).
fn echoing_proxy(upstream: String, seen: Seen, sabotage: Arc<AtomicBool>, victim: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let victim = victim.to_string();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let login: Arc<Mutex<Option<(String, String, String)>>> = Default::default();
            let (mut to_server, from_server) = (server.try_clone().unwrap(), server);
            let (mut to_client, from_client) = (client.try_clone().unwrap(), client);
            let (l2, seen, sabotage, victim) = (
                Arc::clone(&login),
                Arc::clone(&seen),
                Arc::clone(&sabotage),
                victim.clone(),
            );
            std::thread::spawn(move || {
                for line in BufReader::new(from_client).lines().map_while(Result::ok) {
                    let f: Vec<&str> = line.split(' ').collect();
                    let mut out = line.clone();
                    if f.len() == 4 && f[1].eq_ignore_ascii_case("LOGIN") {
                        let (user, pw) = (f[2].trim_matches('"'), f[3].trim_matches('"'));
                        seen.lock().unwrap().push((user.into(), pw.into()));
                        *l2.lock().unwrap() = Some((f[0].into(), user.into(), pw.into()));
                        if sabotage.load(Ordering::SeqCst) && user.eq_ignore_ascii_case(&victim) {
                            out = format!("{} LOGIN \"{user}\" \"{pw}spoiled\"", f[0]);
                        }
                    }
                    if to_server
                        .write_all(format!("{out}\r\n").as_bytes())
                        .is_err()
                    {
                        break;
                    }
                }
            });
            std::thread::spawn(move || {
                for line in BufReader::new(from_server).lines().map_while(Result::ok) {
                    let mut out = line.clone();
                    if let Some((tag, user, pw)) = login.lock().unwrap().as_ref()
                        && line.starts_with(&format!("{tag} "))
                    {
                        out.push_str(&format!(
                            " (proxy: LOGIN \"{user}\" \"{pw}\" = AUTH PLAIN {} {} \
                             = user={}&pass={})",
                            b64(format!("\0{user}\0{pw}").as_bytes()),
                            b64(format!("{user}\0{user}\0{pw}").as_bytes()),
                            url_encoded(user, true),
                            url_encoded_all(pw),
                        ));
                    }
                    if to_client
                        .write_all(format!("{out}\r\n").as_bytes())
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Every password sealed to the outbox (the admin identity opens them all).
fn outbox_passwords(state: &Path, id: &age::x25519::Identity) -> Vec<String> {
    fs::read_dir(state.join("outbox"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            let ticket = name.strip_suffix(".age")?.to_string();
            Some(sealed_password(state, &ticket, id).expose().to_string())
        })
        .collect()
}

#[test]
fn the_grep_finds_planted_passwords_in_every_form() {
    let pw = loket::apply::credentials::generate_password()
        .expose()
        .to_string();
    let other = loket::apply::credentials::generate_password()
        .expose()
        .to_string();
    let user = "agus.lestari@kuduskab.go.id";
    let plants = [
        format!("refused {pw} here"),
        format!("a1 NO LOGIN \"{user}\" \"{pw}\""),
        format!("AUTH PLAIN {}", b64(format!("\0{user}\0{pw}").as_bytes())),
        format!(
            "AUTH PLAIN {}",
            b64(format!("{user}\0{user}\0{pw}").as_bytes())
        ),
        format!("AUTH PLAIN {}", b64(format!("x{user}\0{pw}").as_bytes())),
        b64(format!("{user}\0{pw}").as_bytes())
            .replace('+', "-")
            .replace('/', "_"),
        format!("?user=x&pass={}", url_encoded_all(&pw)),
        format!(
            "hex {}",
            pw.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    ];
    for p in &plants {
        let hay = vec![("scratch".to_string(), p.clone().into_bytes())];
        assert!(
            !grep(std::slice::from_ref(&pw), &hay).is_empty(),
            "missed in {p:?}"
        );
        assert!(grep(std::slice::from_ref(&other), &hay).is_empty());
    }
    // In a file, and in a git repository whose objects are compressed on disk.
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("clean"), "nothing here").unwrap();
    assert!(grep(std::slice::from_ref(&pw), &files(tmp.path(), &[])).is_empty());
    git(tmp.path(), &["init", "-q"]);
    fs::write(tmp.path().join("leak.toml"), format!("detail = \"{pw}\"\n")).unwrap();
    commit_all(tmp.path(), "a leak");
    fs::remove_file(tmp.path().join("leak.toml")).unwrap();
    commit_all(tmp.path(), "the leak gone from the tree");
    let raw: Vec<Hay> = files(&tmp.path().join(".git/objects"), &[]);
    assert!(
        grep(std::slice::from_ref(&pw), &raw).is_empty(),
        "compressed"
    );
    let found = grep(std::slice::from_ref(&pw), &[git_objects(tmp.path())]);
    assert!(
        found.iter().any(|f| f.contains("(plain) in git objects")),
        "{found:?}"
    );
}

#[test]
fn no_generated_password_is_anywhere_after_applies_through_an_echoing_proxy() {
    let Some(sshd) = Sshd::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let seen: Seen = Default::default();
    let sabotage = Arc::new(AtomicBool::new(true));
    let proxy = echoing_proxy(
        server.imap(),
        Arc::clone(&seen),
        Arc::clone(&sabotage),
        LESTARI,
    );
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = server.backend_toml().replace(
        &format!("imap = \"{}\"", server.imap()),
        &format!("imap = \"{proxy}\""),
    ) + &format!(
        "host = \"mail-1\"\nidentity-file = \"{}\"\n",
        sshd.admin_identity.display()
    );
    assert!(mail.contains(&proxy));
    let inst = instance(
        tmp.path(),
        &format!(
            "{}\n[[servers]]\nname = \"mail-1\"\naddress = \"127.0.0.1\"\nport = {}\n\
             host-key = \"{}\"\naccount-kinds = [\"opd\"]\nmax-days = 30\n",
            backends(&id.to_public().to_string(), &mail, &state),
            sshd.port,
            sshd.host_key
        ),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    set_account(&inst, BAMBANG, "active", &[BAMBANG_CREATE]);
    git(&inst, &["init", "-q"]);
    commit_all(&inst, "the office");
    let mut outputs: Vec<(&str, Output)> = Vec::new();
    let check = loket(&inst, &["check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));

    // Run 1: Lestari's login is refused by Dovecot (the proxy spoiled it), and the
    // refusal comes back quoting the real password.
    let first = loket(&inst, &["apply", "--run", "grep-1"]);
    assert_eq!(code(&first), 1, "{}\n{}", text(&first), server.logs());
    let line = text(&first)
        .lines()
        .find(|l| l.contains(LESTARI) && l.contains("FAILED"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", text(&first)));
    assert!(
        line.contains("login refused") && line.contains(&format!("\"{MARK}\"")),
        "the echo reached loket, redacted: {line}"
    );
    commit_all(&inst, "records of grep-1");
    let passwords_1 = outbox_passwords(&state, &id);
    outputs.push(("apply grep-1", first));

    // Run 2: the retry (a reset, a new password) through the echoing proxy works.
    sabotage.store(false, Ordering::SeqCst);
    let second = loket(&inst, &["apply", "--run", "grep-2", "--format", "json"]);
    assert_eq!(code(&second), 0, "{}\n{}", text(&second), server.logs());
    commit_all(&inst, "records of grep-2");
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("outcome = \"done\""), "{record}");
    outputs.push(("apply grep-2", second));

    // `verify` logs in with every sealed password, Lestari's refused again.
    sabotage.store(true, Ordering::SeqCst);
    let key = tmp.path().join("admin.key");
    let secret = age::secrecy::ExposeSecret::expose_secret(&id.to_string()).to_string();
    fs::write(&key, format!("{secret}\n")).unwrap();
    let verify = loket(&inst, &["verify", "--identity", key.to_str().unwrap()]);
    assert_eq!(code(&verify), 1, "{}", text(&verify));
    assert!(text(&verify).contains(MARK), "{}", text(&verify));
    outputs.push(("verify", verify));
    for args in [&["plan"][..], &["audit"]] {
        outputs.push((args[0], loket(&inst, args)));
    }
    let site_dir = tmp.path().join("site-out");
    fs::create_dir_all(&site_dir).unwrap();
    let site = loket(
        &inst,
        &["site", "--out", site_dir.join("public").to_str().unwrap()],
    );
    assert_eq!(code(&site), 0, "{}", text(&site));
    outputs.push(("site", site));
    commit_all(&inst, "after verify");

    // The needles: every password sealed (the first run's, overwritten by the reset,
    // kept from then) and every one the proxy relayed.
    let mut secrets = passwords_1;
    secrets.extend(outbox_passwords(&state, &id));
    let seen: Vec<(String, String)> = seen.lock().unwrap().clone();
    assert!(seen.len() >= 4, "logins through the proxy: {}", seen.len());
    for (user, pw) in &seen {
        assert!(
            secrets.contains(pw),
            "the proxy saw {user}'s sealed password"
        );
    }
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 3, "{}", secrets.len());

    // The haystacks.
    let mut hay: Vec<Hay> = Vec::new();
    for (what, o) in &outputs {
        hay.push((format!("stdout of {what}"), o.stdout.clone()));
        hay.push((format!("stderr of {what}"), o.stderr.clone()));
    }
    hay.extend(files(&inst.join("records"), &[]));
    hay.push(git_objects(&inst));
    let site_files = files(&site_dir, &[]);
    assert!(
        site_files.iter().any(|(p, _)| p.ends_with(".html")),
        "a site was built"
    );
    hay.extend(site_files);
    hay.extend(files(&state, &["outbox"]));
    let daemons = files(&server.dir, &[]);
    for log in ["dovecot/dovecot.log", "postfix/maillog"] {
        let p = server.dir.join(log).display().to_string();
        assert!(daemons.iter().any(|(f, b)| *f == p && !b.is_empty()), "{p}");
    }
    hay.extend(daemons);
    hay.push(("sshd log".into(), sshd.log().join("\n").into_bytes()));
    assert!(sshd.log().iter().any(|l| l.contains("Accepted publickey")));

    let found = grep(&secrets, &hay);
    assert!(
        found.is_empty(),
        "{} secrets searched in {} places; found:\n{}",
        secrets.len(),
        hay.len(),
        found.join("\n")
    );
    eprintln!(
        "{} passwords ({} logins through the echoing proxy), {} forms each, searched in \
         {} places ({} bytes): none found",
        secrets.len(),
        seen.len(),
        forms(&secrets[0]).len(),
        hay.len(),
        hay.iter().map(|(_, h)| h.len()).sum::<usize>()
    );
}
