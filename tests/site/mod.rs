//! Helpers of the site tests: a private copy of the bundled instance, a forge
//! snapshot with pending, returned and refused tickets, and reading a built site.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;

/// A copy of the bundled instance in `<dir>/inst`, returned.
pub fn instance_in(dir: &Path) -> PathBuf {
    let inst = dir.join("inst");
    std::fs::create_dir(&inst).unwrap();
    copy_instance(&inst);
    inst
}

/// Copies the bundled Kudus instance (config, requests, accounts, records) to `dest`.
pub fn copy_instance(dest: &Path) {
    let root = crate::common::repo_root();
    std::fs::copy(root.join("loket.toml"), dest.join("loket.toml")).unwrap();
    for dir in ["requests", "accounts", "records"] {
        for entry in walkdir::WalkDir::new(root.join(dir)) {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(&root).unwrap();
            let to = dest.join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }
}

/// Three open pull requests: waiting for the Kepala Bidang, returned, refused.
/// Returns (ticket, expected Indonesian status label) and the snapshot path.
pub struct Pending {
    pub path: PathBuf,
    pub tickets: Vec<(String, &'static str)>,
    /// Strings the snapshot holds that must never be published.
    pub private: Vec<String>,
}

pub fn write_snapshot(dir: &Path) -> Pending {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let t: Vec<String> = (0..3)
        .map(|_| loket::ticket::Ticket::generate_with("KDS", &mut rng).to_string())
        .collect();
    let text = format!(
        r#"taken-at = "2026-11-02T10:00:00+07:00"

[[tickets]]
ticket = "{a}"
outcome = "pending"
pr = 101
pending-step = "disposisi-kabid"

[[tickets.steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-11-02T08:00:00+07:00"

[[tickets.steps]]
step = "disposisi-kadis"
done-by = "review"
role = "kepala-dinas"
login = "kadis-kominfo-kudus"
at = "2026-11-02T08:20:00+07:00"
review-id = 777001

[[tickets]]
ticket = "{b}"
outcome = "returned"
pr = 102
reason = "Nama rahasia.pemohon sudah dipakai; ajukan nama lain"

[[tickets.steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-11-01T09:00:00+07:00"

[[tickets.steps]]
step = "disposisi-kadis"
done-by = "review"
role = "kepala-dinas"
login = "kadis-kominfo-kudus"
at = "2026-11-01T09:10:00+07:00"

[[tickets.steps]]
step = "disposisi-kabid"
done-by = "review"
role = "kepala-bidang"
login = "kabid-informatika-kudus"
at = "2026-11-01T09:30:00+07:00"

[[tickets]]
ticket = "{c}"
outcome = "refused"
pr = 103
reason = "Tujuan akses ke server gudang-data-rahasia tidak jelas"

[[tickets.steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-10-30T13:00:00+07:00"

[[tickets.steps]]
step = "keputusan-kabid"
done-by = "review"
role = "kepala-bidang"
login = "kabid-informatika-kudus"
at = "2026-10-30T15:00:00+07:00"
"#,
        a = t[0],
        b = t[1],
        c = t[2]
    );
    let path = dir.join("snapshot.toml");
    std::fs::write(&path, text).unwrap();
    Pending {
        path,
        tickets: vec![
            (t[0].clone(), "menunggu disposisi Kepala Bidang Informatika"),
            (t[1].clone(), "dikembalikan untuk perbaikan"),
            (t[2].clone(), "ditolak"),
        ],
        private: vec![
            "rahasia.pemohon".into(),
            "gudang-data-rahasia".into(),
            "kadis-kominfo-kudus".into(),
            "kabid-informatika-kudus".into(),
            "777001".into(),
        ],
    }
}

/// Adds a processed mail-create ticket (request, account, record) in September 2026.
pub fn add_ticket(inst: &Path) -> String {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(77);
    let ticket = loket::ticket::Ticket::generate_with("KDS", &mut rng).to_string();
    let template = std::fs::read_to_string(inst.join("requests/KDS-24WBW-PV52C.toml")).unwrap();
    let request = template
        .replace("KDS-24WBW-PV52C", &ticket)
        .replace("Dimas Hartono", "Tri Incremental")
        .replace("197608051999061019", "197608051999061987")
        .replace("085163102747", "085100000001")
        .replace("dimas.hartono@", "tri.incremental@")
        .replace("800/118/14.2026", "800/999/14.2026");
    std::fs::write(inst.join(format!("requests/{ticket}.toml")), request).unwrap();
    let account =
        std::fs::read_to_string(inst.join("accounts/mail/dimas.hartono@kuduskab.go.id.toml"))
            .unwrap()
            .replace("KDS-24WBW-PV52C", &ticket)
            .replace("Dimas Hartono", "Tri Incremental")
            .replace("197608051999061019", "197608051999061987")
            .replace("dimas.hartono@", "tri.incremental@");
    std::fs::write(
        inst.join("accounts/mail/tri.incremental@kuduskab.go.id.toml"),
        account,
    )
    .unwrap();
    let record = std::fs::read_to_string(inst.join("records/KDS-24WBW-PV52C.toml"))
        .unwrap()
        .replace("KDS-24WBW-PV52C", &ticket);
    std::fs::write(inst.join(format!("records/{ticket}.toml")), record).unwrap();
    ticket
}

/// Runs `loket site` on `instance` into `out` with `args`, stage timings on:
/// (success, standard error).
pub fn try_build(instance: &Path, out: &Path, args: &[&str]) -> (bool, String) {
    let o = crate::common::loket()
        .env("LOKET_SITE_TIMINGS", "1")
        .arg("-C")
        .arg(instance)
        .args(["site", "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `loket site` on `instance` into `out`; panics with the output on failure.
pub fn build(instance: &Path, out: &Path, snapshot: Option<&Path>) -> String {
    let mut cmd = crate::common::loket();
    cmd.arg("-C")
        .arg(instance)
        .arg("site")
        .arg("--out")
        .arg(out);
    if let Some(s) = snapshot {
        cmd.arg("--snapshot").arg(s);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "loket site failed:\n{stderr}");
    stderr
}

/// Every file of a built site: relative path to bytes.
pub fn read_site(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}
