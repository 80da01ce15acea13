//! Lookups built once per run so rules stay linear in the instance size.

use std::collections::HashMap;

use crate::model::Instance;

pub struct Index<'a> {
    /// Ticket string (as written) to indices into `inst.requests`.
    pub requests_by_ticket: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Index<'a> {
    pub fn build(inst: &'a Instance) -> Self {
        let mut requests_by_ticket: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, r) in inst.requests.iter().enumerate() {
            requests_by_ticket
                .entry(r.value.ticket())
                .or_default()
                .push(i);
        }
        Index { requests_by_ticket }
    }
}
