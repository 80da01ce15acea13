//! Lookups built once per run so rules stay linear in the instance size.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::Instance;

pub struct Index<'a> {
    /// Ticket string (as written) to indices into `inst.requests`.
    pub requests_by_ticket: HashMap<&'a str, Vec<usize>>,
    /// Lower-cased address to indices into `inst.mail_accounts` (borrowed when the
    /// file already has it in lower case, as it should).
    pub mail_by_address: HashMap<Cow<'a, str>, Vec<usize>>,
    /// Ticket to the mail accounts that list it.
    pub mail_by_ticket: HashMap<&'a str, Vec<usize>>,
    /// (server, login) to indices into `inst.server_accounts`.
    pub server_by_login: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// Ticket to the server accounts that list it.
    pub server_by_ticket: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Index<'a> {
    pub fn build(inst: &'a Instance) -> Self {
        let mut requests_by_ticket: HashMap<&str, Vec<usize>> =
            HashMap::with_capacity(inst.requests.len());
        for (i, r) in inst.requests.iter().enumerate() {
            requests_by_ticket
                .entry(r.value.ticket())
                .or_default()
                .push(i);
        }
        let mut mail_by_address: HashMap<Cow<str>, Vec<usize>> =
            HashMap::with_capacity(inst.mail_accounts.len());
        let mut mail_by_ticket: HashMap<&str, Vec<usize>> =
            HashMap::with_capacity(inst.mail_accounts.len());
        for (i, a) in inst.mail_accounts.iter().enumerate() {
            let addr = a.value.address.get_ref();
            let key = if addr.chars().any(char::is_uppercase) {
                Cow::Owned(addr.to_lowercase())
            } else {
                Cow::Borrowed(addr.as_str())
            };
            mail_by_address.entry(key).or_default().push(i);
            for t in &a.value.tickets {
                mail_by_ticket.entry(t.get_ref()).or_default().push(i);
            }
        }
        let mut server_by_login: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut server_by_ticket: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, a) in inst.server_accounts.iter().enumerate() {
            server_by_login
                .entry((a.value.server.get_ref(), a.value.login.get_ref()))
                .or_default()
                .push(i);
            for t in &a.value.tickets {
                server_by_ticket.entry(t.get_ref()).or_default().push(i);
            }
        }
        Index {
            requests_by_ticket,
            mail_by_address,
            mail_by_ticket,
            server_by_login,
            server_by_ticket,
        }
    }
}
