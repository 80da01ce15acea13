//! Issue 12.1: no secret leaves `loket apply` through a reply. For each protocol a
//! server that quotes the credentials back (as is, and as SASL PLAIN base64 of
//! `\0user\0pass` and `user\0user\0pass`): the real `loket` binary runs against it,
//! then every generated password (opened from the outbox with the test's admin
//! identity), the LDAP bind password and the admin's SSH key are looked for in
//! stdout, stderr, records/ and the state dir (outbox aside) — none may be there —
//! and the report must still say what failed, the server's text redacted.

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use apply::*;

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

/// The base64 forms a server echoing an `AUTH PLAIN` would show.
fn sasl_plain(user: &str, pw: &str) -> [String; 2] {
    [
        b64(format!("\0{user}\0{pw}").as_bytes()),
        b64(format!("{user}\0{user}\0{pw}").as_bytes()),
    ]
}

/// (user, password) pairs a fake server was sent.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A TCP server on 127.0.0.1:0, each connection handled in its own thread.
fn serve(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let h = Arc::clone(&handle);
            std::thread::spawn(move || h(s));
        }
    });
    addr
}

/// IMAP: refuses every LOGIN quoting it back (`accept`: lets it in, INBOX empty).
fn fake_imap(seen: Seen, accept: bool) -> String {
    serve(move |s| {
        let mut w = s.try_clone().unwrap();
        let _ = w.write_all(b"* OK fake IMAP ready\r\n");
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            let mut f = line.split_whitespace();
            let tag = f.next().unwrap_or("*").to_string();
            let cmd = f.next().unwrap_or("").to_ascii_uppercase();
            let reply = match cmd.as_str() {
                "LOGIN" => {
                    let (u, p) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                    let (user, pw) = (u.trim_matches('"'), p.trim_matches('"'));
                    seen.lock().unwrap().push((user.into(), pw.into()));
                    if accept {
                        format!("{tag} OK LOGIN completed")
                    } else {
                        let [a, b] = sasl_plain(user, pw);
                        format!(
                            "{tag} NO [AUTHENTICATIONFAILED] LOGIN {u} {p} rejected \
                             (proxy: AUTH PLAIN {a} / {b})"
                        )
                    }
                }
                "STATUS" => format!("* STATUS INBOX (MESSAGES 0)\r\n{tag} OK STATUS done"),
                "LOGOUT" => format!("* BYE\r\n{tag} OK LOGOUT done"),
                _ => format!("{tag} BAD unknown command"),
            };
            if w.write_all(format!("{reply}\r\n").as_bytes()).is_err() || cmd == "LOGOUT" {
                break;
            }
        }
    })
}

/// SMTP: refuses every recipient, quoting the credentials the IMAP stand-in saw
/// for it (loket sends no SMTP credentials; a proxy in front of both could).
fn fake_smtp(seen: Seen) -> String {
    serve(move |s| {
        let mut w = s.try_clone().unwrap();
        let _ = w.write_all(b"220 fake ESMTP\r\n");
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            let up = line.to_ascii_uppercase();
            let reply = if up.starts_with("RCPT") {
                let to = line.split('<').nth(1).unwrap_or("").trim_end_matches('>');
                let pw = seen
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .find(|(u, _)| u.eq_ignore_ascii_case(to))
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default();
                let [a, b] = sasl_plain(to, &pw);
                format!("550 5.7.1 <{to}> password \"{pw}\" not welcome (AUTH PLAIN {a} {b})")
            } else if up.starts_with("QUIT") {
                "221 bye".into()
            } else {
                "250 ok".into()
            };
            if w.write_all(format!("{reply}\r\n").as_bytes()).is_err() {
                break;
            }
        }
    })
}

/// Every password sealed to the outbox so far (the admin identity opens them all).
fn outbox_passwords(state: &Path, id: &age::x25519::Identity) -> Vec<String> {
    let Ok(dir) = fs::read_dir(state.join("outbox")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        let ticket = name.strip_suffix(".age")?.to_string();
        Some(sealed_password(state, &ticket, id).expose().to_string())
    })
    .collect()
}

/// Names of the places (outputs, files under `dirs` but outboxes) holding a needle.
/// The needles themselves are never printed.
fn leaks(needles: &[String], outputs: &[&Output], dirs: &[&Path]) -> Vec<String> {
    let mut hay: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        hay.push((format!("stdout of run {i}"), o.stdout.clone()));
        hay.push((format!("stderr of run {i}"), o.stderr.clone()));
    }
    for d in dirs {
        for e in walkdir::WalkDir::new(d)
            .into_iter()
            .filter_entry(|e| e.file_name() != "outbox")
            .flatten()
            .filter(|e| e.file_type().is_file())
        {
            hay.push((
                e.path().display().to_string(),
                fs::read(e.path()).unwrap_or_default(),
            ));
        }
    }
    let mut found = Vec::new();
    for (name, h) in &hay {
        for (i, n) in needles.iter().enumerate() {
            if !n.is_empty() && h.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push(format!("secret #{i} in {name}"));
            }
        }
    }
    found
}

fn mail_toml(state: &Path, imap: &str, smtp: Option<&str>) -> String {
    format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}/mail/passwd\"\nimap = \"{imap}\"\n{}",
        state.display(),
        smtp.map(|s| format!("smtp = \"{s}\"\n"))
            .unwrap_or_default()
    )
}

fn record(inst: &Path, ticket: &str) -> String {
    fs::read_to_string(inst.join(format!("records/{ticket}.toml"))).unwrap()
}

/// The needles: each password and the SASL PLAIN forms the servers sent for it.
fn needles(passwords: &[String], seen: &Seen) -> Vec<String> {
    let mut n: Vec<String> = passwords.to_vec();
    for (user, pw) in seen.lock().unwrap().iter() {
        n.extend(sasl_plain(user, pw));
        n.push(pw.clone());
    }
    n
}

#[test]
fn an_imap_server_quoting_the_login_back_leaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let imap = fake_imap(Arc::clone(&seen), false);
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(
            &id.to_public().to_string(),
            &mail_toml(&state, &imap, None),
            &state,
        ),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    let first = loket(&inst, &["apply", "--run", "echo-1"]);
    assert_eq!(code(&first), 1, "{}", text(&first));
    let mut passwords = outbox_passwords(&state, &id);
    assert!(passwords.len() >= 10, "{}", passwords.len());
    // The stand-in was sent the real passwords, and quoted them back.
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(_, p)| passwords.contains(p))
    );
    assert!(!seen.lock().unwrap().is_empty());

    // The report still says what failed, with the server's words, the secret out.
    let out = text(&first);
    let line = out
        .lines()
        .find(|l| l.contains(LESTARI) && l.contains("FAILED"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("IMAP login as")
            && line.contains("login refused (NO [AUTHENTICATIONFAILED] LOGIN")
            && line.contains(&format!("\"{LESTARI}\" \"{MARK}\" rejected"))
            && line.contains(&format!("AUTH PLAIN {MARK} / {MARK}")),
        "{line}"
    );
    let rec = record(&inst, LESTARI_CREATE);
    assert!(
        rec.contains("login refused") && rec.contains(MARK) && rec.contains("outcome = \"failed\""),
        "{rec}"
    );

    // Again as JSON (the retries are resets: new passwords, refused again), and
    // `loket verify` trying the sealed passwords over IMAP.
    let json = loket(&inst, &["apply", "--run", "echo-2", "--format", "json"]);
    assert_eq!(code(&json), 1, "{}", text(&json));
    assert!(String::from_utf8_lossy(&json.stdout).contains(MARK));
    passwords.extend(outbox_passwords(&state, &id));
    let key = tmp.path().join("admin.key");
    fs::write(
        &key,
        age::secrecy::ExposeSecret::expose_secret(&id.to_string()).to_string() + "\n",
    )
    .unwrap();
    let verify = loket(&inst, &["verify", "--identity", key.to_str().unwrap()]);
    assert_eq!(code(&verify), 1, "{}", text(&verify));
    assert!(
        text(&verify).contains("login refused") && text(&verify).contains(MARK),
        "{}",
        text(&verify)
    );

    let found = leaks(
        &needles(&passwords, &seen),
        &[&first, &json, &verify],
        &[&inst.join("records"), &state],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_smtp_server_quoting_credentials_back_leaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let imap = fake_imap(Arc::clone(&seen), true);
    let smtp = fake_smtp(Arc::clone(&seen));
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(
            &id.to_public().to_string(),
            &mail_toml(&state, &imap, Some(&smtp)),
            &state,
        ),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    let run = loket(&inst, &["apply", "--run", "smtp-1"]);
    assert_eq!(code(&run), 1, "{}", text(&run));
    let passwords = outbox_passwords(&state, &id);
    assert!(!passwords.is_empty() && !seen.lock().unwrap().is_empty());
    let out = text(&run);
    let line = out
        .lines()
        .find(|l| l.contains(LESTARI) && l.contains("FAILED"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains(&format!(
            "SMTP to {LESTARI}: 550 5.7.1 <{LESTARI}> password"
        )) && line.contains(&format!(
            "\"{MARK}\" not welcome (AUTH PLAIN {MARK} {MARK})"
        )),
        "{line}"
    );
    assert!(record(&inst, LESTARI_CREATE).contains("SMTP to"));
    let found = leaks(
        &needles(&passwords, &seen),
        &[&run],
        &[&inst.join("records"), &state],
    );
    assert!(found.is_empty(), "{found:?}");
}

/// A command template whose one tool prints its arguments and stdin (the
/// password), the SASL PLAIN base64 of them, and with `ADMIN_KEY` set that key
/// file, on stdout and stderr, and fails.
const ECHO_TOOL: &str = r#"#!/bin/sh
in=$(cat)
echo "argv: $*"
echo "stdin: $in" >&2
pw=${in##* }; pw=${pw#\"}; pw=${pw%\"}
printf '\0%s\0%s' "$1" "$pw" | base64 -w0 >&2; echo >&2
printf '%s\0%s\0%s' "$1" "$1" "$pw" | base64 -w0; echo
if [ -n "$ADMIN_KEY" ]; then cat "$ADMIN_KEY" >&2; fi
echo "ERROR: refused"
exit 1
"#;

const ECHO_TEMPLATES: &str = r#"
description = "echoes what it is given"
[read]
run = "true"
line = "^(?P<address>\\S+) (?P<status>\\S+)$"
active = "active"
[[actions.create]]
run = "{{ echo }} {{ address|q }}"
stdin = "ca {{ address|zq }} {{ password|zq }}"
[[actions.reset]]
run = "{{ echo }} {{ address|q }}"
stdin = "sp {{ address|zq }} {{ password|zq }}"
"#;

/// `[backends.mail] type = "command"` with the echoing tool, on `server` if given.
fn echo_backend(dir: &Path, server: Option<&str>, admin_key: Option<&Path>) -> String {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).unwrap();
    let tool = dir.join("echo-tool");
    fs::write(&tool, ECHO_TOOL).unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("echo.toml"), ECHO_TEMPLATES).unwrap();
    let env = admin_key
        .map(|k| format!("ADMIN_KEY={} ", k.display()))
        .unwrap_or_default();
    format!(
        "[backends.mail]\ntype = \"command\"\ntemplates = \"{}\"\n{}\
         [backends.mail.vars]\necho = \"{env}{}\"\n",
        dir.join("echo.toml").display(),
        server
            .map(|s| format!("server = \"{s}\"\n"))
            .unwrap_or_default(),
        tool.display()
    )
}

/// The report names the failing step and shows its output, secrets out.
fn assert_echo_failures(out: &str) {
    assert!(
        out.contains(&format!("FAILED create {LESTARI}"))
            && out.contains("exited with 1: argv: ")
            && out.contains("stdin: ca")
            && out.contains("ERROR: refused")
            && out.contains(MARK),
        "{out}"
    );
}

#[test]
fn command_output_echoing_stdin_and_arguments_leaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = echo_backend(&tmp.path().join("tool"), None, None);
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
    );
    let run = loket(&inst, &["apply", "--run", "cmd-1"]);
    assert_eq!(code(&run), 1, "{}", text(&run));
    assert_echo_failures(&text(&run));
    let passwords = outbox_passwords(&state, &id);
    assert!(passwords.len() >= 10, "{}", passwords.len());
    let mut n = passwords.clone();
    for a in fs::read_dir(inst.join("accounts/mail")).unwrap() {
        let user = a
            .unwrap()
            .file_name()
            .to_string_lossy()
            .replace(".toml", "");
        for pw in &passwords {
            n.extend(sasl_plain(&user, pw));
        }
    }
    let found = leaks(&n, &[&run], &[&inst.join("records"), &state]);
    assert!(found.is_empty(), "{found:?}");
}

/// Lines of a private key file that carry key material.
fn key_lines(key: &str) -> Vec<String> {
    key.lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn loket_with_key(inst: &Path, key: &str, args: &[&str]) -> Output {
    common::loket()
        .arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        .env_remove("LOKET_SSH_IDENTITY")
        .env("LOKET_SSH_KEY", key)
        .output()
        .unwrap()
}

fn server_entry(sshd: &common::sshd::Sshd) -> String {
    format!(
        "\n[[servers]]\nname = \"mail-1\"\naddress = \"127.0.0.1\"\nport = {}\n\
         host-key = \"{}\"\naccount-kinds = [\"opd\"]\nmax-days = 30\n",
        sshd.port, sshd.host_key
    )
}

#[test]
fn over_ssh_a_remote_echoing_the_password_and_the_admin_key_leaks_neither() {
    let Some(sshd) = common::sshd::Sshd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let key = fs::read_to_string(&sshd.admin_identity).unwrap();
    // The remote tool also prints the admin's private key (this machine is the host).
    let mail = echo_backend(
        &sshd.dir.path().join("tool"),
        Some("mail-1"),
        Some(&sshd.admin_identity),
    );
    let inst = instance(
        tmp.path(),
        &(backends(&id.to_public().to_string(), &mail, &state) + &server_entry(&sshd)),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    let run = loket_with_key(&inst, &key, &["apply", "--run", "ssh-echo-1"]);
    assert_eq!(code(&run), 1, "{}", text(&run));
    assert_echo_failures(&text(&run));
    let passwords = outbox_passwords(&state, &id);
    assert!(!passwords.is_empty());
    let mut n = passwords.clone();
    for pw in &passwords {
        n.extend(sasl_plain(LESTARI, pw));
    }
    n.extend(key_lines(&key));
    let found = leaks(&n, &[&run], &[&inst.join("records"), &state]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn ssh_stderr_of_a_failing_remote_step_is_redacted() {
    use std::os::unix::fs::PermissionsExt;
    let Some(sshd) = common::sshd::Sshd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let key = fs::read_to_string(&sshd.admin_identity).unwrap();
    // The mail host's `postmap` fails, printing the admin's key on stderr: the
    // text reaches loket as ssh's stderr (the session's own error path).
    let host: PathBuf = sshd.dir.path().join("host");
    fs::create_dir_all(&host).unwrap();
    let postmap = host.join("postmap");
    fs::write(
        &postmap,
        format!(
            "#!/bin/sh\necho \"postmap: fatal: {0}\" >&2\ncat {0} >&2\nexit 1\n",
            sshd.admin_identity.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&postmap, fs::Permissions::from_mode(0o755)).unwrap();
    let mail = format!(
        "[backends.mail]\ntype = \"dovecot\"\nhost = \"mail-1\"\npasswd-file = \"{h}/passwd\"\n\
         virtual-mailboxes = \"{h}/virtual_mailboxes\"\npostmap = \"{}\"\n",
        postmap.display(),
        h = host.display()
    );
    let inst = instance(
        tmp.path(),
        &(backends(&id.to_public().to_string(), &mail, &state) + &server_entry(&sshd)),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    let run = loket_with_key(&inst, &key, &["apply", "--run", "ssh-stderr-1"]);
    assert_eq!(code(&run), 1, "{}", text(&run));
    let out = text(&run);
    assert!(
        out.contains("mail host mail-1: step `")
            && out.contains("postmap: fatal:")
            && out.contains(MARK),
        "{out}"
    );
    let mut n = key_lines(&key);
    n.push(key.trim().to_string());
    let found = leaks(&n, &[&run], &[&inst.join("records"), &state]);
    assert!(found.is_empty(), "{found:?}");
}

// --- LDAP: a stand-in directory speaking just enough BER ---------------------

fn read_tlv(r: &mut impl Read) -> Option<(u8, Vec<u8>)> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).ok()?;
    let tag = b[0];
    r.read_exact(&mut b).ok()?;
    let len = if b[0] < 0x80 {
        b[0] as usize
    } else {
        let mut l = 0usize;
        for _ in 0..(b[0] & 0x7f) {
            r.read_exact(&mut b).ok()?;
            l = l << 8 | b[0] as usize;
        }
        l
    };
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((tag, body))
}

fn tlvs(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(t) = read_tlv(&mut body) {
        out.push(t);
    }
    out
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut v = vec![tag];
    if n < 0x80 {
        v.push(n as u8);
    } else {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(body);
    v
}

/// Refuses every simple bind with invalidCredentials, quoting the DN and password.
fn fake_ldap(seen: Seen) -> String {
    serve(move |mut s| {
        while let Some((0x30, msg)) = read_tlv(&mut s) {
            let parts = tlvs(&msg);
            let (Some((0x02, id)), Some((op, body))) = (parts.first(), parts.get(1)) else {
                break;
            };
            if *op != 0x60 {
                break; // unbind, or anything else: hang up
            }
            let bind = tlvs(body);
            let dn = String::from_utf8_lossy(&bind[1].1).to_string();
            let pw = String::from_utf8_lossy(&bind[2].1).to_string();
            seen.lock().unwrap().push((dn.clone(), pw.clone()));
            let [a, b] = sasl_plain(&dn, &pw);
            let text = format!("bind as \"{dn}\" with \"{pw}\" refused (AUTH PLAIN {a} {b})");
            let result = [tlv(0x0a, &[49]), tlv(0x04, b""), tlv(0x04, text.as_bytes())].concat();
            let reply = tlv(0x30, &[tlv(0x02, id), tlv(0x61, &result)].concat());
            if s.write_all(&reply).is_err() {
                break;
            }
        }
    })
}

#[test]
fn an_ldap_server_quoting_the_bind_password_back_leaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let seen: Seen = Default::default();
    let addr = fake_ldap(Arc::clone(&seen));
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = format!(
        "[backends.mail]\ntype = \"ldap\"\nurl = \"ldap://{addr}\"\n\
         bind-dn = \"cn=admin,dc=kudus,dc=test\"\nbase = \"ou=mail,dc=kudus,dc=test\"\n\
         bind-password-env = \"TEST_LDAP_BIND_PW\"\n"
    );
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
    );
    let bind_pw = loket::apply::credentials::generate_password()
        .expose()
        .to_string();
    let run_with = |args: &[&str]| {
        common::loket()
            .arg("-C")
            .arg(&inst)
            .args(args)
            .env_remove("GITHUB_RUN_ID")
            .env("TEST_LDAP_BIND_PW", &bind_pw)
            .output()
            .unwrap()
    };
    let apply = run_with(&["apply", "--run", "ldap-1"]);
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    let plan = run_with(&["plan"]);
    assert_eq!(code(&plan), 1, "{}", text(&plan));
    assert_eq!(
        seen.lock().unwrap().first().map(|(_, p)| p == &bind_pw),
        Some(true),
        "the stand-in was sent the bind password"
    );
    for o in [&apply, &plan] {
        let out = text(o);
        assert!(
            out.contains("ldap bind cn=admin,dc=kudus,dc=test at ldap://")
                && out.contains("invalidCredentials")
                && out.contains(&format!(
                    "with \"{MARK}\" refused (AUTH PLAIN {MARK} {MARK})"
                )),
            "{out}"
        );
    }
    let mut n = vec![bind_pw.clone()];
    n.extend(sasl_plain("cn=admin,dc=kudus,dc=test", &bind_pw));
    let found = leaks(&n, &[&apply, &plan], &[&inst.join("records"), &state]);
    assert!(found.is_empty(), "{found:?}");
}
