use std::path::Path;

use super::*;
use crate::check::testutil::{Fixture, KEY_ED1, TODAY};

fn instance(fx: &Fixture) -> Instance {
    Instance::from_files(
        Path::new("."),
        fx.files
            .iter()
            .map(|(p, t)| (p.clone(), t.clone()))
            .collect(),
    )
}

fn request(details: Details) -> NewRequest {
    NewRequest {
        applicant: Applicant {
            name: "Budi Santoso".into(),
            nip: Some("198609262015051001".into()),
            opd: "Dinas Kesehatan".into(),
            position: "Pranata Komputer".into(),
            contact: "081200001111".into(),
            recipient: None,
            on_behalf_reason: None,
        },
        letter: Letter {
            number: "800/77/11.2026".into(),
            date: jiff::civil::date(2026, 11, 20),
            signatory: "Kepala Dinas Kesehatan".into(),
        },
        details,
        submitted: "2026-11-24T09:00:00+07:00".into(),
    }
}

#[test]
fn every_kind_drafts_files_the_check_accepts() {
    let mut fx = Fixture::kudus();
    fx.mail_create("siti.aminah");
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let inst = instance(&fx);
    let kinds = [
        Details::MailCreate {
            address: "budi.santoso@kuduskab.go.id".into(),
        },
        Details::MailDeactivate {
            address: "siti.aminah@kuduskab.go.id".into(),
            reason: DeactivateReason::Mutasi,
        },
        Details::MailReset {
            address: "siti.aminah@kuduskab.go.id".into(),
        },
        Details::ServerGrant {
            server: "db-1".into(),
            account: "opd-dinkes".into(),
            key: crate::check::testutil::KEY_ED2.trim().into(),
            expires: jiff::civil::date(2027, 1, 31),
            accept_terms: true,
            purpose: "Basis data SIMPUS".into(),
        },
        Details::ServerRevoke {
            server: "app-1".into(),
            account: "opd-dinkes".into(),
            grant: None,
        },
    ];
    for d in kinds {
        let kind = d.kind();
        let mut req = request(d);
        if !matches!(kind, RequestKind::MailCreate | RequestKind::ServerGrant) {
            // Budi is not the holder: he asks as his agency's head, with a reason (L044).
            req.applicant.position = "Kepala Dinas Kesehatan".into();
            req.applicant.on_behalf_reason = Some("pegawai pindah tugas".into());
        }
        let draft = draft(&inst, &req, &Ticket::generate("KDS")).unwrap();
        assert_eq!(draft.files.len(), 2, "{kind}");
        let before = inst.requests.len();
        let v = validate(instance(&fx), &draft, TODAY);
        assert!(
            v.diagnostics.is_empty(),
            "{kind}: {}",
            crate::diag::render_human(&v.after.sources, &v.diagnostics)
        );
        assert_eq!(v.after.requests.len(), before + 1);
    }
}

#[test]
fn taken_and_reserved_names_are_refused_with_alternatives() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi.santoso");
    let inst = instance(&fx);
    let err = draft(
        &inst,
        &request(Details::MailCreate {
            address: "Budi_Santoso@kuduskab.go.id".into(),
        }),
        &Ticket::generate("KDS"),
    )
    .unwrap_err();
    let NewError::Taken { suggestions, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(suggestions[0], "bsantoso");
    assert!(!suggestions.iter().any(|s| s == "budi.santoso"));
    let err = draft(
        &inst,
        &request(Details::MailCreate {
            address: "bupati@kuduskab.go.id".into(),
        }),
        &Ticket::generate("KDS"),
    )
    .unwrap_err();
    assert!(matches!(err, NewError::Reserved { .. }), "{err}");
}

#[test]
fn references_to_nothing_are_refused() {
    let inst = instance(&Fixture::kudus());
    let t = Ticket::generate("KDS");
    let no_account = draft(
        &inst,
        &request(Details::MailReset {
            address: "nobody.here@kuduskab.go.id".into(),
        }),
        &t,
    );
    assert!(matches!(no_account, Err(NewError::NoMailAccount(_))));
    let no_server = draft(
        &inst,
        &request(Details::ServerRevoke {
            server: "web-9".into(),
            account: "opd-x".into(),
            grant: None,
        }),
        &t,
    );
    assert!(matches!(no_server, Err(NewError::NoServer { .. })));
}

#[test]
fn check_errors_in_the_new_files_are_reported() {
    let inst = instance(&Fixture::kudus());
    let req = request(Details::MailCreate {
        address: "budi.santoso@kuduskab.go.id".into(),
    });
    // A ticket of another office fails L011 on the new request.
    let draft = draft(&inst, &req, &Ticket::generate("PLK")).unwrap();
    let v = validate(inst, &draft, TODAY);
    assert!(
        v.diagnostics.iter().any(|d| d.code == "L011"),
        "{:?}",
        v.diagnostics
    );
}

#[test]
fn a_server_taking_only_personal_accounts_gets_one() {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen(
            "[sops.email]",
            "[[servers]]\nname = \"dev-1\"\naddress = \"10.17.1.41\"\n\
             account-kinds = [\"personal\"]\nmax-days = 30\n\n[sops.email]",
            1,
        )
    });
    let inst = instance(&fx);
    assert!(inst.failures.is_empty(), "{:?}", inst.failures);
    let d = draft(
        &inst,
        &request(Details::ServerGrant {
            server: "dev-1".into(),
            account: "budi".into(),
            key: crate::check::testutil::KEY_ED3.trim().into(),
            expires: jiff::civil::date(2026, 12, 20),
            accept_terms: true,
            purpose: "Pengembangan aplikasi".into(),
        }),
        &Ticket::generate("KDS"),
    )
    .unwrap();
    assert!(d.files[0].text.contains("account-kind = \"personal\""));
    assert!(d.files[1].text.contains("kind = \"personal\""));
    let v = validate(inst, &d, TODAY);
    assert!(
        v.diagnostics.is_empty(),
        "{}",
        crate::diag::render_human(&v.after.sources, &v.diagnostics)
    );
}

#[test]
fn a_kind_no_sop_takes_is_refused() {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replace(
            "kinds = [\"server-grant\", \"server-revoke\"]",
            "kinds = [\"server-grant\"]",
        )
    });
    let err = draft(
        &instance(&fx),
        &request(Details::ServerRevoke {
            server: "app-1".into(),
            account: "opd-dinkes".into(),
            grant: None,
        }),
        &Ticket::generate("KDS"),
    )
    .unwrap_err();
    assert!(
        matches!(err, NewError::NoSop(RequestKind::ServerRevoke)),
        "{err}"
    );
}
