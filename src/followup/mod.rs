//! The steps after the account is made, the GitOps way: the outgoing-letter
//! register ([`register`]: the next number, `loket letter --draft` and `--list`) and
//! recording what merged follow-up pull requests completed ([`record`], run by
//! `loket apply` in CI). Judging a follow-up pull request's reviews is
//! [`crate::review::followup`]'s.

pub mod record;
pub mod register;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FollowUpError {
    #[error("{0}")]
    Refused(String),
    #[error("cannot write {path}: {message}")]
    Write {
        path: std::path::PathBuf,
        message: String,
    },
}
