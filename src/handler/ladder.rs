//! The repair ladder, run by the worker under the repair lock.
//!
//! Generic over its side effects (service manager, freshclam, audit, clock, stop flag) so
//! every path, interruption included, is unit-tested with fakes. Whatever happens between
//! stopping and starting the daemon (failure, timeout, panic, stop signal), the daemon is
//! started again when the system runs one.
//!
//! Root acts only where root's configuration says ([`Scope`]): freshclam.conf is clamav's,
//! so it is only compared with that, and a mismatch (or a database directory root must not
//! act in) refuses the repair before the daemon is touched; the daemon is then left as it
//! was. freshclam itself runs as the database owner.

use crate::clamav::freshclam_conf::{ConfError, FreshclamConf};
use crate::handler::audit::Audit;
use crate::handler::cause::{self, Cause};
use crate::handler::dbfix::{self, DatabaseDir};
use crate::handler::flight;
use crate::handler::freshclam::{Freshclam, RunError, exit_name, parse_version};
use crate::handler::preflight;
use crate::handler::scope::{Mismatch, Owner, Scope, resolve_owner};
use crate::handler::service::{Mode, Prep, ServiceError, ServiceManager};
use crate::system::process::{Credentials, End};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) struct Ctx<'a> {
    pub(crate) audit: &'a dyn Audit,
    pub(crate) svc: &'a dyn ServiceManager,
    pub(crate) fc: &'a dyn Freshclam,
    /// freshclam.conf (already re-rooted in test mode).
    pub(crate) freshclam_conf: PathBuf,
    /// Where root acts, from root's configuration.
    pub(crate) scope: Scope,
    pub(crate) marker: PathBuf,
    pub(crate) stop_timeout: Duration,
    /// Bound on the whole repair (the daemon start after it excepted).
    pub(crate) repair_timeout: Duration,
    /// How long a started daemon must stay up to count as started.
    pub(crate) start_verify: Duration,
    pub(crate) now: &'a dyn Fn() -> i64,
    /// A stop signal received by the worker, if any.
    pub(crate) stop: &'a dyn Fn() -> Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Updated,
    Current,
    Cooldown,
    Forbidden,
    Failed(String),
    /// Only clamd lagged behind current files: it was made to reload, freshclam untouched.
    Reloaded,
    /// The files are current but clamd did not load them: the cause.
    ClamdStale(String),
    /// Root would not act: freshclam.conf disagrees with root's configuration, or the
    /// database directory or its owner is not one root acts on. Nothing was changed.
    Refused(String),
}

impl Outcome {
    pub(crate) fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Updated | Outcome::Current | Outcome::Reloaded
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Updated => f.write_str("updated"),
            Outcome::Current => f.write_str("current"),
            Outcome::Cooldown => f.write_str("cool-down"),
            Outcome::Forbidden => f.write_str("forbidden"),
            Outcome::Failed(r) => write!(f, "failed: {r}"),
            Outcome::Reloaded => f.write_str("reloaded"),
            Outcome::ClamdStale(r) => write!(f, "clamd did not reload: {r}"),
            Outcome::Refused(r) => write!(f, "refused: {r}"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) outcome: Outcome,
    pub(crate) before: Option<u32>,
    pub(crate) after: Option<u32>,
    pub(crate) started: i64,
    pub(crate) finished: i64,
    /// `None` when there is no daemon to start, or the repair was refused.
    pub(crate) daemon_started: Option<Result<(), StartError>>,
}

/// Why the daemon was not started, or not seen running after its start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// freshclam.conf, read again right before a start that lets it choose the user.
    #[error("refused: {0}")]
    Refused(ConfRefusal),
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Its last words (a log line), or `no log line`.
    #[error("died after start: {0}")]
    Died(String),
}

/// freshclam.conf, checked again before a start: not what root's configuration says, or
/// not readable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfRefusal {
    #[error(transparent)]
    Mismatch(Mismatch),
    #[error("freshclam.conf: {0}")]
    Unreadable(ConfError),
}

/// Why the ladder stopped before freshclam's run was classified: the repair failed, with
/// this as its reason.
#[derive(Debug, thiserror::Error)]
enum Abort {
    #[error("freshclam.conf: {0}")]
    Conf(ConfError),
    #[error("interrupted by signal {0}")]
    Interrupted(i32),
    #[error("repair time limit {limit}s reached before {step}")]
    TimeLimit { limit: u64, step: &'static str },
    #[error("cannot write marker: {0}")]
    Marker(std::io::Error),
    #[error(transparent)]
    Freshclam(#[from] RunError),
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "none".into(), |v| v.to_string())
}

/// What the ladder learned before a failure, for the report.
#[derive(Default)]
struct Progress {
    db_dir: Option<PathBuf>,
    before: Option<u32>,
}

/// freshclam output lines audited per run; a normal run prints a dozen.
pub(crate) const MAX_AUDITED_OUTPUT_LINES: usize = 500;
/// Database-directory actions (chown, skip, remove) audited per run; then one
/// `dbfix-suppressed` line. A real directory needs a handful.
pub(crate) const MAX_AUDITED_ACTIONS: usize = 64;
/// Lock holders killed with an audit line each per run; then one summary line.
pub(crate) const MAX_AUDITED_LOCK_HOLDERS: usize = 16;

pub(crate) fn repair(ctx: &Ctx) -> Report {
    let started = (ctx.now)();
    let deadline = started.saturating_add(ctx.repair_timeout.as_secs().min(i64::MAX as u64) as i64);
    let mode = ctx.svc.mode();
    ctx.audit.event("repair-start", &[("mode", &mode.as_str())]);
    let mut progress = Progress::default();
    let result = catch_unwind(AssertUnwindSafe(|| {
        ladder(ctx, mode, deadline, &mut progress)
    }));
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(reason)) => Outcome::Failed(reason.to_string()),
        Err(_) => Outcome::Failed("internal error (panic)".into()),
    };
    // Step 6: always, whatever happened above; but a refused repair never touched the
    // daemon and leaves it as it was (started by root, it would run on clamav's terms).
    let daemon_started = match (&outcome, mode.has_daemon()) {
        (_, false) => None,
        (Outcome::Refused(_), true) => {
            ctx.audit.event(
                "daemon-start",
                &[(
                    "result",
                    &"skipped: repair refused before the daemon was touched",
                )],
            );
            None
        }
        (_, true) => Some(start_daemon(ctx)),
    };
    let after = progress
        .db_dir
        .as_deref()
        .and_then(|d| crate::clamav::cvd::local_daily(d).ok())
        .map(|l| l.header.version);
    let finished = (ctx.now)();
    ctx.audit.event(
        "repair-end",
        &[
            ("outcome", &outcome),
            ("before", &opt(progress.before)),
            ("after", &opt(after)),
            ("duration", &format!("{}s", finished - started)),
        ],
    );
    Report {
        outcome,
        before: progress.before,
        after,
        started,
        finished,
        daemon_started,
    }
}

/// After a worker died between stopping and starting the daemon (SIGKILL, power cut of the
/// scope): kill any freshclam still holding the log lock (an orphan of that worker would
/// make the daemon fail to start), then start the daemon. Without a daemon, just forget
/// the marker.
pub(crate) fn recover(ctx: &Ctx) {
    if !ctx.svc.mode().has_daemon() {
        let r = flight::clear_marker(&ctx.marker);
        ctx.audit.event("marker-cleared", &[("result", &res(&r))]);
        return;
    }
    if let Some(log) = &ctx.scope.update_log_file {
        kill_lock_holders(ctx, log);
    }
    let _ = start_daemon(ctx);
}

/// Starts the daemon, clears the marker once the start command succeeded, and reports an
/// error unless the daemon is still running `start_verify` later.
pub(crate) fn start_daemon(ctx: &Ctx) -> Result<(), StartError> {
    if !ctx.svc.starts_unprivileged()
        && let Err(reason) = recheck_conf(ctx)
    {
        let r = Err(StartError::Refused(reason));
        ctx.audit.event("daemon-start", &[("result", &res(&r))]);
        return r;
    }
    audit_preps(ctx.audit, ctx.svc.prepare());
    let r = ctx.svc.start();
    let clear = if r.is_ok() {
        flight::clear_marker(&ctx.marker)
    } else {
        Ok(())
    };
    let r = r
        .map_err(StartError::from)
        .and_then(|()| verify_running(ctx));
    ctx.audit.event(
        "daemon-start",
        &[("result", &res(&r)), ("marker-cleared", &res(&clear))],
    );
    r
}

/// A daemon that dies at once (log lock, config error, missing directory) must not be
/// reported started.
fn verify_running(ctx: &Ctx) -> Result<(), StartError> {
    if !ctx.start_verify.is_zero() {
        std::thread::sleep(ctx.start_verify);
    }
    if ctx.svc.is_active() {
        return Ok(());
    }
    let words = ctx.svc.last_words().unwrap_or_else(|| "no log line".into());
    Err(StartError::Died(words))
}

/// freshclam.conf once more, right before a start that lets it choose the user (it may
/// have changed since the repair began). A missing file starts nothing either way.
fn recheck_conf(ctx: &Ctx) -> Result<(), ConfRefusal> {
    match FreshclamConf::load(&ctx.freshclam_conf) {
        Ok(conf) => ctx.scope.check(&conf).map_err(|m| {
            audit_mismatch(ctx.audit, &m, Some("before-start"));
            ConfRefusal::Mismatch(m)
        }),
        Err(ConfError::Open(e)) if e.is_not_found() => Ok(()),
        Err(e) => Err(ConfRefusal::Unreadable(e)),
    }
}

fn audit_mismatch(a: &dyn Audit, m: &Mismatch, when: Option<&str>) {
    let mut fields: Vec<(&str, &dyn fmt::Display)> = vec![
        ("result", &"refused"),
        ("field", &m.field),
        ("value", &m.value),
        ("expected", &m.expected),
    ];
    if let Some(w) = &when {
        fields.push(("when", w));
    }
    a.event("freshclam-conf", &fields);
}

fn audit_preps(a: &dyn Audit, preps: Vec<Prep>) {
    for p in preps {
        a.event(
            p.what,
            &[
                ("result", &res(&p.result)),
                ("path", &p.path.display()),
                ("detail", &p.detail),
            ],
        );
    }
}

fn res<E: fmt::Display>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn check_stop(ctx: &Ctx) -> Result<(), Abort> {
    match (ctx.stop)() {
        Some(sig) => {
            ctx.audit.event(
                "interrupted",
                &[("signal", &sig), ("step", &"between steps")],
            );
            Err(Abort::Interrupted(sig))
        }
        None => Ok(()),
    }
}

/// Stops the ladder once the repair's time is up; the daemon is started all the same.
fn check_deadline(ctx: &Ctx, deadline: i64, step: &'static str) -> Result<(), Abort> {
    if (ctx.now)() < deadline {
        return Ok(());
    }
    let limit = ctx.repair_timeout.as_secs();
    ctx.audit.event(
        "repair-timeout",
        &[("step", &step), ("limit", &format!("{limit}s"))],
    );
    Err(Abort::TimeLimit { limit, step })
}

fn remaining(ctx: &Ctx, deadline: i64) -> Duration {
    Duration::from_secs(deadline.saturating_sub((ctx.now)()).max(0) as u64)
}

/// Kills the freshclam processes holding the log's lock; audited up to a cap (clamav can
/// start as many freshclam processes as it likes).
fn kill_lock_holders(ctx: &Ctx, log: &Path) {
    let killed = ctx.fc.kill_lock_holders(log);
    for (pid, r) in killed.iter().take(MAX_AUDITED_LOCK_HOLDERS) {
        ctx.audit.event(
            "kill-lock-holder",
            &[("pid", pid), ("log", &log.display()), ("result", &res(r))],
        );
    }
    if killed.len() > MAX_AUDITED_LOCK_HOLDERS {
        ctx.audit.event(
            "kill-lock-holder-suppressed",
            &[("count", &(killed.len() - MAX_AUDITED_LOCK_HOLDERS))],
        );
    }
}

/// The database-directory actions of one run, audited up to [`MAX_AUDITED_ACTIONS`].
struct CappedActions<'a> {
    audit: &'a dyn Audit,
    left: usize,
    suppressed: usize,
}

impl CappedActions<'_> {
    fn add(&mut self, acts: &[dbfix::Action]) {
        for act in acts {
            if self.left == 0 {
                self.suppressed += 1;
                continue;
            }
            self.left -= 1;
            self.audit.event(
                act.what,
                &[("name", &act.name), ("result", &res(&act.result))],
            );
        }
    }

    fn finish(self) {
        if self.suppressed > 0 {
            self.audit
                .event("dbfix-suppressed", &[("count", &self.suppressed)]);
        }
    }
}

/// freshclam runs as the owner; `None` when we are that user already (test mode, or an
/// owner configured as root).
fn credentials(owner: Owner) -> Option<Credentials> {
    (nix::unistd::geteuid().as_raw() != owner.uid).then_some(Credentials {
        uid: owner.uid,
        gid: owner.gid,
    })
}

fn ladder(ctx: &Ctx, mode: Mode, deadline: i64, progress: &mut Progress) -> Result<Outcome, Abort> {
    let a = ctx.audit;
    let scope = &ctx.scope;
    // (1) freshclam.conf, compared with root's configuration; the owner; the directory.
    let conf = FreshclamConf::load(&ctx.freshclam_conf).map_err(|e| {
        a.event("freshclam-conf", &[("result", &format!("error: {e}"))]);
        Abort::Conf(e)
    })?;
    if let Err(m) = scope.check(&conf) {
        audit_mismatch(a, &m, None);
        return Ok(Outcome::Refused(m.to_string()));
    }
    let Some(owner) = resolve_owner(&scope.database_owner) else {
        a.event(
            "database-owner",
            &[
                ("result", &"refused"),
                ("owner", &scope.database_owner),
                ("reason", &"no such user"),
            ],
        );
        return Ok(Outcome::Refused(format!(
            "database owner {} is no user on this system",
            scope.database_owner
        )));
    };
    if owner.uid == 0 && !scope.root_owner_allowed {
        a.event(
            "database-owner",
            &[
                ("result", &"refused"),
                ("owner", &scope.database_owner),
                ("reason", &"uid 0: freshclam must not run as root"),
            ],
        );
        return Ok(Outcome::Refused(format!(
            "database owner {} has uid 0: freshclam must not run as root",
            scope.database_owner
        )));
    }
    let db = match DatabaseDir::open(
        &scope.database_directory,
        owner,
        &scope.database_owner,
        &scope.shared_dirs,
    ) {
        Ok(db) => db,
        Err(r) => {
            let path = scope.database_directory.display();
            let count = r.count();
            let mut fields: Vec<(&str, &dyn fmt::Display)> =
                vec![("result", &"refused"), ("path", &path), ("reason", &r)];
            if let Some(c) = &count {
                fields.push(("count", c));
            }
            a.event("database-directory", &fields);
            return Ok(Outcome::Refused(format!("database directory: {r}")));
        }
    };
    progress.db_dir = Some(db.path().to_path_buf());
    progress.before = crate::clamav::cvd::local_daily(db.path())
        .ok()
        .map(|l| l.header.version);
    a.event(
        "freshclam-conf",
        &[
            ("result", &"ok"),
            ("dbdir", &db.path().display()),
            ("owner", &scope.database_owner),
            (
                "log",
                &scope
                    .update_log_file
                    .as_deref()
                    .map_or("none".into(), |p| p.display().to_string()),
            ),
            ("before", &opt(progress.before)),
        ],
    );
    check_stop(ctx)?;

    // (2) pre-flight: a repair that cannot work must not stop a running daemon.
    let user = credentials(owner);
    let config_check = ctx.fc.config_check(user);
    // The same run names freshclam's version (`ClamAV 1.4.6`), for the mirrors.dat rule.
    let version = (config_check.0 == End::Exited(0))
        .then(|| config_check.1.first().and_then(|l| parse_version(l)))
        .flatten();
    let pre = preflight::check(&preflight::Inputs {
        config_check,
        db_dir: db.path(),
        owner_uid: owner.uid,
        log_file: scope.update_log_file.as_deref(),
    });
    if let Err(cause) = pre {
        a.event(
            "preflight",
            &[
                ("result", &"refused"),
                ("cause", &cause.key()),
                ("reason", &cause),
                ("advice", &cause.advice()),
            ],
        );
        return Ok(Outcome::Refused(cause.to_string()));
    }
    a.event("preflight", &[("result", &"ok")]);
    check_deadline(ctx, deadline, "stopping the daemon")?;

    // (3) stop the daemon; it holds the log lock a foreground freshclam needs.
    if mode.has_daemon() {
        flight::write_marker(&ctx.marker, mode.as_str()).map_err(|e| {
            a.event("marker", &[("result", &format!("error: {e}"))]);
            Abort::Marker(e)
        })?;
        audit_preps(a, ctx.svc.prepare());
        let stop = ctx.svc.stop(ctx.stop_timeout.min(remaining(ctx, deadline)));
        a.event("daemon-stop", &[("result", &res(&stop))]);
        if stop.is_err() || ctx.svc.is_active() {
            let k = ctx.svc.kill();
            a.event("daemon-kill", &[("result", &res(&k))]);
        }
    }
    if let Some(log) = &scope.update_log_file {
        kill_lock_holders(ctx, log);
    }
    check_stop(ctx)?;
    check_deadline(ctx, deadline, "fixing the database directory")?;

    // (4) fix the database directory, through the fd checked above.
    let mut acts = CappedActions {
        audit: a,
        left: MAX_AUDITED_ACTIONS,
        suppressed: 0,
    };
    match db.fix_ownership() {
        Ok(list) => acts.add(&list),
        Err(e) => a.event("chown", &[("result", &format!("refused: {e}"))]),
    }
    match db.remove_tmp_dirs() {
        Ok(list) => acts.add(&list),
        Err(e) => a.event("remove-tmp", &[("result", &format!("refused: {e}"))]),
    }
    a.event(
        "freshclam-version",
        &[(
            "version",
            &version.map_or("unknown".into(), |(x, y, z)| format!("{x}.{y}.{z}")),
        )],
    );
    if let Some(act) = db.remove_mirrors_dat(version) {
        acts.add(std::slice::from_ref(&act));
    }
    acts.finish();
    check_stop(ctx)?;
    check_deadline(ctx, deadline, "running freshclam")?;

    // (5) run freshclam once, as the database owner.
    let mut evidence = cause::Evidence::default();
    let mut seen = 0usize;
    let end = ctx
        .fc
        .run(remaining(ctx, deadline), user, ctx.stop, &mut |line| {
            evidence.see(line);
            seen += 1;
            // A freshclam gone chatty (or a hostile one) must not flood syslog.
            if seen <= MAX_AUDITED_OUTPUT_LINES {
                a.event("freshclam-output", &[("line", &line)]);
            }
        });
    if seen > MAX_AUDITED_OUTPUT_LINES {
        a.event(
            "freshclam-output-suppressed",
            &[("lines", &(seen - MAX_AUDITED_OUTPUT_LINES))],
        );
    }
    let end = end.inspect_err(|e| a.event("freshclam", &[("result", &format!("error: {e}"))]))?;
    // `code` is freshclam's exit code, or 128+signal when it did not exit by itself.
    let (code, name) = match end {
        End::Exited(c) => (c, exit_name(c)),
        End::Signaled(s) => (128 + s, "killed"),
        End::TimedOut => (128 + 9, "timed out"),
        End::Interrupted(s) => (128 + s, "interrupted"),
    };
    a.event(
        "freshclam",
        &[("result", &end), ("code", &code), ("name", &name)],
    );
    if let End::Interrupted(sig) = end {
        a.event("interrupted", &[("signal", &sig), ("step", &"freshclam")]);
    }
    let after = crate::clamav::cvd::local_daily(db.path())
        .ok()
        .map(|l| l.header.version);
    let updated = matches!(end, End::Exited(0)) && after.is_some() && after > progress.before;
    // An update to an older daily than DNS advertised (freshclam installs it, says it will
    // retry, and exits 0) leaves the filter behind: the mirror is the cause.
    let cause = match cause::classify(&end, &evidence) {
        Some(Cause::MirrorOutOfSync) => Some(Cause::MirrorOutOfSync),
        c if !updated => c,
        _ => None,
    };
    if let Some(c) = &cause {
        a.event(
            "diagnosis",
            &[("cause", &c.key()), ("reason", c), ("advice", &c.advice())],
        );
    }
    Ok(classify(end, progress.before, after, cause.as_ref()))
}

/// Names the result of the freshclam run; `cause` from its output and exit code together
/// ([`cause::classify`]).
pub(crate) fn classify(
    end: End,
    before: Option<u32>,
    after: Option<u32>,
    cause: Option<&Cause>,
) -> Outcome {
    match (end, cause) {
        (End::Exited(0), Some(c @ Cause::MirrorOutOfSync)) => Outcome::Failed(c.to_string()),
        (End::Exited(0), _) if after.is_some() && after > before => Outcome::Updated,
        (End::Interrupted(s), _) => Outcome::Failed(format!("interrupted by signal {s}")),
        (_, Some(Cause::Cooldown { .. })) => Outcome::Cooldown,
        (_, Some(Cause::Forbidden)) => Outcome::Forbidden,
        (End::Exited(0), _) => Outcome::Current,
        (End::Exited(17), None) => Outcome::Forbidden,
        (End::Exited(18), None) => Outcome::Cooldown,
        (_, Some(c)) => Outcome::Failed(c.to_string()),
        (End::Exited(c), None) => Outcome::Failed(format!("freshclam exit {c} ({})", exit_name(c))),
        (End::Signaled(s), None) => Outcome::Failed(format!("freshclam killed by signal {s}")),
        (End::TimedOut, None) => Outcome::Failed("freshclam timed out".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::audit::Capture;
    use std::cell::{Cell, RefCell};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    struct FakeSvc {
        mode: Mode,
        calls: RefCell<Vec<&'static str>>,
        active: Cell<bool>,
        stop_ok: bool,
        active_after_stop: bool,
        dies_after_start: bool,
        unprivileged: bool,
        preps: Vec<Prep>,
        on_stop: Box<dyn Fn()>,
    }

    impl FakeSvc {
        fn new(mode: Mode) -> Self {
            FakeSvc {
                mode,
                calls: RefCell::default(),
                active: Cell::new(true),
                stop_ok: true,
                active_after_stop: false,
                dies_after_start: false,
                unprivileged: mode == Mode::SysV,
                preps: Vec::new(),
                on_stop: Box::new(|| {}),
            }
        }
        fn calls(&self) -> Vec<&'static str> {
            self.calls.borrow().clone()
        }
    }

    impl ServiceManager for FakeSvc {
        fn mode(&self) -> Mode {
            self.mode
        }
        fn is_active(&self) -> bool {
            self.calls.borrow_mut().push("is-active");
            self.active.get()
        }
        fn stop(&self, _: Duration) -> Result<(), ServiceError> {
            self.calls.borrow_mut().push("stop");
            (self.on_stop)();
            if !self.stop_ok {
                return Err(ServiceError::Failed {
                    end: End::TimedOut,
                    first: String::new(),
                });
            }
            self.active.set(self.active_after_stop);
            Ok(())
        }
        fn kill(&self) -> Result<(), ServiceError> {
            self.calls.borrow_mut().push("kill");
            self.active.set(false);
            Ok(())
        }
        fn start(&self) -> Result<(), ServiceError> {
            self.calls.borrow_mut().push("start");
            self.active.set(!self.dies_after_start);
            Ok(())
        }
        fn starts_unprivileged(&self) -> bool {
            self.unprivileged
        }
        fn prepare(&self) -> Vec<Prep> {
            self.preps.clone()
        }
        fn last_words(&self) -> Option<String> {
            self.dies_after_start
                .then(|| "ERROR: /var/log/clamav/freshclam.log is locked".into())
        }
    }

    enum Run {
        End(End, &'static [&'static str], Option<u32>),
        Panic,
        SpawnError,
    }

    struct FakeFc {
        db: PathBuf,
        run: Run,
        runs: Cell<u32>,
        holders: usize,
        limits: RefCell<Vec<Duration>>,
        users: RefCell<Vec<Option<Credentials>>>,
        /// What `freshclam --config-file=F --version` says.
        config: (End, Vec<String>),
    }

    impl Freshclam for FakeFc {
        fn config_check(&self, user: Option<Credentials>) -> (End, Vec<String>) {
            self.users.borrow_mut().push(user);
            self.config.clone()
        }
        fn run(
            &self,
            limit: Duration,
            user: Option<Credentials>,
            stop: &dyn Fn() -> Option<i32>,
            on_line: &mut dyn FnMut(&str),
        ) -> Result<End, RunError> {
            self.runs.set(self.runs.get() + 1);
            self.limits.borrow_mut().push(limit);
            self.users.borrow_mut().push(user);
            if let Some(sig) = stop() {
                return Ok(End::Interrupted(sig));
            }
            match &self.run {
                Run::End(end, lines, new) => {
                    for l in *lines {
                        on_line(l);
                    }
                    if let Some(v) = new {
                        write_daily(&self.db, *v);
                    }
                    Ok(*end)
                }
                Run::Panic => panic!("boom"),
                Run::SpawnError => Err(RunError {
                    program: "/usr/bin/freshclam".into(),
                    source: std::io::Error::other("no such file"),
                }),
            }
        }
        fn kill_lock_holders(&self, _: &Path) -> Vec<(i32, Result<(), nix::errno::Errno>)> {
            (0..self.holders)
                .map(|i| (4242 + i as i32, Ok(())))
                .collect()
        }
    }

    /// Whether the daemon was started, the error as its audit text.
    fn started(r: &Report) -> Option<Result<(), String>> {
        let s = r.daemon_started.as_ref()?;
        Some(s.as_ref().map(|_| ()).map_err(|e| e.to_string()))
    }

    fn write_daily(db: &Path, v: u32) {
        let mut h =
            format!("ClamAV-VDB:25 Nov 2026 10-00 +0000:{v}:100:90:x:y:z:1795600000").into_bytes();
        h.resize(512, b' ');
        fs::write(db.join("daily.cvd"), h).unwrap();
    }

    fn me() -> String {
        uzers::get_effective_username()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    struct Env {
        d: tempfile::TempDir,
        conf: PathBuf,
        db: PathBuf,
        marker: PathBuf,
        scope: Scope,
        repair_timeout: Duration,
    }

    impl Env {
        /// Replaces one line of freshclam.conf.
        fn conf_line(&self, key: &str, line: &str) {
            let text: String = fs::read_to_string(&self.conf)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with(key))
                .map(|l| format!("{l}\n"))
                .collect();
            fs::write(&self.conf, format!("{text}{line}\n")).unwrap();
        }
    }

    fn env() -> Env {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir(&db).unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o755)).unwrap();
        write_daily(&db, 100);
        fs::write(db.join("freshclam.dat"), "keep").unwrap();
        fs::create_dir(db.join("tmp.0123456789")).unwrap();
        fs::write(db.join("tmp.0123456789/clamav-0a.tmp"), "").unwrap();
        let log = d.path().join("fc.log");
        let conf = d.path().join("freshclam.conf");
        fs::write(
            &conf,
            format!(
                "DatabaseDirectory {}\nDatabaseOwner {}\nUpdateLogFile {}\n",
                db.display(),
                me(),
                log.display()
            ),
        )
        .unwrap();
        let marker = d.path().join("marker");
        let scope = Scope {
            database_directory: db.clone(),
            database_owner: me(),
            update_log_file: Some(log),
            pid_file: d.path().join("run/freshclam.pid"),
            shared_dirs: vec![d.path().to_path_buf()],
            root_owner_allowed: true,
        };
        Env {
            conf,
            db,
            marker,
            scope,
            repair_timeout: Duration::from_secs(1800),
            d,
        }
    }

    fn ctx<'a>(
        e: &Env,
        audit: &'a Capture,
        svc: &'a dyn ServiceManager,
        fc: &'a dyn Freshclam,
        now: &'a dyn Fn() -> i64,
        stop: &'a dyn Fn() -> Option<i32>,
    ) -> Ctx<'a> {
        Ctx {
            audit,
            svc,
            fc,
            freshclam_conf: e.conf.clone(),
            scope: e.scope.clone(),
            marker: e.marker.clone(),
            stop_timeout: Duration::from_secs(1),
            repair_timeout: e.repair_timeout,
            start_verify: Duration::ZERO,
            now,
            stop,
        }
    }

    fn go(
        e: &Env,
        svc: &FakeSvc,
        fc: &FakeFc,
        stop: &dyn Fn() -> Option<i32>,
    ) -> (Report, Capture) {
        let audit = Capture::default();
        let clock = Cell::new(1000);
        let now = || {
            clock.set(clock.get() + 5);
            clock.get()
        };
        let r = repair(&ctx(e, &audit, svc, fc, &now, stop));
        (r, audit)
    }

    fn fc(e: &Env, run: Run) -> FakeFc {
        FakeFc {
            db: e.db.clone(),
            run,
            runs: Cell::new(0),
            holders: 1,
            limits: RefCell::default(),
            users: RefCell::default(),
            config: (End::Exited(0), vec!["ClamAV 1.4.6".into()]),
        }
    }

    fn ok_run(e: &Env) -> FakeFc {
        fc(e, Run::End(End::Exited(0), &[], Some(101)))
    }

    #[test]
    fn success_updates_and_restarts() {
        let e = env();
        let svc = FakeSvc::new(Mode::Systemd);
        let f = fc(
            &e,
            Run::End(
                End::Exited(0),
                &["Downloading daily", "daily.cvd updated"],
                Some(101),
            ),
        );
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(r.outcome, Outcome::Updated);
        assert_eq!((r.before, r.after), (Some(100), Some(101)));
        assert_eq!(svc.calls(), ["stop", "is-active", "start", "is-active"]);
        assert_eq!(started(&r), Some(Ok(())));
        assert!(!e.marker.exists(), "marker cleared after restart");
        assert!(!e.db.join("tmp.0123456789").exists());
        assert!(e.db.join("freshclam.dat").exists());
        assert!(audit.contains("event=freshclam-output line=\"daily.cvd updated\""));
        assert!(audit.contains("event=kill-lock-holder pid=4242"));
        assert!(audit.contains("event=remove-tmp name=tmp.0123456789 result=ok"));
        assert!(audit.contains("event=repair-end outcome=updated before=100 after=101"));
        assert!(audit.contains("event=freshclam result=\"exit 0\" code=0 name=ok"));
        assert!(audit.contains("event=daemon-start result=ok marker-cleared=ok"));
        assert_eq!(
            *f.users.borrow(),
            [None, None],
            "already the owner: no switch"
        );
    }

    #[test]
    fn freshclam_output_audited_up_to_a_cap() {
        let e = env();
        let svc = FakeSvc::new(Mode::Systemd);
        let lines: &'static [&'static str] =
            Box::leak(vec!["chatty"; MAX_AUDITED_OUTPUT_LINES + 7].into_boxed_slice());
        let f = fc(&e, Run::End(End::Exited(0), lines, Some(101)));
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(r.outcome, Outcome::Updated);
        assert_eq!(
            audit
                .lines()
                .iter()
                .filter(|l| l.starts_with("event=freshclam-output line="))
                .count(),
            MAX_AUDITED_OUTPUT_LINES
        );
        assert!(audit.contains("event=freshclam-output-suppressed lines=7"));
        assert_eq!(svc.calls(), ["stop", "is-active", "start", "is-active"]);
    }

    #[test]
    fn every_failure_restarts_daemon() {
        let runs: Vec<(Run, &str)> = vec![
            (Run::End(End::Exited(0), &[], None), "current"),
            (
                Run::End(
                    End::Exited(0),
                    &["You are still on cool-down until after: x"],
                    None,
                ),
                "cool-down",
            ),
            (Run::End(End::Exited(17), &[], None), "forbidden"),
            (Run::End(End::Exited(18), &[], None), "cool-down"),
            (
                Run::End(End::Exited(5), &[], None),
                "failed: cannot connect to the mirror",
            ),
            (
                Run::End(End::Exited(2), &[], None),
                "failed: freshclam exit 2 (init (log file locked?))",
            ),
            (
                Run::End(End::TimedOut, &[], None),
                "failed: freshclam timed out (killed at the time limit)",
            ),
            (
                Run::End(End::Signaled(9), &[], None),
                "failed: freshclam killed by signal 9",
            ),
            (Run::Panic, "failed: internal error (panic)"),
            (
                Run::SpawnError,
                "failed: cannot run /usr/bin/freshclam: no such file",
            ),
        ];
        for mode in [Mode::Systemd, Mode::SysV] {
            for (run, want) in &runs {
                let e = env();
                let svc = FakeSvc::new(mode);
                let run = match run {
                    Run::End(a, b, c) => Run::End(*a, b, *c),
                    Run::Panic => Run::Panic,
                    Run::SpawnError => Run::SpawnError,
                };
                let f = fc(&e, run);
                let (r, _) = go(&e, &svc, &f, &|| None);
                assert_eq!(r.outcome.to_string(), *want);
                assert_eq!(svc.calls()[2..], ["start", "is-active"], "{want}");
                assert!(!e.marker.exists());
            }
        }
    }

    #[test]
    fn stuck_daemon_is_killed() {
        let e = env();
        let mut svc = FakeSvc::new(Mode::Systemd);
        svc.stop_ok = false;
        let f = fc(&e, Run::End(End::Exited(0), &[], None));
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(svc.calls(), ["stop", "kill", "start", "is-active"]);
        assert_eq!(r.outcome, Outcome::Current);
        assert!(audit.contains("event=daemon-kill result=ok"));
    }

    #[test]
    fn cron_and_none_never_start_a_daemon() {
        for mode in [Mode::Cron, Mode::None] {
            let e = env();
            let svc = FakeSvc::new(mode);
            let f = fc(&e, Run::End(End::Exited(0), &[], Some(102)));
            let (r, _) = go(&e, &svc, &f, &|| None);
            assert_eq!(r.outcome, Outcome::Updated);
            assert!(svc.calls().is_empty());
            assert_eq!(started(&r), None);
        }
    }

    #[test]
    fn marker_present_while_stopped() {
        let e = env();
        let marker = e.marker.clone();
        let mut svc = FakeSvc::new(Mode::Systemd);
        let seen = std::rc::Rc::new(Cell::new(false));
        let s2 = seen.clone();
        svc.on_stop = Box::new(move || s2.set(marker.exists()));
        let f = fc(&e, Run::End(End::Exited(0), &[], None));
        go(&e, &svc, &f, &|| None);
        assert!(seen.get(), "marker written before the stop");
        assert!(!e.marker.exists());
    }

    #[test]
    fn stop_signal_interrupts_and_restarts() {
        // Signal arriving at each checkpoint: before stopping, after stopping, during run.
        for after_polls in 0..4 {
            let e = env();
            let svc = FakeSvc::new(Mode::Systemd);
            let f = fc(&e, Run::End(End::Exited(0), &[], Some(105)));
            let polls = Cell::new(0);
            let stop = || {
                polls.set(polls.get() + 1);
                (polls.get() > after_polls).then_some(15)
            };
            let (r, audit) = go(&e, &svc, &f, &stop);
            assert_eq!(
                r.outcome,
                Outcome::Failed("interrupted by signal 15".into()),
                "{after_polls}"
            );
            assert_eq!(svc.calls()[svc.calls().len() - 2..], ["start", "is-active"]);
            assert!(
                audit.contains("event=interrupted signal=15"),
                "{:?}",
                audit.lines()
            );
            assert_eq!(r.after, Some(100), "freshclam never completed");
        }
    }

    #[test]
    fn bad_freshclam_conf_touches_nothing_but_restarts() {
        let e = env();
        fs::remove_file(&e.conf).unwrap();
        let svc = FakeSvc::new(Mode::Systemd);
        let f = fc(&e, Run::End(End::Exited(0), &[], None));
        let (r, _) = go(&e, &svc, &f, &|| None);
        assert!(r.outcome.to_string().starts_with("failed: freshclam.conf"));
        assert_eq!(f.runs.get(), 0);
        assert_eq!(
            svc.calls(),
            ["start", "is-active"],
            "a dead daemon is started anyway"
        );
    }

    #[test]
    fn recovery_kills_orphans_then_starts() {
        let e = env();
        flight::write_marker(&e.marker, "systemd").unwrap();
        let svc = FakeSvc::new(Mode::Systemd);
        let f = fc(&e, Run::Panic);
        let audit = Capture::default();
        let ctx = ctx(&e, &audit, &svc, &f, &|| 0, &|| None);
        recover(&ctx);
        assert_eq!(svc.calls(), ["start", "is-active"]);
        assert!(audit.contains("event=kill-lock-holder pid=4242"));
        assert!(!e.marker.exists());
        assert_eq!(f.runs.get(), 0);

        flight::write_marker(&e.marker, "cron").unwrap();
        let cron = FakeSvc::new(Mode::Cron);
        let ctx = Ctx { svc: &cron, ..ctx };
        recover(&ctx);
        assert!(cron.calls().is_empty());
        assert!(!e.marker.exists());
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify(End::Exited(0), None, Some(3), None),
            Outcome::Updated
        );
        assert_eq!(
            classify(End::Exited(0), Some(3), Some(3), None),
            Outcome::Current
        );
        assert_eq!(
            classify(End::Exited(0), Some(3), None, None),
            Outcome::Current
        );
        assert_eq!(
            classify(
                End::Exited(0),
                Some(3),
                Some(3),
                Some(&Cause::Cooldown { until: None })
            ),
            Outcome::Cooldown
        );
        // An update to an older daily than DNS advertised does not count as one.
        assert_eq!(
            classify(
                End::Exited(0),
                Some(3),
                Some(4),
                Some(&Cause::MirrorOutOfSync)
            )
            .to_string(),
            "failed: mirror out of sync (older database than DNS advertises)"
        );
        let full = Cause::DiskFull {
            detail: "0 KiB free".into(),
        };
        assert_eq!(
            classify(End::Exited(5), Some(3), Some(3), Some(&full)).to_string(),
            "failed: database filesystem full: 0 KiB free"
        );
        assert_eq!(
            classify(End::Exited(5), Some(3), Some(3), None).to_string(),
            "failed: freshclam exit 5 (connection)"
        );
        assert!(!Outcome::Refused("x".into()).is_success());
        assert_eq!(Outcome::Refused("x".into()).to_string(), "refused: x");
    }

    #[test]
    fn a_config_typo_refuses_before_the_running_daemon_is_touched() {
        let e = env();
        let svc = FakeSvc::new(Mode::Systemd);
        let mut f = ok_run(&e);
        f.config = (
            End::Exited(2),
            vec![
                "ERROR: Parse error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr"
                    .into(),
            ],
        );
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(
            r.outcome,
            Outcome::Refused(
                "freshclam.conf error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr"
                    .into()
            )
        );
        assert!(
            svc.calls().is_empty(),
            "daemon untouched: {:?}",
            svc.calls()
        );
        assert_eq!(f.runs.get(), 0);
        assert!(
            audit.contains("event=preflight result=refused cause=config"),
            "{:#?}",
            audit.lines()
        );
    }

    #[test]
    fn a_failure_is_named_by_its_cause() {
        let e = env();
        let svc = FakeSvc::new(Mode::Systemd);
        let f = fc(
            &e,
            Run::End(
                End::Exited(5),
                &[
                    "ERROR: Download failed (23) ",
                    "ERROR:  Message: Failure writing output to destination",
                ],
                None,
            ),
        );
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert!(
            r.outcome
                .to_string()
                .starts_with("failed: database filesystem full"),
            "{}",
            r.outcome
        );
        assert!(
            audit.contains("event=diagnosis cause=disk-full"),
            "{:#?}",
            audit.lines()
        );
        assert!(svc.calls().contains(&"start"), "daemon started again");
    }

    /// A refused repair: nothing run, the daemon not touched (not even started), the
    /// database directory unchanged, one audit line with the reason.
    fn assert_refused(e: &Env, svc: &FakeSvc, f: &FakeFc, r: &Report, audit: &Capture) {
        assert!(
            matches!(r.outcome, Outcome::Refused(_)),
            "{:?} {:#?}",
            r.outcome,
            audit.lines()
        );
        assert!(!r.outcome.is_success());
        assert!(svc.calls().is_empty(), "daemon touched: {:?}", svc.calls());
        assert_eq!(started(r), None);
        assert_eq!(f.runs.get(), 0);
        assert!(e.db.join("tmp.0123456789").exists(), "nothing removed");
        assert!(!e.marker.exists());
        assert!(audit.contains(
            "event=daemon-start result=\"skipped: repair refused before the daemon was touched\""
        ));
        assert!(audit.contains("repair-end outcome=\"refused: "));
        assert!(!audit.contains("event=daemon-stop"));
    }

    #[test]
    fn freshclam_conf_mismatch_refused_before_the_daemon_is_touched() {
        type Value = fn(&Env) -> String;
        let cases: [(&str, Value, Value); 4] = [
            (
                "DatabaseDirectory",
                |_| "/etc".into(),
                |e| e.db.display().to_string(),
            ),
            ("DatabaseOwner", |_| "root".into(), |_| me()),
            (
                "UpdateLogFile",
                |_| "/etc/shadow".into(),
                |e| {
                    let log = e.scope.update_log_file.as_deref().unwrap();
                    log.display().to_string()
                },
            ),
            (
                "PidFile",
                |_| "/etc/passwd".into(),
                |e| e.scope.pid_file.display().to_string(),
            ),
        ];
        for (field, theirs, ours) in &cases {
            for mode in [Mode::Systemd, Mode::SysV] {
                let e = env();
                if *field == "DatabaseOwner" && me() == "root" {
                    e.conf_line(field, "DatabaseOwner clamav");
                } else {
                    e.conf_line(field, &format!("{field} {}", theirs(&e)));
                }
                let value = if *field == "DatabaseOwner" && me() == "root" {
                    "clamav".to_string()
                } else {
                    theirs(&e)
                };
                let svc = FakeSvc::new(mode);
                let f = ok_run(&e);
                let (r, audit) = go(&e, &svc, &f, &|| None);
                assert_refused(&e, &svc, &f, &r, &audit);
                assert_eq!(
                    r.outcome.to_string(),
                    format!(
                        "refused: freshclam.conf {field} {value} is not the configured {}",
                        ours(&e)
                    )
                );
                assert!(
                    audit.contains(&format!(
                        "event=freshclam-conf result=refused field={field} value={value} expected={}",
                        ours(&e)
                    )),
                    "{:#?}",
                    audit.lines()
                );
                assert_eq!(r.before, None);
            }
        }
    }

    #[test]
    fn unknown_owner_refused() {
        let mut e = env();
        e.scope.database_owner = "no-such-user-clamav-freshen".into();
        e.conf_line("DatabaseOwner", "DatabaseOwner no-such-user-clamav-freshen");
        let svc = FakeSvc::new(Mode::SysV);
        let f = ok_run(&e);
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_refused(&e, &svc, &f, &r, &audit);
        assert!(audit.contains(
            "event=database-owner result=refused owner=no-such-user-clamav-freshen reason=\"no such user\""
        ));
    }

    #[test]
    fn a_root_owner_is_refused_outside_test_mode() {
        let mut e = env();
        e.scope.database_owner = "root".into();
        e.scope.root_owner_allowed = false;
        e.conf_line("DatabaseOwner", "DatabaseOwner root");
        let svc = FakeSvc::new(Mode::Systemd);
        let f = ok_run(&e);
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_refused(&e, &svc, &f, &r, &audit);
        assert!(audit.contains("event=database-owner result=refused owner=root reason=\"uid 0"));
    }

    #[test]
    fn database_directory_root_must_not_act_in_is_refused() {
        type Setup = fn(&Env);
        let cases: [(&str, Setup); 4] = [
            ("writable by group or others", |e| {
                fs::set_permissions(&e.db, fs::Permissions::from_mode(0o777)).unwrap()
            }),
            ("sticky", |e| {
                fs::set_permissions(&e.db, fs::Permissions::from_mode(0o1755)).unwrap()
            }),
            // The scope's "system directory" is the temp dir (see below).
            ("is the system directory", |_| {}),
            ("more than 4096", |e| {
                for i in 0..=dbfix::MAX_ENTRIES {
                    std::os::unix::fs::symlink("x", e.db.join(format!("junk{i}"))).unwrap();
                }
            }),
        ];
        for (want, setup) in cases {
            let mut e = env();
            setup(&e);
            if want == "is the system directory" {
                e.scope.database_directory = e.d.path().to_path_buf();
                e.conf_line(
                    "DatabaseDirectory",
                    &format!("DatabaseDirectory {}", e.d.path().display()),
                );
                fs::set_permissions(e.d.path(), fs::Permissions::from_mode(0o755)).unwrap();
            }
            let svc = FakeSvc::new(Mode::Systemd);
            let f = ok_run(&e);
            let (r, audit) = go(&e, &svc, &f, &|| None);
            assert!(
                r.outcome
                    .to_string()
                    .starts_with("refused: database directory: "),
                "{}",
                r.outcome
            );
            assert!(
                r.outcome.to_string().contains(want),
                "{want}: {}",
                r.outcome
            );
            assert!(svc.calls().is_empty(), "{want}: {:?}", svc.calls());
            assert_eq!(f.runs.get(), 0);
            let lines: Vec<String> = audit
                .lines()
                .into_iter()
                .filter(|l| l.starts_with("event=database-directory result=refused"))
                .collect();
            assert_eq!(lines.len(), 1, "{want}: {lines:?}");
            if want == "more than 4096" {
                // 4097 of junk, daily.cvd, freshclam.dat, a temp dir.
                assert!(lines[0].ends_with("count=4100"), "{}", lines[0]);
                assert!(e.db.join("tmp.0123456789").exists());
            }
        }
    }

    #[test]
    fn symlinked_database_directory_refused() {
        let mut e = env();
        let real = e.d.path().join("real");
        fs::rename(&e.db, &real).unwrap();
        std::os::unix::fs::symlink(&real, &e.db).unwrap();
        e.scope.shared_dirs.clear();
        let svc = FakeSvc::new(Mode::SysV);
        let f = ok_run(&e);
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert!(
            r.outcome.to_string().contains("without following symlinks"),
            "{}",
            r.outcome
        );
        assert!(svc.calls().is_empty());
        assert!(real.join("tmp.0123456789").exists());
        assert!(audit.contains("event=database-directory result=refused"));
    }

    #[test]
    fn database_directory_actions_audited_up_to_a_cap() {
        let e = env();
        for i in 0..MAX_AUDITED_ACTIONS + 9 {
            fs::create_dir(e.db.join(format!("tmp.{i:x}aa"))).unwrap();
        }
        let svc = FakeSvc::new(Mode::Systemd);
        let f = ok_run(&e);
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(r.outcome, Outcome::Updated);
        let removed = audit
            .lines()
            .iter()
            .filter(|l| l.starts_with("event=remove-tmp"))
            .count();
        assert_eq!(removed, MAX_AUDITED_ACTIONS);
        // 73 directories of ours and the fixture's own.
        assert!(
            audit.contains("event=dbfix-suppressed count=10"),
            "{:#?}",
            audit.lines()
        );
        assert_eq!(
            fs::read_dir(&e.db)
                .unwrap()
                .filter(|d| d
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("tmp."))
                .count(),
            0,
            "all removed, whatever was audited"
        );
    }

    #[test]
    fn lock_holders_audited_up_to_a_cap() {
        let e = env();
        let svc = FakeSvc::new(Mode::SysV);
        let mut f = ok_run(&e);
        f.holders = MAX_AUDITED_LOCK_HOLDERS + 3;
        let (_, audit) = go(&e, &svc, &f, &|| None);
        let lines = audit
            .lines()
            .iter()
            .filter(|l| l.starts_with("event=kill-lock-holder pid="))
            .count();
        assert_eq!(lines, MAX_AUDITED_LOCK_HOLDERS);
        assert!(audit.contains("event=kill-lock-holder-suppressed count=3"));
    }

    #[test]
    fn repair_time_limit_stops_early_and_still_starts_the_daemon() {
        // The fake clock advances 5 s per reading: the limit is hit at a later checkpoint.
        for (secs, step) in [
            (5, "stopping the daemon"),
            (11, "fixing the database directory"),
            (18, "running freshclam"),
        ] {
            let mut e = env();
            e.repair_timeout = Duration::from_secs(secs);
            let svc = FakeSvc::new(Mode::Systemd);
            let f = ok_run(&e);
            let (r, audit) = go(&e, &svc, &f, &|| None);
            assert_eq!(
                r.outcome,
                Outcome::Failed(format!("repair time limit {secs}s reached before {step}")),
                "{:#?}",
                audit.lines()
            );
            assert!(audit.contains(&format!("event=repair-timeout step=\"{step}\"")));
            assert_eq!(f.runs.get(), 0);
            assert_eq!(svc.calls()[svc.calls().len() - 2..], ["start", "is-active"]);
            assert_eq!(started(&r), Some(Ok(())));
        }
        // freshclam gets what is left of the repair's time.
        let mut e = env();
        e.repair_timeout = Duration::from_secs(60);
        let svc = FakeSvc::new(Mode::Systemd);
        let f = ok_run(&e);
        let (r, _) = go(&e, &svc, &f, &|| None);
        assert_eq!(r.outcome, Outcome::Updated);
        let limit = f.limits.borrow()[0];
        assert!(
            limit < Duration::from_secs(60) && limit > Duration::ZERO,
            "{limit:?}"
        );
    }

    #[test]
    fn a_daemon_that_dies_after_start_is_not_reported_started() {
        for mode in [Mode::Systemd, Mode::SysV] {
            let e = env();
            let mut svc = FakeSvc::new(mode);
            svc.dies_after_start = true;
            let f = ok_run(&e);
            let (r, audit) = go(&e, &svc, &f, &|| None);
            let want = "died after start: ERROR: /var/log/clamav/freshclam.log is locked";
            assert_eq!(started(&r), Some(Err(want.into())));
            assert!(
                audit.contains(&format!(
                    "event=daemon-start result=\"error: {want}\" marker-cleared=ok"
                )),
                "{:#?}",
                audit.lines()
            );
            assert!(!audit.contains("event=daemon-start result=ok"));
            assert!(
                !e.marker.exists(),
                "it was started: a new run need not start it"
            );
        }
    }

    #[test]
    fn freshclam_conf_checked_again_before_a_privileged_start() {
        for unprivileged in [false, true] {
            let e = env();
            let conf = e.conf.clone();
            let mut svc = FakeSvc::new(Mode::Systemd);
            svc.unprivileged = unprivileged;
            // clamav rewrites freshclam.conf while the repair runs.
            svc.on_stop = Box::new(move || {
                let t = fs::read_to_string(&conf).unwrap();
                fs::write(&conf, format!("{t}DatabaseOwner root-{}\n", "x")).unwrap();
            });
            let f = ok_run(&e);
            let (r, audit) = go(&e, &svc, &f, &|| None);
            assert_eq!(r.outcome, Outcome::Updated);
            if unprivileged {
                assert_eq!(started(&r), Some(Ok(())));
                assert_eq!(svc.calls().last(), Some(&"is-active"));
            } else {
                assert!(!svc.calls().contains(&"start"), "{:?}", svc.calls());
                assert!(audit.contains(
                    "event=freshclam-conf result=refused field=DatabaseOwner value=root-x"
                ));
                assert!(audit.contains("when=before-start"));
                assert!(audit.contains("event=daemon-start result=\"error: refused: freshclam.conf DatabaseOwner root-x"));
                assert!(e.marker.exists(), "still stopped: a later run starts it");
            }
        }
    }

    #[test]
    fn preparations_audited() {
        let e = env();
        let mut svc = FakeSvc::new(Mode::SysV);
        svc.preps = vec![Prep {
            what: "pid-file",
            path: "/run/clamav/freshclam.pid".into(),
            detail: "removed symlink of uid 102".into(),
            result: Ok(()),
        }];
        let f = ok_run(&e);
        let (_, audit) = go(&e, &svc, &f, &|| None);
        let n = audit
            .lines()
            .iter()
            .filter(|l| {
                *l == "event=pid-file result=ok path=/run/clamav/freshclam.pid detail=\"removed symlink of uid 102\""
            })
            .count();
        assert_eq!(n, 2, "before the stop and before the start");
    }

    #[test]
    fn freshclam_runs_as_the_owner() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: freshclam_runs_as_the_owner: needs root");
            return;
        }
        let mut e = env();
        e.scope.database_owner = "nobody".into();
        e.conf_line("DatabaseOwner", "DatabaseOwner nobody");
        nix::unistd::chown(&e.db, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        // The owner must be able to write the log (pre-flight).
        let log = e.db.parent().unwrap().join("fc.log");
        std::fs::write(&log, "").unwrap();
        nix::unistd::chown(&log, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let svc = FakeSvc::new(Mode::SysV);
        let f = ok_run(&e);
        let (r, audit) = go(&e, &svc, &f, &|| None);
        assert_eq!(r.outcome, Outcome::Updated, "{:#?}", audit.lines());
        let nobody = Some(Credentials {
            uid: 65534,
            gid: 65534,
        });
        assert_eq!(*f.users.borrow(), [nobody, nobody]);
    }
}
