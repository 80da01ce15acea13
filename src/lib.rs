//! loket: account requests to a regional government's IT office (Diskominfo) as a
//! GitOps pipeline. Requests are TOML files reviewed as pull requests; the SOP's
//! dispositions are reviews; merges are applied to real mail and server systems.
//!
//! The modules follow the pipeline: [`model`] reads the instance, [`check`] validates
//! it, and the later stages build on both.

pub mod apply;
pub mod calendar;
pub mod check;
pub mod diag;
pub mod doctor;
pub mod followup;
pub mod forge;
pub mod import;
pub mod init;
pub mod letter;
pub mod model;
pub mod new;
pub mod nip;
pub mod remind;
pub mod review;
pub mod site;
pub mod ticket;
