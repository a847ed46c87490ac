//! The repair ladder, run by the worker under the repair lock.
//!
//! Generic over its side effects (service manager, freshclam, audit, clock, stop flag) so
//! every path, interruption included, is unit-tested with fakes. Whatever happens between
//! stopping and starting the daemon (failure, timeout, panic, stop signal), the daemon is
//! started again when the system runs one.

use crate::clamav::freshclam_conf::FreshclamConf;
use crate::handler::audit::Audit;
use crate::handler::dbfix;
use crate::handler::flight;
use crate::handler::freshclam::{Freshclam, exit_name};
use crate::handler::service::{Mode, ServiceManager};
use crate::system::process::End;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) struct Ctx<'a> {
    pub(crate) audit: &'a dyn Audit,
    pub(crate) svc: &'a dyn ServiceManager,
    pub(crate) fc: &'a dyn Freshclam,
    /// freshclam.conf (already re-rooted in test mode).
    pub(crate) freshclam_conf: PathBuf,
    pub(crate) marker: PathBuf,
    pub(crate) stop_timeout: Duration,
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
}

impl Outcome {
    pub(crate) fn is_success(&self) -> bool {
        matches!(self, Outcome::Updated | Outcome::Current)
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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) outcome: Outcome,
    pub(crate) before: Option<u32>,
    pub(crate) after: Option<u32>,
    pub(crate) started: i64,
    pub(crate) finished: i64,
    pub(crate) mode: Mode,
    /// `None` when there is no daemon to start.
    pub(crate) daemon_started: Option<Result<(), String>>,
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

pub(crate) fn repair(ctx: &Ctx) -> Report {
    let started = (ctx.now)();
    let mode = ctx.svc.mode();
    ctx.audit.event("repair-start", &[("mode", &mode.as_str())]);
    let mut progress = Progress::default();
    let result = catch_unwind(AssertUnwindSafe(|| ladder(ctx, mode, &mut progress)));
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(reason)) => Outcome::Failed(reason),
        Err(_) => Outcome::Failed("internal error (panic)".into()),
    };
    // Step 6: always, whatever happened above.
    let daemon_started = mode.has_daemon().then(|| start_daemon(ctx));
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
        mode,
        daemon_started,
    }
}

/// After a worker died between stopping and starting the daemon (SIGKILL, power cut of the
/// scope): kill any freshclam still holding the log lock (an orphan of that worker would
/// make the daemon fail to start), then start the daemon. Without a daemon, just forget
/// the marker.
pub(crate) fn recover(ctx: &Ctx) {
    if !ctx.svc.mode().has_daemon() {
        let r = flight::clear_marker(&ctx.marker).map_err(|e| e.to_string());
        ctx.audit.event("marker-cleared", &[("result", &res(&r))]);
        return;
    }
    if let Ok(FreshclamConf {
        update_log_file: Some(log),
        ..
    }) = FreshclamConf::load(&ctx.freshclam_conf)
    {
        for (pid, r) in ctx.fc.kill_lock_holders(&log) {
            ctx.audit.event(
                "kill-lock-holder",
                &[("pid", &pid), ("log", &log.display()), ("result", &res(&r))],
            );
        }
    }
    let _ = start_daemon(ctx);
}

/// Starts the daemon and clears the marker once it is up.
pub(crate) fn start_daemon(ctx: &Ctx) -> Result<(), String> {
    let r = ctx.svc.start();
    let clear = if r.is_ok() {
        flight::clear_marker(&ctx.marker).map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    ctx.audit.event(
        "daemon-start",
        &[("result", &res(&r)), ("marker-cleared", &res(&clear))],
    );
    r
}

fn res(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn check_stop(ctx: &Ctx) -> Result<(), String> {
    match (ctx.stop)() {
        Some(sig) => {
            ctx.audit.event(
                "interrupted",
                &[("signal", &sig), ("step", &"between steps")],
            );
            Err(format!("interrupted by signal {sig}"))
        }
        None => Ok(()),
    }
}

fn ladder(ctx: &Ctx, mode: Mode, progress: &mut Progress) -> Result<Outcome, String> {
    let a = ctx.audit;
    // (1) freshclam.conf and the versions before.
    let conf = FreshclamConf::load(&ctx.freshclam_conf).map_err(|e| {
        a.event("freshclam-conf", &[("result", &format!("error: {e}"))]);
        format!("freshclam.conf: {e}")
    })?;
    let db = conf.database_directory.clone();
    progress.db_dir = Some(db.clone());
    progress.before = crate::clamav::cvd::local_daily(&db)
        .ok()
        .map(|l| l.header.version);
    a.event(
        "freshclam-conf",
        &[
            ("result", &"ok"),
            ("dbdir", &db.display()),
            ("owner", &conf.database_owner),
            (
                "log",
                &conf
                    .update_log_file
                    .as_deref()
                    .map_or("none".into(), |p| p.display().to_string()),
            ),
            ("before", &opt(progress.before)),
        ],
    );
    check_stop(ctx)?;

    // (3) stop the daemon; it holds the log lock a foreground freshclam needs.
    if mode.has_daemon() {
        flight::write_marker(&ctx.marker, mode.as_str()).map_err(|e| {
            a.event("marker", &[("result", &format!("error: {e}"))]);
            format!("cannot write marker: {e}")
        })?;
        let stop = ctx.svc.stop(ctx.stop_timeout);
        a.event("daemon-stop", &[("result", &res(&stop))]);
        if stop.is_err() || ctx.svc.is_active() {
            let k = ctx.svc.kill();
            a.event("daemon-kill", &[("result", &res(&k))]);
        }
    }
    if let Some(log) = &conf.update_log_file {
        for (pid, r) in ctx.fc.kill_lock_holders(log) {
            a.event(
                "kill-lock-holder",
                &[("pid", &pid), ("log", &log.display()), ("result", &res(&r))],
            );
        }
    }
    check_stop(ctx)?;

    // (4) fix the database directory.
    match uzers::get_user_by_name(&conf.database_owner) {
        Some(u) => match dbfix::fix_ownership(&db, u.uid(), u.primary_group_id()) {
            Ok(acts) => audit_actions(a, &acts),
            Err(e) => a.event("chown", &[("result", &format!("error: {e}"))]),
        },
        None => a.event(
            "chown",
            &[
                ("result", &"skipped: DatabaseOwner unknown"),
                ("owner", &conf.database_owner),
            ],
        ),
    }
    match dbfix::remove_tmp_dirs(&db) {
        Ok(acts) => audit_actions(a, &acts),
        Err(e) => a.event("remove-tmp", &[("result", &format!("error: {e}"))]),
    }
    let version = ctx.fc.version();
    a.event(
        "freshclam-version",
        &[(
            "version",
            &version.map_or("unknown".into(), |(x, y, z)| format!("{x}.{y}.{z}")),
        )],
    );
    if let Some(act) = dbfix::remove_mirrors_dat(&db, version) {
        audit_actions(a, std::slice::from_ref(&act));
    }
    check_stop(ctx)?;

    // (5) run freshclam once.
    let mut cooldown = false;
    let mut seen = 0usize;
    let end = ctx.fc.run(ctx.stop, &mut |line| {
        if line.contains("cool-down") {
            cooldown = true;
        }
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
    let after = crate::clamav::cvd::local_daily(&db)
        .ok()
        .map(|l| l.header.version);
    Ok(classify(end, progress.before, after, cooldown))
}

/// freshclam output lines audited per run; a normal run prints a dozen.
pub(crate) const MAX_AUDITED_OUTPUT_LINES: usize = 500;

fn audit_actions(a: &dyn Audit, acts: &[dbfix::Action]) {
    for act in acts {
        a.event(
            act.what,
            &[("name", &act.name), ("result", &res(&act.result))],
        );
    }
}

/// Names the result of the freshclam run.
pub(crate) fn classify(
    end: End,
    before: Option<u32>,
    after: Option<u32>,
    saw_cooldown: bool,
) -> Outcome {
    match end {
        End::Exited(0) if after.is_some() && after > before => Outcome::Updated,
        End::Exited(0) if saw_cooldown => Outcome::Cooldown,
        End::Exited(0) => Outcome::Current,
        End::Exited(17) => Outcome::Forbidden,
        End::Exited(18) => Outcome::Cooldown,
        End::Exited(c) => Outcome::Failed(format!("freshclam exit {c} ({})", exit_name(c))),
        End::Signaled(s) => Outcome::Failed(format!("freshclam killed by signal {s}")),
        End::TimedOut => Outcome::Failed("freshclam timed out".into()),
        End::Interrupted(s) => Outcome::Failed(format!("interrupted by signal {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::audit::Capture;
    use std::cell::{Cell, RefCell};
    use std::fs;
    use std::path::Path;

    struct FakeSvc {
        mode: Mode,
        calls: RefCell<Vec<&'static str>>,
        stop_ok: bool,
        active_after_stop: bool,
        on_stop: Box<dyn Fn()>,
    }

    impl FakeSvc {
        fn new(mode: Mode) -> Self {
            FakeSvc {
                mode,
                calls: RefCell::default(),
                stop_ok: true,
                active_after_stop: false,
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
            self.active_after_stop
        }
        fn stop(&self, _: Duration) -> Result<(), String> {
            self.calls.borrow_mut().push("stop");
            (self.on_stop)();
            if self.stop_ok {
                Ok(())
            } else {
                Err("timed out".into())
            }
        }
        fn kill(&self) -> Result<(), String> {
            self.calls.borrow_mut().push("kill");
            Ok(())
        }
        fn start(&self) -> Result<(), String> {
            self.calls.borrow_mut().push("start");
            Ok(())
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
        version: Option<(u32, u32, u32)>,
        runs: Cell<u32>,
    }

    impl Freshclam for FakeFc {
        fn version(&self) -> Option<(u32, u32, u32)> {
            self.version
        }
        fn run(
            &self,
            stop: &dyn Fn() -> Option<i32>,
            on_line: &mut dyn FnMut(&str),
        ) -> Result<End, String> {
            self.runs.set(self.runs.get() + 1);
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
                Run::SpawnError => Err("no such file".into()),
            }
        }
        fn kill_lock_holders(&self, _: &Path) -> Vec<(i32, Result<(), String>)> {
            vec![(4242, Ok(()))]
        }
    }

    fn write_daily(db: &Path, v: u32) {
        let mut h =
            format!("ClamAV-VDB:25 Nov 2026 10-00 +0000:{v}:100:90:x:y:z:1795600000").into_bytes();
        h.resize(512, b' ');
        fs::write(db.join("daily.cvd"), h).unwrap();
    }

    struct Env {
        _d: tempfile::TempDir,
        conf: PathBuf,
        db: PathBuf,
        marker: PathBuf,
    }

    fn env() -> Env {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir(&db).unwrap();
        write_daily(&db, 100);
        fs::write(db.join("freshclam.dat"), "keep").unwrap();
        fs::create_dir(db.join("tmp.leftover")).unwrap();
        let conf = d.path().join("freshclam.conf");
        fs::write(
            &conf,
            format!(
                "DatabaseDirectory {}\nDatabaseOwner root\nUpdateLogFile {}/fc.log\n",
                db.display(),
                d.path().display()
            ),
        )
        .unwrap();
        let marker = d.path().join("marker");
        Env {
            conf,
            db,
            marker,
            _d: d,
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
        let ctx = Ctx {
            audit: &audit,
            svc,
            fc,
            freshclam_conf: e.conf.clone(),
            marker: e.marker.clone(),
            stop_timeout: Duration::from_secs(1),
            now: &now,
            stop,
        };
        (repair(&ctx), audit)
    }

    fn fc(e: &Env, run: Run) -> FakeFc {
        FakeFc {
            db: e.db.clone(),
            run,
            version: Some((1, 4, 6)),
            runs: Cell::new(0),
        }
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
        assert_eq!(svc.calls(), ["stop", "is-active", "start"]);
        assert_eq!(r.daemon_started, Some(Ok(())));
        assert!(!e.marker.exists(), "marker cleared after restart");
        assert!(!e.db.join("tmp.leftover").exists());
        assert!(e.db.join("freshclam.dat").exists());
        assert!(audit.contains("event=freshclam-output line=\"daily.cvd updated\""));
        assert!(audit.contains("event=kill-lock-holder pid=4242"));
        assert!(audit.contains("event=repair-end outcome=updated before=100 after=101"));
        assert!(audit.contains("event=freshclam result=\"exit 0\" code=0 name=ok"));
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
        assert_eq!(svc.calls(), ["stop", "is-active", "start"]);
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
                "failed: freshclam exit 5 (connection)",
            ),
            (
                Run::End(End::Exited(2), &[], None),
                "failed: freshclam exit 2 (init (log file locked?))",
            ),
            (
                Run::End(End::TimedOut, &[], None),
                "failed: freshclam timed out",
            ),
            (
                Run::End(End::Signaled(9), &[], None),
                "failed: freshclam killed by signal 9",
            ),
            (Run::Panic, "failed: internal error (panic)"),
            (Run::SpawnError, "failed: no such file"),
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
                assert_eq!(svc.calls().last(), Some(&"start"), "{want}");
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
        assert_eq!(svc.calls(), ["stop", "kill", "start"]);
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
            assert_eq!(r.daemon_started, None);
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
            assert_eq!(svc.calls().last(), Some(&"start"));
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
        assert_eq!(svc.calls(), ["start"], "a dead daemon is started anyway");
    }

    #[test]
    fn recovery_kills_orphans_then_starts() {
        let e = env();
        flight::write_marker(&e.marker, "systemd").unwrap();
        let svc = FakeSvc::new(Mode::Systemd);
        let f = fc(&e, Run::Panic);
        let audit = Capture::default();
        let ctx = Ctx {
            audit: &audit,
            svc: &svc,
            fc: &f,
            freshclam_conf: e.conf.clone(),
            marker: e.marker.clone(),
            stop_timeout: Duration::from_secs(1),
            now: &|| 0,
            stop: &|| None,
        };
        recover(&ctx);
        assert_eq!(svc.calls(), ["start"]);
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
            classify(End::Exited(0), None, Some(3), false),
            Outcome::Updated
        );
        assert_eq!(
            classify(End::Exited(0), Some(3), Some(3), false),
            Outcome::Current
        );
        assert_eq!(
            classify(End::Exited(0), Some(3), None, false),
            Outcome::Current
        );
    }
}
