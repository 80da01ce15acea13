//! The command-template backend: the shipped Zimbra templates render the documented
//! `zmprov` commands (snapshot), passwords never reach a command line or a message,
//! output is checked, and the whole plan → apply → verify cycle runs the templates
//! for real (against a stand-in `zmprov` that keeps state in files), locally and
//! over SSH to a real sshd.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use loket::apply::command::{CommandBackend, Runner, TemplateFile, render_mail};
use loket::apply::plan::{Action, Desired, Kinds, diff_mail};
use loket::apply::{Backend, Change, Secret, Verified};
use loket::model::account::MailAccount;
use loket::model::request::RequestKind;

const CREATE: &str = "KDS-QTF6R-ZN7MH";
const RESET: &str = "KDS-ENY54-JAFNR";
const DEACTIVATE: &str = "KDS-X8FA5-QQEQ8";
const ADDR: &str = "budi.santoso@kuduskab.go.id";

fn zimbra() -> TemplateFile {
    TemplateFile::load(&common::repo_root().join("templates/backends/zimbra.toml"))
        .expect("zimbra.toml loads")
}

/// Compares `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = common::repo_root().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_SNAPSHOTS=1", path.display()));
    assert_eq!(
        expected, actual,
        "snapshot {name} differs; review and run with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn zimbra_templates_render_the_documented_commands() {
    let file = zimbra();
    let pw = Secret::new("Xq7pRm2KvT9wZb4NhC3s".into());
    let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases = [
        ("create", true, t(&[CREATE]), Some(&pw)),
        ("create", false, t(&[CREATE]), None),
        ("disable", false, t(&[DEACTIVATE]), None),
        ("enable", true, t(&[CREATE]), None),
        ("reset", true, t(&[RESET]), Some(&pw)),
    ];
    let mut out = String::new();
    for (action, active, tickets, password) in cases {
        let steps = render_mail(&file, action, ADDR, active, &tickets, password).unwrap();
        out.push_str(&format!("## {action} (active = {active})\n"));
        for s in &steps {
            out.push_str(&s.to_string());
        }
        out.push('\n');
    }
    assert!(
        !out.contains(pw.expose()),
        "the display redacts the password"
    );
    assert!(
        out.contains("ca \"budi.santoso@kuduskab.go.id\" \"<password>\""),
        "{out}"
    );
    assert!(out.contains("zimbraAccountStatus \"locked\""), "{out}");
    assert!(
        out.contains("sp \"budi.santoso@kuduskab.go.id\" \"<password>\""),
        "{out}"
    );
    snapshot("zimbra_commands.txt", &out);
}

#[test]
fn a_password_in_a_command_line_is_refused() {
    let text = r#"
description = "bad"
[read]
run = "true"
line = "^(?P<address>\\S+) (?P<status>\\S+)$"
active = "active"
[[actions.create]]
run = "mkuser {{ address|q }} {{ password }}"
"#;
    let file = TemplateFile::parse("bad.toml", text).unwrap();
    let pw = Secret::new("s3cret".into());
    let err = render_mail(&file, "create", ADDR, true, &[], Some(&pw)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("may only be used in stdin"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
}

#[test]
fn a_bad_pattern_is_refused_when_loading() {
    let text = r#"
description = "bad"
[read]
run = "true"
line = "(unclosed"
active = "active"
[actions]
"#;
    let err = TemplateFile::parse("bad.toml", text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.toml") && err.contains("bad pattern"),
        "{err}"
    );
}

#[test]
fn output_is_checked_and_failures_never_show_the_password() {
    let text = r#"
description = "checks"
[read]
run = "true"
line = "^(?P<address>\\S+) (?P<status>\\S+)$"
active = "active"
[[actions.create]]
run = "cat; exit 3"
stdin = "user {{ address }} pass {{ password }}"
[[actions.reset]]
run = "cat"
stdin = "{{ password }}"
expect = "^OK"
[[actions.enable]]
run = "echo 'ERROR: no such account'"
refuse = "(?m)^ERROR"
"#;
    let file = TemplateFile::parse("checks.toml", text).unwrap();
    let pw = Secret::new("Hunter2Hunter2".into());
    let mut runner = Runner::Local;
    let step = |a: &str| {
        render_mail(&file, a, ADDR, true, &[], Some(&pw))
            .unwrap()
            .remove(0)
    };

    let err = runner.run_step(&step("create")).unwrap_err();
    assert!(err.contains("exited with 3"), "{err}");
    assert!(
        err.contains("pass <password>") && !err.contains(pw.expose()),
        "{err}"
    );
    let err = runner.run_step(&step("reset")).unwrap_err();
    assert!(err.contains("does not match /^OK/"), "{err}");
    assert!(!err.contains(pw.expose()), "{err}");
    let err = runner.run_step(&step("enable")).unwrap_err();
    assert!(err.contains("matches /(?m)^ERROR/"), "{err}");
}

/// A stand-in for `zmprov` reading commands on stdin, keeping each account as a
/// folder (`pw`, `status`, `desc`), and answering `gaa -v` like Zimbra does.
const FAKE_ZMPROV: &str = r##"#!/bin/sh
echo "$*" >> "$STATE/argv.log"
while IFS= read -r line; do
  eval "set -- $line"
  cmd=$1; shift
  case $cmd in
    ca) a=$1; mkdir "$STATE/$a" 2>/dev/null || { echo "ERROR: account.ACCOUNT_EXISTS ($a)"; continue; }
        printf '%s' "$2" > "$STATE/$a/pw"; : > "$STATE/$a/desc"; shift 2
        while [ $# -gt 1 ]; do
          case $1 in zimbraAccountStatus) echo "$2" > "$STATE/$a/status";; description) echo "$2" >> "$STATE/$a/desc";; esac
          shift 2
        done
        echo "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";;
    ma) a=$1; shift; [ -d "$STATE/$a" ] || { echo "ERROR: account.NO_SUCH_ACCOUNT ($a)"; continue; }
        while [ $# -gt 1 ]; do
          case $1 in zimbraAccountStatus) echo "$2" > "$STATE/$a/status";; +description) echo "$2" >> "$STATE/$a/desc";; esac
          shift 2
        done;;
    sp) [ -d "$STATE/$1" ] || { echo "ERROR: account.NO_SUCH_ACCOUNT ($1)"; continue; }
        printf '%s' "$2" > "$STATE/$1/pw";;
    gaa) for d in "$STATE"/*@"$2"; do
          [ -d "$d" ] || continue
          echo "# name ${d##*/}"; echo "zimbraAccountStatus: $(cat "$d/status")"
          while IFS= read -r l; do echo "description: $l"; done < "$d/desc"
        done;;
    *) echo "ERROR: unknown command $cmd";;
  esac
done
"##;

fn fake_zimbra(dir: &Path) -> BTreeMap<String, String> {
    let state = dir.join("zimbra");
    std::fs::create_dir_all(&state).unwrap();
    let bin = dir.join("zmprov");
    std::fs::write(&bin, FAKE_ZMPROV).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    BTreeMap::from([(
        "zmprov".to_string(),
        format!("STATE={} {}", state.display(), bin.display()),
    )])
}

fn mail(status: &str, tickets: &[&str]) -> MailAccount {
    toml::from_str(&format!(
        "address = \"{ADDR}\"\nstatus = \"{status}\"\ntickets = {tickets:?}\n\
         [holder]\nname = \"Budi\"\nopd = \"Diskominfo\"\n"
    ))
    .unwrap()
}

/// plan → apply (fresh passwords where needed) → verify; returns actions and passwords.
fn run(b: &mut CommandBackend, acc: &MailAccount) -> Vec<(Action, Option<Secret>)> {
    let desired = Desired {
        mail: vec![acc],
        server: vec![],
        kinds: Kinds::Known(
            [
                (CREATE, RequestKind::MailCreate),
                (RESET, RequestKind::MailReset),
                (DEACTIVATE, RequestKind::MailDeactivate),
            ]
            .into(),
        ),
    };
    let live = b.read().expect("read");
    let plan = diff_mail(b.name(), &desired, &live);
    let pws: Vec<Option<Secret>> = plan
        .iter()
        .map(|c| {
            c.action
                .needs_password(&c.target)
                .then(loket::apply::credentials::generate_password)
        })
        .collect();
    let changes: Vec<Change<'_>> = plan
        .iter()
        .zip(&pws)
        .map(|(planned, pw)| Change {
            planned,
            password: pw.as_ref(),
            hash: None,
        })
        .collect();
    let results = b.apply(&changes);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for c in &changes {
        assert!(matches!(b.verify(c).expect("verify"), Verified::State(_)));
    }
    plan.iter().map(|c| c.action).zip(pws).collect()
}

fn zimbra_cycle(b: &mut CommandBackend, state: &Path) {
    let acct = state.join("zimbra").join(ADDR);
    let r = run(b, &mail("active", &[CREATE]));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, Action::Create);
    let pw = r[0].1.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(acct.join("pw")).unwrap(),
        pw.expose()
    );
    assert!(
        run(b, &mail("active", &[CREATE])).is_empty(),
        "second run is a no-op"
    );

    let r = run(b, &mail("active", &[CREATE, RESET]));
    assert_eq!(r[0].0, Action::Reset);
    let new = r[0].1.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(acct.join("pw")).unwrap(),
        new.expose()
    );
    assert!(
        run(b, &mail("active", &[CREATE, RESET])).is_empty(),
        "reset done once"
    );

    let off = mail("disabled", &[CREATE, RESET, DEACTIVATE]);
    assert_eq!(run(b, &off)[0].0, Action::Disable);
    assert_eq!(
        std::fs::read_to_string(acct.join("status")).unwrap().trim(),
        "locked"
    );
    assert!(run(b, &off).is_empty());

    // zmprov was only ever started with its fixed arguments: no password in argv.
    let argv = std::fs::read_to_string(state.join("zimbra/argv.log")).unwrap();
    assert!(
        !argv.contains(pw.expose()) && !argv.contains(new.expose()),
        "{argv}"
    );
}

#[test]
fn zimbra_templates_run_locally() {
    let dir = tempfile::tempdir().unwrap();
    let vars = fake_zimbra(dir.path());
    let mut b = CommandBackend::new(
        "zimbra",
        zimbra(),
        vars,
        vec!["kuduskab.go.id".into()],
        Runner::Local,
    );
    zimbra_cycle(&mut b, dir.path());
}

#[test]
fn zimbra_templates_run_over_ssh() {
    use loket::apply::ssh::{SshHost, SshTarget};
    let Some(sshd) = common::sshd::Sshd::start() else {
        return;
    };
    // The "mail host" is this machine, reached as root through the real sshd.
    let dir: PathBuf = sshd.dir.path().join("mailhost");
    std::fs::create_dir_all(&dir).unwrap();
    let vars = fake_zimbra(&dir);
    let host = SshHost::new(SshTarget {
        server: "mail-1".into(),
        address: "127.0.0.1".into(),
        port: sshd.port,
        host_key: sshd.host_key.clone(),
        admin_user: "root".into(),
        identity: sshd.admin_identity.clone(),
    });
    let mut b = CommandBackend::new(
        "zimbra",
        zimbra(),
        vars,
        vec!["kuduskab.go.id".into()],
        Runner::Ssh(Box::new(host), None),
    );
    zimbra_cycle(&mut b, &dir);
    let logins = sshd
        .log()
        .iter()
        .filter(|l| l.contains("Accepted publickey for root"))
        .count();
    assert_eq!(logins, 1, "one SSH session for the whole run");
}

#[test]
fn the_documented_configs_parse() {
    use loket::model::backends::{Backends, MailBackend, ServerBackend};
    let b: Backends = toml::from_str(
        r#"
[mail]
type = "command"
templates = "templates/backends/zimbra.toml"
server = "mail-1"
[mail.vars]
zmprov = "su - zimbra -c '/opt/zimbra/bin/zmprov -l'"

[server]
type = "ssh"
identity-file = "/etc/loket/admin_ed25519"
"#,
    )
    .unwrap();
    let Some(MailBackend::Command(c)) = &b.mail else {
        panic!("{b:?}")
    };
    assert_eq!(
        c.vars["zmprov"],
        "su - zimbra -c '/opt/zimbra/bin/zmprov -l'"
    );
    assert!(matches!(b.server, Some(ServerBackend::Ssh(_))));
    let b: Backends = toml::from_str(
        "[server]\ntype = \"ldap\"\nurl = \"ldap://127.0.0.1:389\"\n\
         bind-dn = \"cn=loket,dc=x\"\nbase = \"ou=servers,dc=x\"\n",
    )
    .unwrap();
    let Some(ServerBackend::Ldap(l)) = &b.server else {
        panic!("{b:?}")
    };
    assert_eq!(l.bind_password_env, "LOKET_LDAP_PASSWORD");
    // A typo is an error, not a silently ignored setting.
    let err = toml::from_str::<Backends>("[server]\ntype = \"ssh\"\nidentity = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("identity"), "{err}");
}
