//! Apply: turns `accounts/` into live accounts. Owns the plan (diff of desired vs
//! live), the run that carries it out safely (lock, journal, guard, approval gate),
//! credentials (generated, hashed, sealed), and the backends behind one trait.
//!
//! A run: lock → read each backend's live state → plan → gate (approved tickets
//! only) → guard (share of access removed) → for each change: password sealed to the
//! outbox, journal "intent", backend apply, journal "done" → verify → records events.

pub mod backend;
pub mod plan;
pub mod ssh;

pub use backend::{
    Backend, BackendError, Change, LiveKey, LiveMail, LiveServerAccount, LiveState, Secret,
    Verified,
};
pub use plan::{Action, Desired, Plan, PlannedChange, Target};

use std::collections::HashMap;

use crate::model::Instance;

impl<'a> Desired<'a> {
    /// The desired state of a loaded instance.
    pub fn from_instance(inst: &'a Instance) -> Self {
        Desired {
            mail: inst.mail_accounts.iter().map(|l| &l.value).collect(),
            server: inst.server_accounts.iter().map(|l| &l.value).collect(),
            kinds: inst
                .requests
                .iter()
                .map(|r| (r.value.ticket(), r.value.kind()))
                .collect::<HashMap<_, _>>(),
        }
    }
}
