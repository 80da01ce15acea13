//! `loket site` on the bundled instance through the real binary: privacy (no
//! personal field reaches any output file), determinism, incremental rebuilds,
//! page weight, pending tickets from a snapshot, and refusing bad input.
mod common;
mod site;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use loket::model::Instance;

/// Every personal or private value of the instance, its records and `extra`.
fn private_values(instance: &Path, with_opd: bool) -> Vec<String> {
    let inst = Instance::load(instance).unwrap();
    let config = inst.config.as_ref().unwrap();
    let role_titles: BTreeSet<&str> = config.roles.values().map(|r| r.title.as_str()).collect();
    let mut v: Vec<String> = Vec::new();
    for r in &inst.requests {
        let r = &r.value;
        let a = &r.applicant;
        v.push(a.name.get_ref().clone());
        v.extend(a.nip.as_ref().map(|n| n.get_ref().clone()));
        v.push(a.contact.get_ref().clone());
        v.push(a.position.get_ref().clone());
        v.extend(a.recipient.as_ref().map(|n| n.get_ref().clone()));
        if with_opd {
            v.push(a.opd.get_ref().clone());
        }
        v.push(r.letter.number.get_ref().clone());
        // A signatory that is one of the office's own role titles is public.
        if !role_titles.contains(r.letter.signatory.get_ref().as_str()) {
            v.push(r.letter.signatory.get_ref().clone());
        }
        if let Some(m) = &r.mail {
            let addr = m.get_ref().address.get_ref();
            v.push(addr.clone());
            v.push(addr.split('@').next().unwrap().to_string());
        }
        if let Some(s) = &r.server {
            let s = s.get_ref();
            v.push(s.name.get_ref().clone());
            v.push(s.account.get_ref().clone());
            v.extend(s.key.as_ref().map(|k| k.get_ref().clone()));
            v.extend(s.purpose.as_ref().map(|k| k.get_ref().clone()));
        }
    }
    for m in &inst.mail_accounts {
        v.push(m.value.address.get_ref().clone());
        v.push(m.value.holder.name.get_ref().clone());
        v.extend(m.value.holder.nip.as_ref().map(|n| n.get_ref().clone()));
    }
    for s in &inst.server_accounts {
        v.push(s.value.login.get_ref().clone());
        for k in &s.value.keys {
            v.push(k.key.get_ref().clone());
            v.push(k.holder.name.get_ref().clone());
        }
    }
    for s in &config.servers {
        v.push(s.name.get_ref().clone());
        v.push(s.address.clone());
    }
    // Every setting of where accounts are applied (paths, hosts, the admin's key).
    let raw: toml::Table =
        toml::from_str(&std::fs::read_to_string(instance.join("loket.toml")).unwrap()).unwrap();
    fn strings(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::String(s) if s.len() > 8 => out.push(s.clone()),
            toml::Value::Table(t) => t.values().for_each(|v| strings(v, out)),
            toml::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    if let Some(b) = raw.get("backends") {
        strings(b, &mut v);
    }
    for role in config.roles.values() {
        v.extend(role.logins.iter().map(|l| l.get_ref().clone()));
    }
    for rec in loket::site::load_records(instance).unwrap() {
        v.extend(rec.reason.clone());
        for s in &rec.steps {
            v.extend(s.login.clone());
            v.extend(s.review_id.map(|id| id.to_string()));
        }
        v.extend(rec.events.iter().filter_map(|e| e.detail.clone()));
    }
    v.retain(|s| !s.trim().is_empty());
    v.sort();
    v.dedup();
    v
}

/// The forms a value can take in HTML or JSON output.
fn forms(value: &str) -> Vec<String> {
    let html = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;");
    let json = serde_json::to_string(value).unwrap();
    let mut f = vec![
        value.to_lowercase(),
        html.to_lowercase(),
        json.trim_matches('"').to_lowercase(),
    ];
    f.dedup();
    f
}

fn assert_private(out: &Path, values: &[String]) {
    let files = site::read_site(out);
    assert!(files.len() > 40, "the site has only {} files", files.len());
    let mut hits = Vec::new();
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        for v in values {
            if forms(v).iter().any(|f| text.contains(f.as_str())) {
                hits.push(format!("{path}: {v:?}"));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "personal data on the public site:\n{}",
        hits.join("\n")
    );
}

#[test]
fn no_personal_field_reaches_the_site() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let pending = site::write_snapshot(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, Some(&pending.path));
    let mut values = private_values(&inst, false);
    assert!(
        values.len() > 150,
        "too few values to search: {}",
        values.len()
    );
    values.extend(pending.private.iter().cloned());
    assert_private(&out, &values);

    // With `show-opd = false` the agencies go too.
    let config = std::fs::read_to_string(inst.join("loket.toml")).unwrap();
    assert!(config.contains("show-opd = true"));
    std::fs::write(
        inst.join("loket.toml"),
        config.replace("show-opd = true", "show-opd = false"),
    )
    .unwrap();
    site::build(&inst, &out, Some(&pending.path));
    assert_private(&out, &private_values(&inst, true));
}

#[test]
fn the_search_finds_a_planted_leak() {
    // The privacy test must be able to fail: plant a name in a page and search.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("public");
    site::build(&common::repo_root(), &out, None);
    let values = private_values(&common::repo_root(), false);
    let name = values
        .iter()
        .find(|v| v.contains(' ') && v.chars().all(|c| c.is_alphabetic() || c == ' '))
        .unwrap();
    let page = out.join("index.html");
    let mut html = std::fs::read_to_string(&page).unwrap();
    html.push_str(&format!("<!-- {name} -->"));
    std::fs::write(&page, html).unwrap();
    let leak = std::panic::catch_unwind(|| assert_private(&out, &values));
    assert!(leak.is_err(), "a planted name went unnoticed");
}

#[test]
fn builds_are_byte_identical_and_light() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let pending = site::write_snapshot(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    site::build(&inst, &a, Some(&pending.path));
    // Another thread count must not change a byte.
    let o = common::loket()
        .env("RAYON_NUM_THREADS", "1")
        .arg("-C")
        .arg(&inst)
        .args(["site", "--out"])
        .arg(&b)
        .arg("--snapshot")
        .arg(&pending.path)
        .output()
        .unwrap();
    assert!(o.status.success());
    let (fa, fb) = (site::read_site(&a), site::read_site(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(fb[path] == *bytes, "{path} differs between builds");
    }
    for (path, bytes) in &fa {
        if path.ends_with(".html") {
            assert!(
                bytes.len() < 50 * 1024,
                "{path} weighs {} bytes",
                bytes.len()
            );
            let html = String::from_utf8_lossy(bytes);
            assert!(
                html.contains(r#"<meta name="robots" content="noindex, nofollow">"#),
                "{path}"
            );
            assert!(
                html.contains(r#"<meta name="referrer" content="no-referrer">"#),
                "{path}"
            );
            assert!(
                !html.contains("http://") && !html.contains("//cdn"),
                "{path} loads something external"
            );
        }
    }
    // 35 bundled tickets and 3 pending ones, each with a page, a feed and a JSON
    // document.
    let pages = fa
        .keys()
        .filter(|p| p.starts_with("t/") && p.ends_with("/index.html"))
        .count();
    let feeds = fa
        .keys()
        .filter(|p| p.starts_with("t/") && p.ends_with("/atom.xml"))
        .count();
    let docs = fa
        .keys()
        .filter(|p| p.starts_with("api/v1/tickets/"))
        .count();
    assert_eq!((pages, feeds, docs), (38, 38, 38));
}

#[test]
fn pending_tickets_show_their_sop_step() {
    let tmp = tempfile::tempdir().unwrap();
    let pending = site::write_snapshot(tmp.path());
    let out = tmp.path().join("public");
    site::build(&common::repo_root(), &out, Some(&pending.path));
    for (ticket, label) in &pending.tickets {
        let html = std::fs::read_to_string(out.join(format!("t/{ticket}/index.html"))).unwrap();
        assert!(
            html.contains(&format!(r#"id="status">{label}</strong>"#)),
            "{ticket}: {label}"
        );
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("api/v1/tickets/{ticket}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(json["status_label"], *label);
        assert_eq!(json["ticket"], *ticket);
    }
    // The waiting ticket's timeline starts with the step it waits for.
    let (waiting, _) = &pending.tickets[0];
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("api/v1/tickets/{waiting}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json["timeline"][0]["kind"], "pending");
    assert_eq!(json["timeline"][0]["step"], "disposisi-kabid");
    assert_eq!(json["timeline"][1]["minutes"], 20);
    // Snapshot tickets have no request file here, hence no OPD.
    assert!(json.get("opd").is_none());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("api/v1/index.json")).unwrap()).unwrap();
    assert_eq!(index["tickets"].as_array().unwrap().len(), 38);
}

fn inodes(dir: &Path) -> std::collections::BTreeMap<String, (u64, i64)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = e.metadata().unwrap();
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, (m.ino(), m.mtime_nsec() + m.mtime() * 1_000_000_000))
        })
        .collect()
}

#[test]
fn one_new_ticket_rewrites_only_what_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    // `public` is a link to one of two copies; each build updates the other one.
    assert_eq!(
        std::fs::read_link(&out).unwrap(),
        Path::new(".public.loket/a")
    );
    let first = inodes(&out);
    // The second copy starts as hard links to the first: nothing is written.
    let log = site::build(&inst, &out, None);
    assert!(log.contains(": 0 written, 124 unchanged"), "{log}");
    assert_eq!(
        std::fs::read_link(&out).unwrap(),
        Path::new(".public.loket/b")
    );
    let ticket = site::add_ticket(&inst);
    let log = site::build(&inst, &out, None);
    // Back on the first copy, which needed the new ticket and nothing else.
    let after = inodes(&out);
    let rewritten: BTreeSet<String> = after
        .iter()
        .filter(|(p, m)| first.get(*p) != Some(m))
        .map(|(p, _)| p.clone())
        .collect();
    let expected: BTreeSet<String> = [
        format!("t/{ticket}/index.html"),
        format!("api/v1/tickets/{ticket}.json"),
        format!("t/{ticket}/atom.xml"),
        "sop/email/atom.xml".into(),
        "index.html".into(),
        "api/v1/index.json".into(),
        "api/v1/stats.json".into(),
        "statistik/index.html".into(),
        "statistik/mail-create/index.html".into(),
    ]
    .into_iter()
    .collect();
    assert_eq!(rewritten, expected, "{log}");
    assert!(log.contains(": 9 written, 118 unchanged"), "{log}");
    assert_eq!(after.len(), first.len() + 3);
    // The published tree is exactly what a build from scratch makes.
    let scratch = tmp.path().join("scratch");
    site::build(&inst, &scratch, None);
    assert_eq!(site::read_site(&out), site::read_site(&scratch));
    // The other copy catches up with both changes; then nothing is left to do.
    let log = site::build(&inst, &out, None);
    assert!(log.contains(": 9 written, 118 unchanged"), "{log}");
    let log = site::build(&inst, &out, None);
    assert!(log.contains(": 0 written, 127 unchanged"), "{log}");
    assert_eq!(site::read_site(&out), site::read_site(&scratch));
    // A ticket that goes away takes its files, and its folder, from the copies.
    std::fs::remove_file(inst.join(format!("requests/{ticket}.toml"))).unwrap();
    std::fs::remove_file(inst.join("accounts/mail/tri.incremental@kuduskab.go.id.toml")).unwrap();
    std::fs::remove_file(inst.join(format!("records/{ticket}.toml"))).unwrap();
    let log = site::build(&inst, &out, None);
    assert!(log.contains(", 3 removed"), "{log}");
    assert!(!out.join(format!("t/{ticket}")).exists());
    let gone = tmp.path().join("gone");
    site::build(&inst, &gone, None);
    assert_eq!(site::read_site(&out), site::read_site(&gone));
    let names: BTreeSet<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for n in &names {
        assert!(
            [
                "inst",
                "public",
                ".public.loket",
                "scratch",
                ".scratch.loket",
                "gone",
                ".gone.loket"
            ]
            .contains(&n.as_str()),
            "left behind: {n}"
        );
    }

    // An instance template override changes every ticket page, skipped or not.
    std::fs::create_dir(inst.join("templates")).unwrap();
    let ticket_tpl = std::fs::read_to_string(common::repo_root().join("templates/ticket.html"))
        .unwrap()
        .replace("{% block main %}", "{% block main %}<p>Versi kantor</p>");
    std::fs::write(inst.join("templates/ticket.html"), ticket_tpl).unwrap();
    site::build(&inst, &out, None);
    let pages: Vec<_> = site::read_site(&out)
        .into_iter()
        .filter(|(p, _)| p.starts_with("t/") && p.ends_with("/index.html"))
        .collect();
    assert_eq!(pages.len(), 35);
    for (path, html) in pages {
        assert!(
            String::from_utf8_lossy(&html).contains("<p>Versi kantor</p>"),
            "{path}"
        );
    }
}

#[test]
fn a_broken_record_stops_the_build_and_keeps_the_old_site() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    let before = site::read_site(&out);
    std::fs::write(
        inst.join("records/KDS-24WBW-PV52C.toml"),
        "ticket = \"KDS-24WBW-PV52C\"\noutcome = \"finished\"\n",
    )
    .unwrap();
    let (ok, err) = site::try_build(&inst, &out, &[]);
    assert!(!ok);
    assert!(err.contains("records/KDS-24WBW-PV52C.toml:2:11"), "{err}");
    assert!(err.contains("unknown variant `finished`"), "{err}");
    assert_eq!(site::read_site(&out), before, "the published site changed");
}

#[test]
fn an_error_mid_write_keeps_the_published_site() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    site::build(&inst, &out, None);
    let before = site::read_site(&out);
    let link = std::fs::read_link(&out).unwrap();
    // A template that fails on the last ticket only: rendered one thread in ticket
    // order, the others are written into the unpublished copy before the build stops.
    let last = std::fs::read_dir(inst.join("requests"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .replace(".toml", "")
        })
        .max()
        .unwrap();
    std::fs::create_dir(inst.join("templates")).unwrap();
    let ticket_tpl = std::fs::read_to_string(common::repo_root().join("templates/ticket.html"))
        .unwrap()
        .replace(
            "{% block main %}",
            &format!("{{% block main %}}{{% if ticket.ticket == \"{last}\" %}}{{{{ no_such_value }}}}{{% endif %}}<p>Versi baru</p>"),
        );
    std::fs::write(inst.join("templates/ticket.html"), &ticket_tpl).unwrap();
    let o = common::loket()
        .env("RAYON_NUM_THREADS", "1")
        .arg("-C")
        .arg(&inst)
        .args(["site", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("template ticket.html"), "{err}");
    let other = tmp
        .path()
        .join(".public.loket")
        .join(if link.ends_with("a") { "b" } else { "a" });
    let half: Vec<_> = site::read_site(&other)
        .into_iter()
        .filter(|(_, html)| String::from_utf8_lossy(html).contains("<p>Versi baru</p>"))
        .collect();
    assert!(
        !half.is_empty(),
        "the build stopped before writing anything"
    );
    assert_eq!(std::fs::read_link(&out).unwrap(), link);
    assert_eq!(site::read_site(&out), before, "the published site changed");
    // The half-written copy is not trusted: the next build makes it whole.
    std::fs::write(
        inst.join("templates/ticket.html"),
        ticket_tpl.replace("{{ no_such_value }}", ""),
    )
    .unwrap();
    site::build(&inst, &out, None);
    let scratch = tmp.path().join("scratch");
    site::build(&inst, &scratch, None);
    assert_eq!(site::read_site(&out), site::read_site(&scratch));
}

#[test]
fn refuses_to_replace_a_directory_it_did_not_make() {
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("docs");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("thesis.txt"), "do not delete").unwrap();
    let site_to = |out: &Path| {
        common::loket()
            .arg("-C")
            .arg(common::repo_root())
            .args(["site", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let refused = |out: &Path| {
        let o = site_to(out);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{err}");
        assert!(err.contains("is not a loket site"), "{err}");
    };
    refused(&precious);
    // A link to someone else's folder, a file, a copies folder loket did not make.
    let link = tmp.path().join("linked");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    refused(&link);
    let file = tmp.path().join("file");
    std::fs::write(&file, "mine").unwrap();
    refused(&file);
    let out = tmp.path().join("public");
    std::fs::create_dir(tmp.path().join(".public.loket")).unwrap();
    std::fs::write(tmp.path().join(".public.loket/notes.txt"), "mine").unwrap();
    refused(&out);
    assert!(precious.join("thesis.txt").exists());
    assert_eq!(std::fs::read_link(&link).unwrap(), precious);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert!(tmp.path().join(".public.loket/notes.txt").exists());
    assert!(!out.exists());

    // A site directory an older loket wrote (its marker) is replaced by the link.
    let old = tmp.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::write(old.join(".loket-site"), "loket status site\n").unwrap();
    std::fs::write(old.join("stale.html"), "old").unwrap();
    assert!(site_to(&old).status.success());
    assert!(
        std::fs::symlink_metadata(&old)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(old.join("index.html").is_file());
    assert!(!old.join("stale.html").exists());
}

#[test]
fn a_snapshot_with_a_bad_ticket_number_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("snap.toml");
    std::fs::write(
        &snap,
        "taken-at = \"2026-11-02T10:00:00+07:00\"\n[[tickets]]\nticket = \"KDS-../../etc\"\noutcome = \"pending\"\npending-step = \"disposisi-kabid\"\n",
    )
    .unwrap();
    let snap = snap.to_string_lossy();
    let out = tmp.path().join("out");
    let (ok, err) = site::try_build(&common::repo_root(), &out, &["--snapshot", &snap]);
    assert!(!ok);
    assert!(err.contains("is not a valid ticket number"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn english_by_config_and_bad_language_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let config = std::fs::read_to_string(inst.join("loket.toml")).unwrap();
    std::fs::write(
        inst.join("loket.toml"),
        config.replace("language = \"id\"", "language = \"en\""),
    )
    .unwrap();
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    let html = std::fs::read_to_string(out.join("t/KDS-24WBW-PV52C/index.html")).unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains(r#"id="status">processed</strong>"#));
    assert!(html.contains("18 September 2026, 08:00 WIB"));

    std::fs::write(
        inst.join("loket.toml"),
        config.replace("language = \"id\"", "language = \"jv\""),
    )
    .unwrap();
    let (ok, err) = site::try_build(&inst, &out, &[]);
    assert!(!ok);
    assert!(err.contains("unknown site language \"jv\""), "{err}");
}

#[test]
fn one_build_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("public");
    site::build(&common::repo_root(), &out, None);
    let before = site::read_site(&out);
    // Another build holds the lock: this one fails at once and changes nothing.
    let lock = std::fs::File::open(tmp.path().join(".public.loket/lock")).unwrap();
    lock.lock().unwrap();
    let (ok, err) = site::try_build(&common::repo_root(), &out, &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("another `loket site` is building"), "{err}");
    assert_eq!(site::read_site(&out), before);
    drop(lock);
    site::build(&common::repo_root(), &out, None);
}
