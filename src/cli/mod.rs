//! Command handlers: turn parsed arguments into library calls and exit codes.
//! `anyhow` lives here only; the library reports typed errors.

pub mod apply;
pub mod assets;
pub mod check;
pub mod doctor;
pub mod import;
pub mod init;
pub mod letters;
pub mod new;
pub mod remind;
pub mod review;
pub mod site;

/// `--format` for commands with machine-readable output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
}
