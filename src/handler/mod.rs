//! `clamav-freshen`: process setup, the real ports, and dispatch to one file per
//! subcommand (`handle`, `heal`, `repair`, `status`, `worker`).
//!
//! Everything the caller controls is hostile: the arguments (parsed strictly, audited
//! escaped) and the environment (never read; children get a clean one).

pub(crate) mod audit;
pub(crate) mod cause;
pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod dbfix;
pub(crate) mod decide;
pub(crate) mod error;
pub(crate) mod flight;
pub(crate) mod flow;
pub(crate) mod freshclam;
pub(crate) mod handle;
pub(crate) mod heal;
pub(crate) mod ladder;
pub(crate) mod origin;
pub(crate) mod paths;
pub(crate) mod ports;
pub(crate) mod preflight;
pub(crate) mod real;
pub(crate) mod recheck;
pub(crate) mod reload;
pub(crate) mod repair;
pub(crate) mod scope;
pub(crate) mod service;
pub(crate) mod start;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod timer;
pub(crate) mod when;
pub(crate) mod worker;

#[cfg(test)]
mod tests;

use crate::handler::audit::{Audit, Syslog, caller, escape_bytes};
use crate::handler::cli::{Cli, Command};
use crate::handler::config::{Config, Source};
use crate::handler::error::HandlerError;
use crate::handler::flow::Env;
use crate::handler::paths::Paths;
use crate::handler::ports::Ports;
use crate::handler::real::{BuiltinCheck, DatabaseDir, LockFile, StateFile, SystemClock, Worker};
use crate::system;
use clap::Parser;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

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

/// Audits a refusal or failure with its reason, says it on stderr, returns its exit code.
fn fail(audit: &dyn Audit, e: &HandlerError) -> i32 {
    if matches!(e, HandlerError::Refused(_)) {
        audit.event("refused", &[("reason", &e)]);
    }
    complain!("clamav-freshen: {e}");
    e.exit_code()
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
    let paths = match Paths::select() {
        Ok(p) => p,
        Err(reason) => {
            let audit = Syslog::open(
                &Paths::system().dev_log,
                syslog::Facility::LOG_DAEMON,
                false,
            );
            audit_invocation(&audit, &args);
            return fail(&audit, &HandlerError::Refused(reason.to_string()));
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
            return fail(&audit, &HandlerError::Refused(clap_reason(&e)));
        }
    };
    if matches!(cli.command, Command::Handle { .. } | Command::Heal) {
        system::ignore_job_control();
    }
    if matches!(cli.command, Command::Repair { wait: true })
        && let Err(e) = system::install_stop_handlers()
    {
        audit.event("signals", &[("result", &format!("error: {e}"))]);
    }
    let (cfg, cfg_problem) = match Config::load(&paths.config, paths.owner_uid()) {
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

    // The real ports, built once.
    let clock = SystemClock;
    let svc = service::System::new(&paths, &cfg);
    let fc = freshclam::Real {
        program: paths.map(&cfg.freshclam),
        conf: paths.map(&cfg.freshclam_conf),
        limit: Duration::from_secs(cfg.freshclam_timeout_secs),
        grace: Duration::from_secs(cfg.kill_grace_secs),
    };
    let lock = LockFile(&paths);
    let state = StateFile(&paths);
    let monitor = recheck::Route {
        paths: &paths,
        cfg: &cfg,
    };
    let spawner = Worker {
        paths: &paths,
        audit: &audit,
        clock: &clock,
    };
    let db = DatabaseDir {
        paths: &paths,
        cfg: &cfg,
        audit: &audit,
    };
    let checker = BuiltinCheck::new(&paths, &cfg);
    let heal_timer = timer::System::new(&paths);
    let scanner = real::Clamd::new(&paths, &cfg);
    let env = Env {
        p: Ports {
            audit: &audit,
            clock: &clock,
            svc: &svc,
            freshclam: &fc,
            lock: &lock,
            state: &state,
            monitor: &monitor,
            spawner: &spawner,
            db: &db,
            checker: &checker,
            timer: &heal_timer,
            scanner: &scanner,
            stop: &system::stop_requested,
        },
        cfg: &cfg,
        paths: &paths,
        via: crate::handler::origin::Via::from_env(),
    };

    if let Some(problem) = &cfg_problem {
        audit.event("config", &[("result", &"refused"), ("reason", problem)]);
        // Refuse to act on a config we cannot trust, but still protect the system: a
        // daemon left stopped by a killed worker is started again.
        if !matches!(cli.command, Command::Status) {
            env.recover_if_needed(None);
            return fail(
                &audit,
                &HandlerError::Refused(format!("configuration refused: {problem}")),
            );
        }
    }
    let result = match cli.command {
        Command::Handle {
            state,
            state_type,
            attempt,
        } => handle::parse(&state, &state_type, &attempt)
            .and_then(|t| handle::handle(&env, t))
            .map(|line| {
                say!("{line}");
                0
            }),
        Command::Heal => {
            let (line, code) = heal::heal(&env);
            say!("{line}");
            Ok(code)
        }
        Command::Repair { wait } => {
            let r = if wait {
                repair::repair_wait(&env)
            } else {
                repair::repair(&env)
            };
            r.map(|o| {
                for l in &o.lines {
                    say!("{l}");
                }
                o.code
            })
        }
        Command::Status => {
            let s = status::gather(&env, cfg_problem.as_deref());
            say!("{s}");
            Ok(s.exit_code())
        }
        Command::Worker { by } => worker::worker(&env, inherited_lock, by.as_deref()),
    };
    result.unwrap_or_else(|e| fail(&audit, &e))
}

/// `error: unexpected argument 'x' found` → `unexpected argument 'x' found`, one line.
fn clap_reason(e: &clap::Error) -> String {
    let reason = crate::text::clap_reason(&e.render().to_string(), "invalid arguments");
    format!(
        "{reason} (usage: clamav-freshen handle STATE STATETYPE ATTEMPT | heal | repair [--wait] | status)"
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
