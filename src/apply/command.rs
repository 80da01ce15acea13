//! Command-template backend: mail systems loket cannot drive directly (Zimbra's
//! `zmprov`, …) described by a TOML file of minijinja templates
//! (`templates/backends/*.toml`). Rendered commands run with `sh` locally or as
//! root on a `[[servers]]` host over the SSH backend's session; each step's exit
//! code and output are checked against the template's `expect`/`refuse` patterns.
//!
//! Secrets: `password` is defined only in a step's `stdin` template (a `run` line
//! that uses it fails to render), stdin travels in a quoted here-document inside
//! the script (never argv, never a process list), and every message or display of
//! a rendered step has the password replaced by `<password>`; then the output of a
//! step passes [`redact`](super::redact), which takes out every secret of the run,
//! in its encodings too.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use minijinja::{Environment, UndefinedBehavior, Value, context};
use rand::RngExt;
use regex::Regex;
use serde::Deserialize;

use super::backend::{Backend, BackendError, Change, LiveMail, LiveState, Secret, Verified};
use super::plan::Target;
use super::redact::redact_owned;
use super::ssh::backend::{AdminIdentity, admin_identity, target_for};
use super::ssh::{SshHost, sh_quote};
use crate::model::backends::CommandSettings;
use crate::model::config::Config;

/// A template file: how to list accounts and the steps of each action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TemplateFile {
    pub description: String,
    /// Values every template sees (e.g. the `zmprov` path); instances may override.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    pub read: ReadTemplate,
    /// Plan action (`create`, `disable`, `enable`, `reset`) to its steps.
    pub actions: BTreeMap<String, Vec<StepTemplate>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReadTemplate {
    pub run: String,
    /// Regex for one output line, with groups `address`, `status` and optionally
    /// `tickets` (space-separated tickets already applied).
    pub line: String,
    /// The `status` that means the account accepts logins.
    pub active: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepTemplate {
    /// Shell command line (`password` is not available here).
    pub run: String,
    /// Fed to the command's standard input; may use `password`.
    #[serde(default)]
    pub stdin: Option<String>,
    /// The output (stdout and stderr together) must match this regex.
    #[serde(default)]
    pub expect: Option<String>,
    /// The output must not match this regex (e.g. `(?m)^ERROR`).
    #[serde(default)]
    pub refuse: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("template `{action}` step {step} ({part}): {message}")]
    Render {
        action: String,
        step: usize,
        part: &'static str,
        message: String,
    },
    #[error("template has no steps for `{0}`")]
    NoAction(String),
}

impl TemplateFile {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::File {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Parses and checks every regex, so a bad pattern fails before any command runs.
    pub fn parse(file: &str, text: &str) -> Result<Self, TemplateError> {
        let t: TemplateFile = toml::from_str(text).map_err(|e| TemplateError::File {
            file: file.into(),
            message: e.to_string(),
        })?;
        let patterns = std::iter::once(&t.read.line).chain(
            t.actions
                .values()
                .flatten()
                .flat_map(|s| s.expect.iter().chain(s.refuse.iter())),
        );
        for p in patterns {
            Regex::new(p).map_err(|e| TemplateError::File {
                file: file.into(),
                message: format!("bad pattern {p:?}: {e}"),
            })?;
        }
        Ok(t)
    }
}

/// One command ready to run. `Debug`/`Display` never show the password.
#[derive(Clone)]
pub struct RenderedStep {
    pub run: String,
    stdin: Option<String>,
    secret: Option<Secret>,
    pub expect: Option<String>,
    pub refuse: Option<String>,
}

impl RenderedStep {
    /// `text` with the password replaced.
    pub fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(s) if !s.expose().is_empty() => text.replace(s.expose(), "<password>"),
            _ => text.to_string(),
        }
    }

    /// The script that runs the step: stdin as a quoted here-document (no
    /// expansion), output merged, exit code reported on a marker line.
    fn script(&self) -> String {
        let input = match &self.stdin {
            None => " </dev/null\n".to_string(),
            Some(text) => {
                let mut delim;
                loop {
                    delim = format!("LOKET_{:016X}", rand::rng().random::<u64>());
                    if !text.contains(&delim) {
                        break;
                    }
                }
                let body = text.trim_end_matches('\n');
                format!(" <<'{delim}'\n{body}\n{delim}\n")
            }
        };
        format!("( {} ) 2>&1{input}echo \"{EXIT_MARK} $?\"\n", self.run)
    }
}

const EXIT_MARK: &str = "LOKET-EXIT";

impl fmt::Display for RenderedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.run)?;
        if let Some(s) = &self.stdin {
            for line in self.redact(s).lines() {
                writeln!(f, "< {line}")?;
            }
        }
        if let Some(e) = &self.expect {
            writeln!(f, "  expect /{e}/")?;
        }
        if let Some(r) = &self.refuse {
            writeln!(f, "  refuse /{r}/")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RenderedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // POSIX shell word.
    env.add_filter("q", |s: String| sh_quote(&s));
    // Double-quoted word for line-oriented tools such as `zmprov` reading stdin.
    env.add_filter("zq", |s: String| {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    });
    env
}

/// Renders the steps of `action` for a mail account. `password` only reaches the
/// `stdin` templates.
pub fn render_mail(
    file: &TemplateFile,
    action: &str,
    address: &str,
    active: bool,
    tickets: &[String],
    password: Option<&Secret>,
) -> Result<Vec<RenderedStep>, TemplateError> {
    let steps = file
        .actions
        .get(action)
        .ok_or_else(|| TemplateError::NoAction(action.into()))?;
    let env = environment();
    let (local, domain) = address.split_once('@').unwrap_or((address, ""));
    let base = context! {
        address, local_part => local, domain, active, tickets => tickets.to_vec(),
        ticket => tickets.last().cloned().unwrap_or_default(), action,
        ..Value::from(file.vars.clone())
    };
    let with_pw = context! {
        password => password.map(|p| p.expose().to_string()), ..base.clone()
    };
    let err = |step, part, e: minijinja::Error| TemplateError::Render {
        action: action.into(),
        step,
        part,
        message: match e.kind() {
            minijinja::ErrorKind::UndefinedError if part == "run" => {
                format!("{e} (`password` may only be used in stdin)")
            }
            _ => e.to_string(),
        },
    };
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let run = env
                .render_str(&s.run, base.clone())
                .map_err(|e| err(i + 1, "run", e))?;
            let stdin = s
                .stdin
                .as_ref()
                .map(|t| env.render_str(t, with_pw.clone()))
                .transpose()
                .map_err(|e| err(i + 1, "stdin", e))?;
            Ok(RenderedStep {
                run: run.trim().to_string(),
                stdin,
                secret: password.cloned(),
                expect: s.expect.clone(),
                refuse: s.refuse.clone(),
            })
        })
        .collect()
}

/// Where rendered commands run.
pub enum Runner {
    Local,
    /// As root on a server, over the SSH backend's session (with the admin key
    /// file kept for as long as the runner, when it came from the environment).
    Ssh(Box<SshHost>, Option<AdminIdentity>),
}

impl Runner {
    /// Runs `script` and returns its output (exit code on the marker line).
    fn run(&mut self, script: &str) -> Result<String, String> {
        match self {
            Runner::Local => {
                let mut child = Command::new("sh")
                    .arg("-s")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("running sh: {e}"))?;
                let mut stdin = child.stdin.take().expect("piped");
                let text = script.to_string();
                let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
                let out = child.wait_with_output().map_err(|e| e.to_string())?;
                let _ = writer.join();
                let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
                s.push_str(&String::from_utf8_lossy(&out.stderr));
                Ok(s)
            }
            Runner::Ssh(host, _) => host.run_script(script).map_err(|e| e.to_string()),
        }
    }

    /// Runs one step and checks it: exit 0, `expect` matches, `refuse` does not.
    pub fn run_step(&mut self, step: &RenderedStep) -> Result<String, String> {
        let mut raw = self
            .run(&step.script())
            .map_err(|e| redact_owned(step.redact(&e)))?;
        let out = redact_owned(step.redact(&raw));
        zeroize::Zeroize::zeroize(&mut raw);
        let (body, code) = match out.rsplit_once(EXIT_MARK) {
            Some((body, code)) => (body.to_string(), code.trim().parse::<i32>().unwrap_or(-1)),
            None => (out.clone(), -1),
        };
        let excerpt = || body.trim().chars().take(400).collect::<String>();
        if code != 0 {
            return Err(format!("`{}` exited with {code}: {}", step.run, excerpt()));
        }
        if let Some(p) = &step.expect
            && !Regex::new(p).is_ok_and(|r| r.is_match(&body))
        {
            return Err(format!(
                "`{}`: output does not match /{p}/: {}",
                step.run,
                excerpt()
            ));
        }
        if let Some(p) = &step.refuse
            && Regex::new(p).is_ok_and(|r| r.is_match(&body))
        {
            return Err(format!(
                "`{}`: output matches /{p}/: {}",
                step.run,
                excerpt()
            ));
        }
        Ok(body)
    }
}

/// The mail backend `[backends.mail] type = "command"`.
pub struct CommandBackend {
    name: String,
    file: TemplateFile,
    domains: Vec<String>,
    runner: Runner,
}

impl CommandBackend {
    /// `vars` override the template file's own.
    pub fn new(
        name: &str,
        mut file: TemplateFile,
        vars: BTreeMap<String, String>,
        domains: Vec<String>,
        runner: Runner,
    ) -> Self {
        file.vars.extend(vars);
        Self {
            name: name.to_string(),
            file,
            domains,
            runner,
        }
    }

    fn read_live(&mut self) -> Result<LiveState, BackendError> {
        let env = environment();
        let ctx =
            context! { domains => self.domains.clone(), ..Value::from(self.file.vars.clone()) };
        let run = env
            .render_str(&self.file.read.run, ctx)
            .map_err(|e| BackendError::Other(format!("read template: {e}")))?;
        let step = RenderedStep {
            run: run.trim().to_string(),
            stdin: None,
            secret: None,
            expect: None,
            refuse: None,
        };
        let out = self
            .runner
            .run_step(&step)
            .map_err(|message| BackendError::Command {
                command: format!("{} read", self.name),
                message,
            })?;
        let line =
            Regex::new(&self.file.read.line).map_err(|e| BackendError::Other(e.to_string()))?;
        let mut state = LiveState::default();
        for l in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some(c) = line.captures(l) else {
                return Err(BackendError::Parse {
                    path: format!("{} read output", self.name).into(),
                    line: 0,
                    message: format!("line does not match /{}/: {l}", self.file.read.line),
                });
            };
            let address = c.name("address").map_or("", |m| m.as_str()).to_lowercase();
            let active = c
                .name("status")
                .is_some_and(|m| m.as_str() == self.file.read.active);
            let tickets = c
                .name("tickets")
                .map(|m| m.as_str().split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            state.mail.insert(address, LiveMail { active, tickets });
        }
        Ok(state)
    }
}

/// The backend `[backends.mail] type = "command"` describes.
pub fn open(
    settings: &CommandSettings,
    config: &Config,
    instance_root: &Path,
    domains: Vec<String>,
) -> Result<CommandBackend, BackendError> {
    let path = instance_root.join(&settings.templates);
    let file = TemplateFile::load(&path).map_err(|e| BackendError::Other(e.to_string()))?;
    let runner = match &settings.server {
        None => Runner::Local,
        Some(name) => {
            let server = config.server(name).ok_or_else(|| {
                BackendError::Other(format!(
                    "[backends.mail] server = {name:?} is not among [[servers]]"
                ))
            })?;
            let identity = admin_identity(settings.identity_file.as_deref(), instance_root)?;
            let host = SshHost::new(target_for(server, &identity.path));
            Runner::Ssh(Box::new(host), Some(identity))
        }
    };
    Ok(CommandBackend::new(
        &settings.name(),
        file,
        settings.vars.clone(),
        domains,
        runner,
    ))
}

impl Backend for CommandBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        self.read_live()
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>> {
        changes
            .iter()
            .map(|c| {
                let p = c.planned;
                let Target::Mail { address, active } = &p.target else {
                    return Err(BackendError::Other(format!(
                        "the {} backend handles mail accounts only",
                        self.name
                    )));
                };
                let steps = render_mail(
                    &self.file,
                    p.action.as_str(),
                    address,
                    *active,
                    &p.tickets,
                    c.password,
                )
                .map_err(|e| BackendError::Other(e.to_string()))?;
                for s in &steps {
                    self.runner
                        .run_step(s)
                        .map_err(|message| BackendError::Command {
                            command: format!("{} {}", self.name, p.action.as_str()),
                            message,
                        })?;
                }
                Ok(())
            })
            .collect()
    }

    /// No login is possible from here: checks the account's state as the system lists it.
    fn verify(&mut self, change: &Change<'_>) -> Result<Verified, BackendError> {
        let Target::Mail { address, active } = &change.planned.target else {
            return Err(BackendError::Verify("not a mail change".into()));
        };
        let want_active = *active;
        let live = self.read_live()?;
        match live.mail.get(address) {
            Some(l) if l.active == want_active => Ok(Verified::State(format!(
                "{address} is {} on {}",
                if l.active { "active" } else { "disabled" },
                self.name
            ))),
            Some(_) => Err(BackendError::Verify(format!(
                "{address}: status on {} is not what {} asked",
                self.name,
                change.planned.action.as_str()
            ))),
            None => Err(BackendError::Verify(format!(
                "{address}: not listed by {}",
                self.name
            ))),
        }
    }
}
