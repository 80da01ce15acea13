//! `loket plan`, `apply`, `verify`, `audit` (filled by the apply work).
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PlanArgs {}
#[derive(clap::Args)]
pub struct ApplyArgs {}
#[derive(clap::Args)]
pub struct VerifyArgs {}
#[derive(clap::Args)]
pub struct AuditArgs {}

pub fn plan(_dir: &Path, _a: PlanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket plan is being built")
}
pub fn apply(_dir: &Path, _a: ApplyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket apply is being built")
}
pub fn verify(_dir: &Path, _a: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket verify is being built")
}
pub fn audit(_dir: &Path, _a: AuditArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket audit is being built")
}
