//! The gate `loket apply --approvals forge` passes: approval derived from the forge
//! for every commit that wrote the files behind a change, never from a file a pull
//! request can write (`records/` is only where the trail is written afterwards).
//!
//! For each change the run plans, the files behind it are `loket.toml`, the account
//! file it comes from and the request file of each of its tickets. Every
//! first-parent commit on the branch that changed one of them (since the root, or
//! `--history-from`) must be the merge of a pull request that the forge shows
//! approved as a whole, judged by the same rules as `loket review`, with the role
//! map of the branch just before that merge. The commit that added a ticket's
//! request must carry that ticket's own approvals; they are its trail.
//!
//! So an admin merge without reviews, a forged record, a direct push, or a later
//! unapproved edit of an approved account all leave the change refused, and one
//! refused change never blocks another whose files are clean.

use std::collections::{BTreeMap, BTreeSet};

use git2::Oid;
use jiff::Timestamp;

use super::gate::{Missing, Trail, write_record};
use super::history::{History, HistoryError, Writers};
use super::rules::short;
use super::{StepState, evaluate, list_paths, touched};
use crate::apply::gate::{ApprovalGate, KindOf, import_batch_only, unticketed};
use crate::apply::plan::{PlannedChange, Target};
use crate::forge::{Forge, PullData};
use crate::model::letter::LETTERS_DIR;
use crate::model::record::Outcome;
use crate::model::{ACCOUNTS_DIR, CONFIG_FILE, Instance, REQUESTS_DIR};

/// What the forge says of one commit on the branch.
#[derive(Debug, Clone)]
struct PullVerdict {
    pr: u64,
    /// Why the pull request as a whole is not approved, if it is not.
    refused: Option<String>,
    /// Each request it added: its trail, or what it lacks.
    tickets: BTreeMap<String, Result<Trail, Missing>>,
}

pub struct HistoryGate<'a> {
    forge: &'a dyn Forge,
    history: History,
    /// The merged tree apply reads.
    head: &'a Instance,
    head_commit: Oid,
    since: Option<Oid>,
    now: Timestamp,
    /// Write each approved ticket's trail to `records/` (not on a dry run).
    write_trails: bool,
    verdicts: BTreeMap<String, Result<(), String>>,
}

impl<'a> HistoryGate<'a> {
    /// `head` is the merged instance at `HEAD` of its repository; `since` a commit
    /// whose history is taken as approved (an instance adopted with earlier data).
    pub fn new(
        forge: &'a dyn Forge,
        head: &'a Instance,
        since: Option<&str>,
        now: Timestamp,
        write_trails: bool,
    ) -> Result<HistoryGate<'a>, HistoryError> {
        let history = History::open(&head.root)?;
        let head_commit = history.commit("HEAD")?;
        let since = since.map(|s| history.commit(s)).transpose()?;
        Ok(HistoryGate {
            forge,
            history,
            head,
            head_commit,
            since,
            now,
            write_trails,
            verdicts: BTreeMap::new(),
        })
    }

    /// The files behind a change, from the instance root.
    fn sources(&self, change: &PlannedChange) -> Vec<String> {
        let inst = self.head;
        let path = |f| inst.path(f).to_string_lossy().replace('\\', "/");
        let mut out = vec![CONFIG_FILE.to_string()];
        match &change.target {
            Target::Mail { address, .. } => out.extend(
                inst.mail_accounts
                    .iter()
                    .filter(|a| a.value.address.get_ref().eq_ignore_ascii_case(address))
                    .map(|a| path(a.file)),
            ),
            Target::ServerAccount { server, login } | Target::Key { server, login, .. } => out
                .extend(
                    inst.server_accounts
                        .iter()
                        .filter(|a| {
                            a.value.server.get_ref() == server && a.value.login.get_ref() == login
                        })
                        .map(|a| path(a.file)),
                ),
        }
        out.extend(change.tickets.iter().map(|t| request_path(t)));
        out
    }

    /// Judges the pull request behind commit `c`.
    fn judge_commit(&self, c: Oid) -> Result<PullVerdict, String> {
        let (pr, ev) = self.evaluate_commit(c, None)?;
        let refused = ev.problems.first().cloned().or_else(|| {
            let cc = ev.config_change.as_ref()?;
            cc.approved.is_none().then(|| {
                format!(
                    "[A010] it changes {} without an approval by role {}",
                    list_paths(&cc.paths),
                    cc.role.as_deref().unwrap_or("(unset)")
                )
            })
        });
        let tickets = ev
            .tickets
            .into_iter()
            .map(|t| (t.ticket.clone(), ticket_verdict(pr, t)))
            .collect();
        Ok(PullVerdict {
            pr,
            refused,
            tickets,
        })
    }

    /// The pull request merged as commit `c`, evaluated as on its base branch when
    /// it merged. `follow_up`: the ticket of a follow-up pull request, taken as
    /// processed (the caller knows it is), whose request is read from `c`.
    pub(crate) fn evaluate_commit(
        &self,
        c: Oid,
        follow_up: Option<&str>,
    ) -> Result<(u64, super::Evaluation), String> {
        let sha = c.to_string();
        let pr = self
            .forge
            .merged_pull_for_commit(&sha)
            .map_err(|e| format!("cannot ask the forge about {}: {e}", short(&sha)))?
            .ok_or_else(|| {
                format!(
                    "[A013] commit {} reached the branch without a merged pull request (a direct push)",
                    short(&sha)
                )
            })?;
        let data = PullData::fetch(self.forge, pr)
            .map_err(|e| format!("pull request #{pr} cannot be read whole: {e}"))?;
        let pull = &data.pull;
        let merge_commit = pull.merge_commit_sha.as_deref() == Some(sha.as_str());
        if !pull.merged || !(merge_commit || data.commits.iter().any(|k| k.sha == sha)) {
            return Err(format!(
                "[A013] the forge does not show commit {} as the merge of pull request #{pr}",
                short(&sha)
            ));
        }
        self.as_reviewed(c, &data)?;
        // The role map as the base branch had it when the pull request merged.
        let base = if merge_commit {
            self.history.first_parent(c).ok().flatten()
        } else {
            self.history.commit(&pull.base_sha).ok()
        }
        .ok_or_else(|| format!("pull request #{pr}: its base commit is not in this clone"))?;
        let config_text = self
            .history
            .text(base, CONFIG_FILE)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("pull request #{pr}: no {CONFIG_FILE} on its base"))?;
        let base_inst = Instance::from_files(
            &self.head.root,
            vec![(CONFIG_FILE.to_string(), config_text)],
        );
        let config = base_inst.config.as_ref().ok_or_else(|| {
            format!("pull request #{pr}: {CONFIG_FILE} on its base does not parse")
        })?;
        let merged = match follow_up {
            None => self.requests_at(c, &data)?,
            Some(ticket) => {
                let rel = request_path(ticket);
                let text = self.history.text(c, &rel).map_err(|e| e.to_string())?;
                Instance::from_files(
                    &self.head.root,
                    text.map(|t| (rel, t)).into_iter().collect(),
                )
            }
        };
        let mut t = touched(&data.files, self.history.prefix(), &merged);
        if let (Some(f), Some(ticket)) = (&mut t.follow_up, follow_up) {
            f.processed = f.ticket == ticket;
        }
        Ok((pr, evaluate(config, &data, &t, true, self.now)))
    }

    /// The history of one file: the commits on the branch that wrote it, newest
    /// first (since `--history-from`).
    pub(crate) fn writers_of(&self, rel: &str) -> Result<Vec<Oid>, String> {
        let wanted: BTreeSet<String> = [rel.to_string()].into();
        let mut w = self
            .history
            .writers(self.head_commit, &wanted, self.since)
            .map_err(|e| e.to_string())?;
        Ok(w.remove(rel).unwrap_or_default())
    }

    /// The merged instance apply reads.
    pub(crate) fn head(&self) -> &Instance {
        self.head
    }

    /// Commit `c` holds what was reviewed: it changes no path the pull request does
    /// not list (a merge commit made by hand could add anything), and its requests
    /// and accounts are exactly as on the reviewed head, when the head is here.
    fn as_reviewed(&self, c: Oid, data: &PullData) -> Result<(), String> {
        let listed: BTreeSet<&str> = data
            .files
            .iter()
            .flat_map(|f| [Some(f.path.as_str()), f.previous_path.as_deref()])
            .flatten()
            .collect();
        let (pr, head) = (data.pull.number, &data.pull.head_sha);
        let sha = c.to_string();
        let data_dirs = [
            self.history.repo_path(REQUESTS_DIR) + "/",
            self.history.repo_path(ACCOUNTS_DIR) + "/",
            self.history.repo_path(LETTERS_DIR) + "/",
        ];
        for (path, id) in self.history.changes(c).map_err(|e| e.to_string())? {
            if !listed.contains(path.as_str()) {
                return Err(format!(
                    "[A014] commit {} changes {path}, which pull request #{pr} does not list: not what was reviewed",
                    short(&sha)
                ));
            }
            let data_file = data_dirs.iter().any(|d| path.starts_with(d.as_str()));
            if data_file && self.history.has(head) && self.history.blob_at(head, &path) != id {
                return Err(format!(
                    "[A014] commit {} holds {path} otherwise than the reviewed head {} of pull request #{pr}",
                    short(&sha),
                    short(head)
                ));
            }
        }
        Ok(())
    }

    /// The request files a pull request changed, as commit `c` has them.
    fn requests_at(&self, c: Oid, data: &PullData) -> Result<Instance, String> {
        let mut files = Vec::new();
        for f in data.files.iter().filter(|f| !f.removed) {
            let prefix = self.history.prefix();
            let rel = if prefix.is_empty() {
                Some(f.path.as_str())
            } else {
                f.path
                    .strip_prefix(prefix)
                    .and_then(|p| p.strip_prefix('/'))
            };
            let Some(rel) = rel.filter(|r| r.starts_with(&format!("{REQUESTS_DIR}/"))) else {
                continue;
            };
            if let Some(text) = self.history.text(c, rel).map_err(|e| e.to_string())? {
                files.push((rel.to_string(), text));
            }
        }
        Ok(Instance::from_files(&self.head.root, files))
    }

    /// One change's verdict, from the verdicts of the commits behind it.
    fn judge_change(
        &self,
        change: &PlannedChange,
        writers: &Writers,
        pulls: &BTreeMap<Oid, Result<PullVerdict, String>>,
        trails: &mut BTreeMap<String, Trail>,
    ) -> Result<(), String> {
        if let Some(why) = unticketed(change) {
            return Err(why);
        }
        if let Some(why) = self
            .head
            .config
            .as_ref()
            .and_then(|c| import_batch_only(change, c))
        {
            return Err(why);
        }
        for ticket in &change.tickets {
            if !self
                .head
                .requests
                .iter()
                .any(|r| r.value.ticket() == ticket)
            {
                return Err(format!("{ticket}: no request file in {REQUESTS_DIR}/"));
            }
        }
        for file in self.sources(change) {
            for c in writers.get(&file).into_iter().flatten() {
                let at = |why: &str| {
                    format!(
                        "{file} was changed by {}{}, {why}",
                        short(&c.to_string()),
                        match pulls.get(c) {
                            Some(Ok(v)) => format!(" (pull request #{})", v.pr),
                            _ => String::new(),
                        }
                    )
                };
                match pulls.get(c) {
                    Some(Ok(v)) => {
                        if let Some(why) = &v.refused {
                            return Err(at(&format!("which was not approved ([A013]): {why}")));
                        }
                    }
                    Some(Err(why)) => return Err(at(why)),
                    None => return Err(at("which the gate did not read")),
                }
            }
        }
        for ticket in &change.tickets {
            // The oldest commit that wrote the request added it: its approvals are
            // the ticket's. None: the request predates the judged history.
            let Some(added) = writers.get(&request_path(ticket)).and_then(|w| w.last()) else {
                continue;
            };
            let Some(Ok(v)) = pulls.get(added) else {
                return Err(format!("{ticket}: its pull request cannot be read"));
            };
            match v.tickets.get(ticket.as_str()) {
                Some(Ok(trail)) => {
                    trails.insert(ticket.clone(), trail.clone());
                }
                Some(Err(missing)) => return Err(format!("[A013] {missing}")),
                None => {
                    return Err(format!(
                        "{ticket}: pull request #{} does not list {} among its files",
                        v.pr,
                        request_path(ticket)
                    ));
                }
            }
        }
        Ok(())
    }
}

fn request_path(ticket: &str) -> String {
    format!("{REQUESTS_DIR}/{ticket}.toml")
}

fn ticket_verdict(pr: u64, t: super::TicketStatus) -> Result<Trail, Missing> {
    if t.outcome != Outcome::Approved {
        return Err(Missing {
            ticket: t.ticket,
            step: t.pending,
            outcome: t.outcome,
            reason: t.reason,
        });
    }
    Ok(Trail {
        ticket: t.ticket,
        pr,
        kind: t.kind,
        steps: t
            .steps
            .into_iter()
            .filter_map(|s| match s.state {
                StepState::Done { record } => Some(record),
                _ => None,
            })
            .collect(),
    })
}

impl ApprovalGate for HistoryGate<'_> {
    fn prepare(&mut self, changes: &[PlannedChange]) -> Result<(), String> {
        let wanted: BTreeSet<String> = changes.iter().flat_map(|c| self.sources(c)).collect();
        let writers = self
            .history
            .writers(self.head_commit, &wanted, self.since)
            .map_err(|e| e.to_string())?;
        let commits: BTreeSet<Oid> = writers.values().flatten().copied().collect();
        let pulls: BTreeMap<Oid, Result<PullVerdict, String>> = commits
            .into_iter()
            .map(|c| (c, self.judge_commit(c)))
            .collect();
        let mut trails = BTreeMap::new();
        for c in changes {
            let verdict = self.judge_change(c, &writers, &pulls, &mut trails);
            self.verdicts.insert(c.key(), verdict);
        }
        if self.write_trails {
            for t in trails.values() {
                // A record already past the gate keeps its outcome; the trail is
                // written for the site and audits, never read back by the gate.
                write_record(&self.head.root, t).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn approve(&self, change: &PlannedChange, _: KindOf) -> Result<(), String> {
        self.verdicts
            .get(&change.key())
            .cloned()
            .unwrap_or_else(|| Err("not judged by the gate (not in the planned run)".into()))
    }
}
