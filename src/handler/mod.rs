//! Glue for `clamav-freshen`'s subcommands: environment checks, config, decision, spawning
//! the detached worker, running the ladder, recording the result.
//!
//! Everything the caller controls is hostile: the arguments (parsed strictly, audited
//! escaped) and the environment (ignored except the test-root variable, which is honoured
//! only for a non-sudo caller whose uid equals its euid).

pub(crate) mod audit;
pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod dbfix;
pub(crate) mod decide;
pub(crate) mod flight;
pub(crate) mod freshclam;
pub(crate) mod ladder;
pub(crate) mod paths;
pub(crate) mod scope;
pub(crate) mod service;
pub(crate) mod state;

use crate::clamav::freshclam_conf::FreshclamConf;
use crate::clamav::freshclam_dat::FreshclamDat;
use crate::handler::audit::{Audit, Syslog, caller, escape_bytes};
use crate::handler::cli::{Cli, Command};
use crate::handler::config::{Config, Source};
use crate::handler::decide::{Decision, Facts, Policy, Trigger, decide};
use crate::handler::freshclam::Freshclam;
use crate::handler::ladder::{Ctx, Report};
use crate::handler::paths::{Paths, TEST_ROOT_ENV};
use crate::handler::service::ServiceManager;
use crate::handler::state::LastRepair;
use crate::nagios::command_file::{self, Submit};
use crate::nagios::{ServiceState, StateType, parse_attempt};
use crate::system;
use clap::Parser;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// worker.log is emptied at the next spawn once it grows past this.
const MAX_WORKER_LOG: u64 = 1 << 20;

/// Like println!/eprintln!, but a closed or broken stdout/stderr (Nagios gone, `| head`)
/// is ignored instead of panicking after the work is done.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! complain {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Text from files other users write (the CVD header, freshclam.conf, freshclam's
/// messages) on an admin's terminal: control characters (escape sequences, newlines) become
/// `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Exit code of every refusal (bad arguments, environment, config, misuse).
pub(crate) const EXIT_REFUSED: i32 = 2;

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whether anything in the environment says we run under sudo.
fn under_sudo() -> bool {
    std::env::vars_os().any(|(k, _)| k.as_bytes().starts_with(b"SUDO_"))
}

/// Picks the paths: production, or the test root when that is allowed. `Err` carries the
/// refusal reason.
pub(crate) fn select_paths() -> Result<Paths, String> {
    let Some(root) = std::env::var_os(TEST_ROOT_ENV) else {
        return Ok(Paths::system());
    };
    if under_sudo()
        || nix::unistd::getuid() != nix::unistd::geteuid()
        || nix::unistd::getgid() != nix::unistd::getegid()
        || system::secure_exec()
    {
        return Err(format!(
            "{TEST_ROOT_ENV} is not honoured under sudo or setuid"
        ));
    }
    let root = Path::new(&root);
    if !root.is_absolute() || !root.is_dir() {
        return Err(format!(
            "{TEST_ROOT_ENV} must name an existing absolute directory"
        ));
    }
    // Second line of defence should some other privilege tool (doas, pkexec, a setenv
    // sudo rule) pass the variable without SUDO_*: the root decides which programs run, so
    // it must be ours and closed to others, like the config file.
    let md = std::fs::symlink_metadata(root).map_err(|e| format!("{TEST_ROOT_ENV}: {e}"))?;
    if !md.is_dir() || md.uid() != nix::unistd::geteuid().as_raw() || md.mode() & 0o022 != 0 {
        return Err(format!(
            "{TEST_ROOT_ENV} must be a directory owned by the caller and not group/world-writable"
        ));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    Ok(Paths::under(root, exe))
}

fn refuse(audit: &dyn Audit, reason: &str) -> i32 {
    audit.event("refused", &[("reason", &reason)]);
    complain!("clamav-freshen: {reason}");
    EXIT_REFUSED
}

/// Runs one invocation; returns the exit code. `args` includes argv[0].
pub fn main(args: Vec<OsString>) -> i32 {
    system::sanitize_process();
    let is_worker = args.get(1).is_some_and(|a| a == "worker");
    // The worker's lock arrives on fd 3; claim it before anything else can open a file
    // that would land on that number.
    let inherited_lock = if is_worker {
        system::take_inherited_lock_fd()
    } else {
        None
    };
    if is_worker {
        // First thing: a stop signal must never take the daemon down with the worker.
        if let Err(e) = system::install_stop_handlers() {
            complain!("clamav-freshen: cannot install signal handlers: {e}");
        }
    }
    let paths = match select_paths() {
        Ok(p) => p,
        Err(reason) => {
            let audit = Syslog::open(
                &Paths::system().dev_log,
                syslog::Facility::LOG_DAEMON,
                false,
            );
            audit_invocation(&audit, &args);
            return refuse(&audit, &reason);
        }
    };
    let mut audit = Syslog::open(&paths.dev_log, syslog::Facility::LOG_DAEMON, is_worker);
    audit_invocation(&audit, &args);

    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            let reason = clap_reason(&e);
            return refuse(&audit, &reason);
        }
    };
    if matches!(cli.command, Command::Handle { .. } | Command::Heal) {
        system::ignore_job_control();
    }
    let owner = if paths.root.is_some() {
        nix::unistd::geteuid().as_raw()
    } else {
        0
    };
    let (cfg, cfg_problem) = match Config::load(&paths.config, owner) {
        Ok((cfg, Source::File)) => {
            audit.event(
                "config",
                &[("result", &"ok"), ("path", &paths.config.display())],
            );
            (cfg, None)
        }
        Ok((cfg, Source::Defaults)) => {
            audit.event(
                "config",
                &[
                    ("result", &"missing, built-in defaults"),
                    ("path", &paths.config.display()),
                ],
            );
            (cfg, None)
        }
        Err(e) => (Config::default(), Some(e.to_string())),
    };
    if let Ok(f) = cfg.facility()
        && cfg.syslog_facility != "daemon"
    {
        audit = Syslog::open(&paths.dev_log, f, is_worker);
    }
    let env = Env {
        paths,
        cfg,
        audit: &audit,
    };
    if let Some(problem) = &cfg_problem {
        audit.event("config", &[("result", &"refused"), ("reason", problem)]);
        // Refuse to act on a config we cannot trust, but still protect the system: a
        // daemon left stopped by a killed worker is started again.
        if !matches!(cli.command, Command::Status) {
            env.recover_if_needed(None);
            return refuse(&audit, &format!("configuration refused: {problem}"));
        }
    }
    match cli.command {
        Command::Handle {
            state,
            state_type,
            attempt,
        } => {
            let parsed = state.parse::<ServiceState>().and_then(|s| {
                Ok((
                    s,
                    state_type.parse::<StateType>()?,
                    parse_attempt(&attempt)?,
                ))
            });
            match parsed {
                Ok((state, state_type, attempt)) => {
                    env.trigger(Trigger::Handle {
                        state,
                        state_type,
                        attempt,
                    })
                    .0
                }
                Err(reason) => refuse(&audit, &reason),
            }
        }
        Command::Heal => env.heal(),
        Command::Repair { wait: false } => env.trigger(Trigger::Admin).0,
        Command::Repair { wait: true } => env.repair_foreground(),
        Command::Status => env.status(cfg_problem.as_deref()),
        Command::Worker => env.worker(inherited_lock),
    }
}

/// `error: unexpected argument 'x' found` → `unexpected argument 'x' found`, one line.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The reason may quote a hostile argument: keep it printable and short.
    let clean: String = first
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(300)
        .collect();
    format!(
        "{clean} (usage: clamav-freshen handle STATE STATETYPE ATTEMPT | heal | repair [--wait] | status)"
    )
}

fn audit_invocation(audit: &dyn Audit, args: &[OsString]) {
    let mut line = crate::handler::audit::format_line(
        "invoke",
        &[
            ("caller", &caller()),
            ("uid", &nix::unistd::getuid()),
            ("pid", &std::process::id()),
            ("argc", &args.len().saturating_sub(1)),
        ],
    );
    // Each argument escaped from its raw bytes (non-UTF-8 included) and truncated alone.
    for (i, a) in args.iter().skip(1).enumerate() {
        line.push_str(&format!(" arg{}={}", i + 1, escape_bytes(a.as_bytes())));
        if line.len() > crate::handler::audit::MAX_LINE {
            line.push_str(" truncated=line");
            break;
        }
    }
    audit.line(&line);
}

struct Env<'a> {
    paths: Paths,
    cfg: Config,
    audit: &'a dyn Audit,
}

impl Env<'_> {
    fn policy(&self) -> Policy {
        Policy {
            soft_attempt: self.cfg.soft_attempt,
            rate_limit_secs: self.cfg.rate_limit_secs,
            respect_cooldown: self.cfg.respect_cooldown,
        }
    }

    fn freshclam_conf(&self) -> Result<FreshclamConf, String> {
        FreshclamConf::load(&self.paths.map(&self.cfg.freshclam_conf)).map_err(|e| e.to_string())
    }

    fn cooldown_until(&self, now: i64) -> Option<i64> {
        let conf = self.freshclam_conf().ok()?;
        match FreshclamDat::read(&conf.database_directory) {
            Ok(dat) => dat?.cooldown_until(now),
            Err(e) => {
                self.audit
                    .event("freshclam-dat", &[("result", &format!("unreadable: {e}"))]);
                None
            }
        }
    }

    fn service(&self) -> service::System {
        service::System::new(&self.paths, &self.cfg)
    }

    /// After a SIGKILLed worker: the marker is there and nobody holds the lock, so the
    /// daemon it stopped must be started. `held` is our own lock, when we already hold it.
    fn recover_if_needed(&self, held: Option<&File>) {
        if !flight::marker_present(&self.paths.marker) {
            return;
        }
        let _guard = match held {
            Some(_) => None,
            None => match flight::try_acquire(&self.paths.run_dir, &self.paths.lock) {
                Ok(Some(f)) => Some(f),
                // A live repair owns the marker.
                _ => return,
            },
        };
        let svc = self.service();
        self.audit.event(
            "recover",
            &[
                (
                    "reason",
                    &"daemon-stopped marker left by an interrupted repair",
                ),
                ("mode", &svc.mode().as_str()),
            ],
        );
        let fc = self.real_freshclam();
        ladder::recover(&self.ctx(&svc, &fc, &|| None));
    }

    fn ctx<'b>(
        &'b self,
        svc: &'b dyn ServiceManager,
        fc: &'b dyn Freshclam,
        stop: &'b dyn Fn() -> Option<i32>,
    ) -> Ctx<'b> {
        Ctx {
            audit: self.audit,
            svc,
            fc,
            freshclam_conf: self.paths.map(&self.cfg.freshclam_conf),
            scope: scope::Scope::new(&self.cfg, &self.paths),
            marker: self.paths.marker.clone(),
            stop_timeout: Duration::from_secs(self.cfg.stop_timeout_secs),
            repair_timeout: Duration::from_secs(self.cfg.repair_timeout_secs),
            start_verify: Duration::from_secs(self.cfg.start_verify_secs),
            now: &now,
            stop,
        }
    }

    /// One audit line per decision: `action=repair|skip reason=...` plus `extra`.
    fn audit_decision(&self, decision: &Decision, extra: &[(&str, &dyn std::fmt::Display)]) {
        let action = if decision.is_repair() {
            "repair"
        } else {
            "skip"
        };
        let reason = decision.reason();
        let mut fields: Vec<(&str, &dyn std::fmt::Display)> =
            vec![("action", &action), ("reason", &reason)];
        fields.extend_from_slice(extra);
        self.audit.event("decision", &fields);
    }

    /// Decide and, when repairing, spawn the detached worker. Returns the exit code and
    /// a one-line summary.
    fn trigger(&self, trigger: Trigger) -> (i32, String) {
        let lock = match flight::acquire_unless_repairing(&self.paths.run_dir, &self.paths.lock) {
            Ok(l) => l,
            Err(e) => {
                let reason = format!("cannot open repair lock {}: {e}", self.paths.lock.display());
                self.audit
                    .event("decision", &[("action", &"error"), ("reason", &reason)]);
                complain!("clamav-freshen: {reason}");
                return (1, reason);
            }
        };
        if let Some(l) = &lock {
            self.recover_if_needed(Some(l));
        }
        let t = now();
        let facts = Facts {
            now: t,
            running: lock.is_none(),
            last_finished: LastRepair::read(&self.paths.state_file).map(|r| r.finished),
            cooldown_until: self.cooldown_until(t),
        };
        let decision = decide(trigger, &facts, &self.policy());
        self.audit_decision(&decision, &[]);
        let summary = match (&decision, lock) {
            (Decision::Repair { reason }, Some(lock)) => match self.spawn_worker(&lock) {
                Ok(pid) => {
                    self.audit
                        .event("spawn", &[("result", &"ok"), ("pid", &pid)]);
                    format!("repair started ({reason})")
                }
                Err(e) => {
                    self.audit
                        .event("spawn", &[("result", &format!("error: {e}"))]);
                    complain!("clamav-freshen: cannot start the repair worker: {e}");
                    return (1, format!("cannot start repair: {e}"));
                }
            },
            (d, _) => format!("no repair: {}", d.reason()),
        };
        if !matches!(trigger, Trigger::Heal { .. }) {
            say!("clamav-freshen: {summary}");
        }
        (0, summary)
    }

    /// Starts `<self> worker` in a new session (and a transient scope under systemd), with
    /// the lock on fd 3, stdin/stdout on /dev/null and stderr appended to worker.log.
    fn spawn_worker(&self, lock: &File) -> std::io::Result<u32> {
        let p = &self.paths;
        let mut cmd = if p.systemd_is_pid1() && p.systemd_run.is_file() {
            let mut c = std::process::Command::new(&p.systemd_run);
            c.args(["--scope", "--quiet", "--collect"])
                // pid and time: unique even if a scope of a reused pid lingers.
                .arg(format!(
                    "--unit=clamav-freshen-repair-{}-{}",
                    std::process::id(),
                    now()
                ))
                .arg("--")
                .arg(&p.self_exe);
            c
        } else {
            std::process::Command::new(&p.self_exe)
        };
        cmd.arg("worker")
            .env_clear()
            .env("PATH", crate::system::process::CLEAN_PATH)
            .current_dir("/");
        if let Some(root) = &p.root {
            cmd.env(TEST_ROOT_ENV, root);
        }
        // The worker's stderr keeps what syslog could not take; without it the repair
        // still runs (stderr to /dev/null), it is only less talkative.
        let log: Stdio = match std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&p.worker_log)
        {
            Ok(f) => {
                // Written only while syslog is unreachable: keep it bounded all the same.
                if f.metadata().is_ok_and(|m| m.len() > MAX_WORKER_LOG) {
                    let _ = f.set_len(0);
                }
                f.into()
            }
            Err(e) => {
                self.audit
                    .event("worker-log", &[("result", &format!("error: {e}"))]);
                Stdio::null()
            }
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        system::detach_with_lock(&mut cmd, lock.as_raw_fd());
        // The child is reparented to init once we exit; it is never waited for.
        let child = cmd.spawn()?;
        Ok(child.id())
    }

    fn real_freshclam(&self) -> freshclam::Real {
        freshclam::Real {
            program: self.paths.map(&self.cfg.freshclam),
            conf: self.paths.map(&self.cfg.freshclam_conf),
            limit: Duration::from_secs(self.cfg.freshclam_timeout_secs),
            grace: Duration::from_secs(self.cfg.kill_grace_secs),
        }
    }

    /// The ladder plus its bookkeeping. The caller holds the lock.
    fn run_ladder(&self) -> Report {
        let svc = self.service();
        let fc = self.real_freshclam();
        let stop = system::stop_requested;
        let report = ladder::repair(&self.ctx(&svc, &fc, &stop));
        let rec = LastRepair {
            started: report.started,
            finished: report.finished,
            outcome: report.outcome.to_string(),
        };
        let r = rec.write(&self.paths.state_dir, &self.paths.state_file);
        self.audit.event(
            "state",
            &[(
                "result",
                &r.map_or_else(|e| format!("error: {e}"), |_| "saved".into()),
            )],
        );
        let cmd_file = self.paths.map(&self.cfg.nagios_command_file);
        let sent = match command_file::submit(
            &cmd_file,
            &self.cfg.nagios_host,
            &self.cfg.nagios_service,
            now(),
        ) {
            Submit::Sent => "sent".to_string(),
            Submit::Absent => "skipped: no command file".to_string(),
            Submit::Failed(e) => format!("error: {e}"),
        };
        self.audit.event(
            "nagios-recheck",
            &[("result", &sent), ("file", &cmd_file.display())],
        );
        report
    }

    fn worker(&self, lock: Option<File>) -> i32 {
        let Some(lock) = lock else {
            return refuse(
                self.audit,
                "worker: internal command, not started by clamav-freshen",
            );
        };
        if !flight::is_held_lock(&lock, &self.paths.run_dir, &self.paths.lock) {
            return refuse(
                self.audit,
                "worker: inherited fd is not the held repair lock",
            );
        }
        flight::record_holder(&lock);
        let report = self.run_ladder();
        drop(lock);
        if report.outcome.is_success() { 0 } else { 1 }
    }

    fn repair_foreground(&self) -> i32 {
        if let Err(e) = system::install_stop_handlers() {
            self.audit
                .event("signals", &[("result", &format!("error: {e}"))]);
        }
        let lock = match flight::acquire_unless_repairing(&self.paths.run_dir, &self.paths.lock) {
            Ok(Some(l)) => l,
            Ok(None) => {
                self.audit.event(
                    "decision",
                    &[
                        ("action", &"skip"),
                        ("reason", &"a repair is already running"),
                    ],
                );
                say!("clamav-freshen: a repair is already running");
                return 1;
            }
            Err(e) => {
                complain!("clamav-freshen: cannot open repair lock: {e}");
                return 1;
            }
        };
        flight::record_holder(&lock);
        self.recover_if_needed(Some(&lock));
        let t = now();
        let facts = Facts {
            now: t,
            running: false,
            last_finished: LastRepair::read(&self.paths.state_file).map(|r| r.finished),
            cooldown_until: self.cooldown_until(t),
        };
        let decision = decide(Trigger::Admin, &facts, &self.policy());
        self.audit_decision(&decision, &[("wait", &true)]);
        if !decision.is_repair() {
            say!("clamav-freshen: no repair: {}", decision.reason());
            return 1;
        }
        let r = self.run_ladder();
        let v = |v: Option<u32>| v.map_or("none".into(), |v| v.to_string());
        say!(
            "clamav-freshen: {} (daily {} -> {}, {}s)",
            printable(&r.outcome.to_string()),
            v(r.before),
            v(r.after),
            r.finished - r.started
        );
        if let Some(Err(e)) = &r.daemon_started {
            say!(
                "clamav-freshen: WARNING: freshclam daemon did not start: {}",
                printable(e)
            );
        }
        if r.outcome.is_success() { 0 } else { 1 }
    }

    fn check_options(&self) -> crate::check::plugin::CheckOptions {
        let lag = |n: u32| crate::nagios::range::Range {
            start: Some(0.0),
            end: Some(n as f64),
            inside: false,
        };
        crate::check::plugin::CheckOptions {
            freshclam_conf: self.paths.map(&self.cfg.freshclam_conf),
            database_dir: None,
            dns_name: None,
            // Validated when the config was loaded.
            server: self.cfg.dns_server().ok().flatten(),
            resolv_conf: self.paths.map(Path::new("/etc/resolv.conf")),
            timeout: Duration::from_secs(self.cfg.check_timeout_secs),
            warning: lag(self.cfg.warning_lag.saturating_sub(1)),
            critical: lag(self.cfg.critical_lag.saturating_sub(1)),
            max_age: Duration::from_secs(self.cfg.max_age_hours * 3600),
        }
    }

    /// Runs the check in-process; a panic inside it becomes an error (UNKNOWN) rather than
    /// killing an NRPE command. Returns the report and its status line.
    fn check(&self) -> Result<(crate::check::plugin::CheckReport, String), String> {
        let opts = self.check_options();
        std::panic::catch_unwind(|| {
            let r = crate::check::plugin::run(&opts, now());
            let line = r.status_line();
            (r, line)
        })
        .map_err(|_| "check failed internally".to_string())
    }

    fn heal(&self) -> i32 {
        let (report, line) = match self.check() {
            Ok(r) => r,
            Err(e) => {
                self.audit
                    .event("check", &[("result", &format!("error: {e}"))]);
                say!("CLAMAV UNKNOWN - {e}");
                return ServiceState::Unknown.exit_code();
            }
        };
        self.audit
            .event("check", &[("state", &report.state), ("line", &line)]);
        let (_, done) = self.trigger(Trigger::Heal {
            state: report.state,
        });
        // NRPE shows one line: keep perfdata last.
        let (text, perf) = match line.split_once(" | ") {
            Some((t, p)) => (t.to_string(), format!(" | {p}")),
            None => (line.clone(), String::new()),
        };
        say!("{text}; {done}{perf}");
        report.state.exit_code()
    }

    fn status(&self, cfg_problem: Option<&str>) -> i32 {
        self.recover_if_needed(None);
        let mut healthy = cfg_problem.is_none();
        let mut out = Vec::new();
        out.push(format!(
            "config:       {}",
            match cfg_problem {
                Some(p) => format!("REFUSED: {p}"),
                None if self.paths.config.exists() =>
                    format!("ok ({})", self.paths.config.display()),
                None => "missing, built-in defaults".into(),
            }
        ));
        let svc = self.service();
        let mode = svc.mode();
        let daemon = if mode.has_daemon() {
            let active = svc.is_active();
            healthy &= active;
            format!(
                "{} ({})",
                mode.as_str(),
                if active { "running" } else { "NOT running" }
            )
        } else {
            format!("{} (no daemon)", mode.as_str())
        };
        out.push(format!("freshclam:    {daemon}"));
        match self.freshclam_conf() {
            Ok(conf) => match crate::clamav::cvd::local_daily(&conf.database_directory) {
                Ok(l) => out.push(format!(
                    "local daily:  {} (built {}) in {}",
                    l.header.version,
                    l.header.build_time,
                    conf.database_directory.display()
                )),
                Err(e) => {
                    healthy = false;
                    out.push(format!("local daily:  ERROR: {e}"));
                }
            },
            Err(e) => {
                healthy = false;
                out.push(format!("local daily:  ERROR: {e}"));
            }
        }
        match self.check() {
            Ok((r, line)) => {
                healthy &= r.state == ServiceState::Ok;
                out.push(format!(
                    "published:    {}",
                    r.published.map_or("unknown".into(), |p| p.to_string())
                ));
                out.push(format!("check:        {line}"));
            }
            Err(e) => {
                healthy = false;
                out.push(format!("check:        UNAVAILABLE: {e}"));
            }
        }
        let t = now();
        out.push(format!(
            "cool-down:    {}",
            self.cooldown_until(t).map_or("none".into(), |u| format!(
                "until {u} ({} min from now)",
                (u - t + 59) / 60
            ))
        ));
        out.push(format!(
            "last repair:  {}",
            match LastRepair::read(&self.paths.state_file) {
                Some(r) => format!(
                    "{} ({} min ago), outcome {}, took {}s",
                    r.finished,
                    (t - r.finished) / 60,
                    r.outcome,
                    r.duration()
                ),
                None => "never".into(),
            }
        ));
        let running = match flight::try_acquire(&self.paths.run_dir, &self.paths.lock) {
            Ok(Some(_)) => None,
            Ok(None) => Some(flight::holder_pid(&self.paths.lock)),
            Err(e) => {
                healthy = false;
                out.push(format!("repair lock:  ERROR: {e}"));
                None
            }
        };
        out.push(format!(
            "repair:       {}",
            match running {
                None => "none running".into(),
                Some(Some(pid)) => format!("running (worker pid {pid})"),
                Some(None) => "running".into(),
            }
        ));
        if flight::marker_present(&self.paths.marker) {
            out.push("marker:       freshclam daemon stopped by the running repair".into());
            healthy = false;
        }
        out.push(format!(
            "overall:      {}",
            if healthy { "healthy" } else { "NOT healthy" }
        ));
        for l in &out {
            say!("{}", printable(l));
        }
        self.audit.event("status", &[("healthy", &healthy)]);
        if healthy { 0 } else { 1 }
    }
}
