//! The handler's rules over fake ports: decisions, single flight, spawning, recovery, `heal`,
//! `repair --wait` and `status`, all in-process. What only a real process shows (signals,
//! sessions, descriptors, sudo's environment) stays in tests/handler.rs.

use super::config::Config;
use super::decide::Trigger;
use super::error::HandlerError;
use super::flow::Env;
use super::freshclam::{Freshclam, RunError};
use super::paths::Paths;
use super::ports::{
    CheckFailed, Checker, Clock, Database, HealSchedule, HealTimer, Held, Monitor, Ports, Recheck,
    RepairLock, Spawner, StateStore,
};
use super::service::{Mode, ServiceError, ServiceManager};
use super::state::LastRepair;
use super::{handle, heal, repair, status};
use crate::check::plugin::CheckReport;
use crate::clamav::freshclam_dat::Cooldown;
use crate::handler::audit::Capture;
use crate::handler::ladder::{Outcome, Report};
use crate::handler::reload::fake::FakeScanner;
use crate::nagios::{ServiceState, StateType};
use crate::system::process::{Credentials, End};
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

const NOW: i64 = 1_000_000_000;

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> i64 {
        NOW
    }
}

/// The lock: `busy` is a running repair; `held` counts the guards alive. `wait_idle`
/// answers `quick` (the repair ended in time) and records each limit it was given.
#[derive(Default)]
struct FakeLock {
    busy: Cell<bool>,
    broken: Cell<bool>,
    marker: Rc<Cell<bool>>,
    held: Rc<Cell<u32>>,
    quick: Cell<bool>,
    waits: RefCell<Vec<Duration>>,
}
struct Guard(Rc<Cell<u32>>);
impl Held for Guard {
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
    fn record_holder(&self) {}
}
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}
impl RepairLock for FakeLock {
    fn acquire(&self) -> std::io::Result<Option<Box<dyn Held>>> {
        self.try_acquire()
    }
    fn try_acquire(&self) -> std::io::Result<Option<Box<dyn Held>>> {
        if self.broken.get() {
            return Err(std::io::Error::other("not a directory owned by us"));
        }
        if self.busy.get() || self.held.get() > 0 {
            return Ok(None);
        }
        self.held.set(self.held.get() + 1);
        Ok(Some(Box::new(Guard(self.held.clone()))))
    }
    fn holder_pid(&self) -> Option<i32> {
        self.busy.get().then_some(4242)
    }
    fn wait_idle(&self, limit: Duration) -> bool {
        self.waits.borrow_mut().push(limit);
        self.quick.get()
    }
    fn marker_present(&self) -> bool {
        self.marker.get()
    }
}

/// The record, shared with the spawner that plays a quick worker.
type Record = Rc<RefCell<Option<LastRepair>>>;
/// The check's answer, shared with the spawner (the database after the repair).
type Answer = Rc<RefCell<Result<CheckReport, CheckFailed>>>;

#[derive(Default)]
struct FakeState(Record, RefCell<Vec<LastRepair>>);
impl StateStore for FakeState {
    fn last(&self) -> Option<LastRepair> {
        self.0.borrow().clone()
    }
    fn save(&self, r: &LastRepair) -> std::io::Result<()> {
        *self.0.borrow_mut() = Some(r.clone());
        self.1.borrow_mut().push(r.clone());
        Ok(())
    }
    fn recent(&self) -> Vec<LastRepair> {
        self.1.borrow().clone()
    }
}

#[derive(Default)]
struct FakeMonitor(Cell<u32>);
impl Monitor for FakeMonitor {
    fn request_recheck(&self, _: i64) -> Vec<Recheck> {
        self.0.set(self.0.get() + 1);
        vec![Recheck {
            event: "nagios-recheck",
            result: "sent".into(),
            target: "fake.cmd".into(),
        }]
    }
    fn route(&self) -> (String, bool) {
        ("command file fake.cmd".into(), true)
    }
}

/// Spawns nothing; with `repairs` set it plays a worker that finished at once: it records
/// that outcome in the state and the check then sees `check_after`.
#[derive(Default)]
struct FakeSpawner {
    spawned: Cell<u32>,
    fail: Cell<bool>,
    repairs: RefCell<Option<(String, Record)>>,
    check_after: RefCell<Option<(ServiceState, Answer)>>,
    by: RefCell<Vec<crate::handler::origin::By>>,
}
impl Spawner for FakeSpawner {
    fn spawn_worker(&self, _: &dyn Held, by: crate::handler::origin::By) -> std::io::Result<u32> {
        self.by.borrow_mut().push(by);
        if self.fail.get() {
            return Err(std::io::Error::other("no such file"));
        }
        self.spawned.set(self.spawned.get() + 1);
        if let Some((outcome, state)) = &*self.repairs.borrow() {
            *state.borrow_mut() = Some(LastRepair {
                started: NOW,
                finished: NOW + 2,
                outcome: outcome.clone(),
                failures: u32::from(!super::state::is_success(outcome)),
                next_allowed: None,
                clamd: None,
                by: None,
            });
        }
        if let Some((st, check)) = &*self.check_after.borrow() {
            *check.borrow_mut() = Ok(report(*st));
        }
        Ok(777)
    }
}

struct FakeTimer(RefCell<HealSchedule>);
impl HealTimer for FakeTimer {
    fn schedule(&self) -> HealSchedule {
        self.0.borrow().clone()
    }
}

#[derive(Default)]
struct FakeDb {
    cooldown: Cell<Option<i64>>,
}
impl Database for FakeDb {
    fn cooldown(&self, now: i64) -> Cooldown {
        match self.cooldown.get() {
            Some(u) if u > now + 48 * 3600 => Cooldown::Bogus(u),
            Some(u) if u > now => Cooldown::Until(u),
            _ => Cooldown::None,
        }
    }
    fn local_daily(&self) -> Result<(u32, String, String), crate::clamav::cvd::CvdError> {
        Ok((
            100,
            "25 Nov 2026 10-00 +0000".into(),
            "/var/lib/clamav".into(),
        ))
    }
}

struct FakeCheck(Answer);
impl Checker for FakeCheck {
    fn check(&self, _: i64) -> Result<CheckReport, CheckFailed> {
        self.0.borrow().clone()
    }
}

fn report(state: ServiceState) -> CheckReport {
    CheckReport {
        state,
        text: format!("daily 100 ({state})"),
        perfdata: "daily=100".into(),
        details: Vec::new(),
        local: None,
        published: Some(102),
        lag: Some(2),
        cooldown: Cooldown::None,
        mirror_lag: None,
    }
}

struct FakeSvc {
    mode: Mode,
    active: Cell<bool>,
    starts: Cell<u32>,
}
impl ServiceManager for FakeSvc {
    fn mode(&self) -> Mode {
        self.mode
    }
    fn is_active(&self) -> bool {
        self.active.get()
    }
    fn stop(&self, _: Duration) -> Result<(), ServiceError> {
        self.active.set(false);
        Ok(())
    }
    fn kill(&self) -> Result<(), ServiceError> {
        self.active.set(false);
        Ok(())
    }
    fn start(&self) -> Result<(), ServiceError> {
        self.starts.set(self.starts.get() + 1);
        self.active.set(true);
        Ok(())
    }
    fn starts_unprivileged(&self) -> bool {
        true
    }
}

/// A freshclam that cannot be started: the ladder ends `failed`, the daemon restarted.
struct NoFreshclam;
impl Freshclam for NoFreshclam {
    fn config_check(&self, _: Option<Credentials>) -> (End, Vec<String>) {
        (End::Exited(0), vec!["ClamAV 1.4.6".into()])
    }
    fn run(
        &self,
        _: Duration,
        _: Option<Credentials>,
        _: &dyn Fn() -> Option<i32>,
        _: &mut dyn FnMut(&str),
    ) -> Result<End, RunError> {
        Err(RunError {
            program: "/usr/bin/freshclam".into(),
            source: std::io::Error::other("no such file"),
        })
    }
    fn kill_lock_holders(&self, _: &Path) -> Vec<(i32, Result<(), nix::errno::Errno>)> {
        Vec::new()
    }
}

struct World {
    dir: tempfile::TempDir,
    paths: Paths,
    cfg: Config,
    audit: Capture,
    svc: FakeSvc,
    lock: FakeLock,
    state: FakeState,
    monitor: FakeMonitor,
    spawner: FakeSpawner,
    db: FakeDb,
    check: FakeCheck,
    timer: FakeTimer,
    scanner: FakeScanner,
    via: crate::handler::origin::Via,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path(), "/x/clamav-freshen".into());
        World {
            paths,
            dir,
            cfg: Config::default(),
            audit: Capture::default(),
            svc: FakeSvc {
                mode: Mode::Systemd,
                active: Cell::new(true),
                starts: Cell::new(0),
            },
            lock: FakeLock::default(),
            state: FakeState::default(),
            monitor: FakeMonitor::default(),
            spawner: FakeSpawner::default(),
            db: FakeDb::default(),
            check: FakeCheck(Rc::new(RefCell::new(Ok(report(ServiceState::Critical))))),
            timer: FakeTimer(RefCell::new(HealSchedule::Timer {
                unit_file_state: "enabled".into(),
                active_state: "active".into(),
                next: Some(NOW + 600),
                last: Some(NOW - 1200),
            })),
            scanner: FakeScanner::absent(),
            via: crate::handler::origin::Via::Direct,
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            p: Ports {
                audit: &self.audit,
                clock: &FixedClock,
                svc: &self.svc,
                freshclam: &NoFreshclam,
                lock: &self.lock,
                state: &self.state,
                monitor: &self.monitor,
                spawner: &self.spawner,
                db: &self.db,
                checker: &self.check,
                timer: &self.timer,
                scanner: &self.scanner,
                stop: &|| None,
            },
            cfg: &self.cfg,
            paths: &self.paths,
            via: self.via,
        }
    }

    fn handle(
        &self,
        state: ServiceState,
        state_type: StateType,
        attempt: u32,
    ) -> Result<String, HandlerError> {
        handle::handle(
            &self.env(),
            Trigger::Handle {
                state,
                state_type,
                attempt,
            },
        )
    }

    fn decision(&self) -> String {
        self.audit
            .lines()
            .into_iter()
            .rfind(|l| l.starts_with("event=decision"))
            .unwrap_or_default()
    }
}

#[test]
fn a_hard_problem_spawns_one_worker_and_returns() {
    let w = World::new();
    let line = w
        .handle(ServiceState::Critical, StateType::Hard, 3)
        .unwrap();
    assert_eq!(
        line,
        "clamav-freshen: repair started (CRITICAL HARD attempt 3)"
    );
    assert_eq!(w.spawner.spawned.get(), 1);
    assert!(w.decision().contains("action=repair"), "{}", w.decision());
    assert!(w.audit.contains("event=spawn result=ok pid=777"));
    assert_eq!(
        w.lock.held.get(),
        0,
        "the lock went to the worker, not kept"
    );
}

#[test]
fn ok_and_unknown_repair_nothing() {
    let w = World::new();
    for s in [ServiceState::Ok, ServiceState::Unknown] {
        let line = w.handle(s, StateType::Hard, 1).unwrap();
        assert!(line.contains("no repair: state"), "{line}");
    }
    assert_eq!(w.spawner.spawned.get(), 0);
}

#[test]
fn soft_attempt_threshold() {
    let mut w = World::new();
    w.cfg.soft_attempt = 2;
    w.handle(ServiceState::Warning, StateType::Soft, 1).unwrap();
    assert_eq!(w.spawner.spawned.get(), 0);
    assert!(w.decision().contains("below soft_attempt 2"));
    w.handle(ServiceState::Warning, StateType::Soft, 2).unwrap();
    assert_eq!(w.spawner.spawned.get(), 1);
}

#[test]
fn a_running_repair_is_never_doubled() {
    let w = World::new();
    w.lock.busy.set(true);
    let line = w
        .handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert!(line.contains("a repair is already running"), "{line}");
    assert_eq!(w.spawner.spawned.get(), 0);
}

#[test]
fn rate_limit_holds_for_monitor_events_and_not_for_the_admin() {
    let w = World::new();
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 70,
        finished: NOW - 60,
        outcome: "failed: x".into(),
        failures: 1,
        next_allowed: None,
        clamd: None,
        by: None,
    });
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert_eq!(w.spawner.spawned.get(), 0);
    assert!(w.decision().contains("rate limit"), "{}", w.decision());
    let out = repair::repair(&w.env()).unwrap();
    assert_eq!(out.code, 0);
    assert!(
        out.lines[0].contains("rate limit bypassed"),
        "{:?}",
        out.lines
    );
    assert_eq!(w.spawner.spawned.get(), 1);
}

#[test]
fn an_active_cool_down_is_respected_unless_configured_otherwise() {
    let mut w = World::new();
    w.db.cooldown.set(Some(NOW + 3600));
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert_eq!(w.spawner.spawned.get(), 0);
    assert!(w.decision().contains("cool-down until"));
    w.cfg.respect_cooldown = false;
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert_eq!(w.spawner.spawned.get(), 1);
}

#[test]
fn a_bogus_cool_down_is_audited_and_not_obeyed() {
    let w = World::new();
    w.db.cooldown.set(Some(i64::MAX));
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert_eq!(w.spawner.spawned.get(), 1);
    assert!(
        w.audit
            .contains("event=freshclam-dat result=bogus retry_after=9223372036854775807")
    );
}

#[test]
fn a_worker_that_cannot_start_is_an_error_with_exit_1() {
    let w = World::new();
    w.spawner.fail.set(true);
    let e = w
        .handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("cannot start the repair worker"));
    assert!(
        w.audit
            .contains("event=spawn result=\"error: no such file\"")
    );
}

#[test]
fn an_unusable_lock_is_an_error_with_exit_1() {
    let w = World::new();
    w.lock.broken.set(true);
    let e = w
        .handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(w.decision().contains("action=error"));
}

#[test]
fn a_daemon_left_stopped_is_recovered_by_the_next_call() {
    let w = World::new();
    w.lock.marker.set(true);
    w.svc.active.set(false);
    w.handle(ServiceState::Ok, StateType::Hard, 1).unwrap();
    assert!(w.audit.contains("event=recover"));
    assert_eq!(w.svc.starts.get(), 1);
    assert!(w.svc.active.get());
}

#[test]
fn no_recovery_while_a_repair_owns_the_marker() {
    let w = World::new();
    w.lock.marker.set(true);
    w.lock.busy.set(true);
    w.svc.active.set(false);
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    assert!(!w.audit.contains("event=recover"));
    assert_eq!(w.svc.starts.get(), 0);
}

#[test]
fn handle_grammar_is_strict() {
    for (s, t, a) in [
        ("critical", "HARD", "1"),
        ("CRITICAL", "hard", "1"),
        ("CRITICAL", "HARD", "0"),
        ("CRITICAL", "HARD", "1000"),
        ("CRITICAL", "HARD", "+1"),
        ("CRITICAL", "HARD", " 1"),
    ] {
        let e = handle::parse(s, t, a).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{s} {t} {a}");
    }
    assert!(handle::parse("WARNING", "SOFT", "999").is_ok());
}

#[test]
fn heal_prints_the_check_then_what_it_did_with_perfdata_last() {
    let w = World::new();
    let (line, code) = heal::heal(&w.env());
    assert_eq!(code, 2);
    assert_eq!(
        line,
        "CLAMAV CRITICAL - daily 100 (CRITICAL); repair started (check CRITICAL), \
         still running after 7s | daily=100"
    );
    let waits = w.lock.waits.borrow().clone();
    assert!(
        waits.len() == 1 && waits[0] <= Duration::from_secs(7),
        "waited once for the repair, within heal_wait_secs: {waits:?}"
    );
    assert!(w.audit.contains("event=heal-wait result=\"still running\""));
    *w.check.0.borrow_mut() = Ok(report(ServiceState::Ok));
    let (line, code) = heal::heal(&w.env());
    assert_eq!(code, 0);
    assert!(line.contains("; no repair: check OK"), "{line}");
    assert_eq!(w.spawner.spawned.get(), 1);
    assert_eq!(w.lock.waits.borrow().len(), 1, "no repair, no wait");
}

#[test]
fn heal_answers_with_the_database_after_a_quick_repair() {
    let w = World::new();
    w.lock.quick.set(true);
    *w.spawner.repairs.borrow_mut() = Some(("updated".into(), w.state.0.clone()));
    *w.spawner.check_after.borrow_mut() = Some((ServiceState::Ok, w.check.0.clone()));
    let (line, code) = heal::heal(&w.env());
    assert_eq!(
        (line.as_str(), code),
        (
            "CLAMAV OK - daily 100 (OK); repair outcome updated after 2s (was CRITICAL) | daily=100",
            0
        )
    );
    let checks: Vec<String> = w
        .audit
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("event=check"))
        .collect();
    assert_eq!(checks.len(), 2, "checked before and after: {checks:?}");
    assert!(checks[1].contains("state=OK") && checks[1].ends_with("when=after-repair"));
    assert!(w.audit.contains("event=heal-wait result=\"repair ended\""));
}

#[test]
fn heal_after_a_quick_failed_repair_reports_the_failure_and_the_state() {
    let w = World::new();
    w.lock.quick.set(true);
    *w.spawner.repairs.borrow_mut() =
        Some(("failed: exit 5 | connection\n".into(), w.state.0.clone()));
    let (line, code) = heal::heal(&w.env());
    assert_eq!(code, 2, "still CRITICAL: {line}");
    assert_eq!(
        line,
        "CLAMAV CRITICAL - daily 100 (CRITICAL); repair outcome failed: exit 5 ! connection? \
         after 2s (was CRITICAL) | daily=100",
        "freshclam's text cannot split the plugin output"
    );
}

#[test]
fn heal_does_not_wait_when_configured_not_to() {
    let mut w = World::new();
    w.cfg.heal_wait_secs = 0;
    w.lock.quick.set(true);
    let (line, _) = heal::heal(&w.env());
    assert!(line.contains("still running after 0s"), "{line}");
    assert!(w.lock.waits.borrow().is_empty());
}

#[test]
fn heal_recovers_a_stopped_daemon_even_when_the_check_fails() {
    let w = World::new();
    w.lock.marker.set(true);
    w.svc.active.set(false);
    *w.check.0.borrow_mut() = Err(CheckFailed);
    let (_, code) = heal::heal(&w.env());
    assert_eq!(code, 3);
    assert!(w.audit.contains("event=recover"), "{:?}", w.audit.lines());
    assert_eq!(w.svc.starts.get(), 1);
}

#[test]
fn every_trigger_shares_one_backoff() {
    let w = World::new();
    // The third failure in a row, 20 minutes ago: the wait is 4 × 900 s.
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 1300,
        finished: NOW - 1200,
        outcome: "failed: exit 5 connection".into(),
        failures: 3,
        next_allowed: Some(NOW + 2400),
        clamd: None,
        by: None,
    });
    w.handle(ServiceState::Critical, StateType::Hard, 1)
        .unwrap();
    let (line, _) = heal::heal(&w.env());
    assert!(line.contains("no repair: rate limit"), "{line}");
    assert_eq!(w.spawner.spawned.get(), 0);
    let decisions: Vec<String> = w
        .audit
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("event=decision"))
        .collect();
    assert_eq!(decisions.len(), 2);
    for d in &decisions {
        assert!(
            d.contains("backoff after 3 consecutive failures: 3600s")
                && d.ends_with("failures=3 next_allowed=2001-09-09T02:26:40Z"),
            "{d}"
        );
    }
    // The admin is not held back.
    repair::repair(&w.env()).unwrap();
    assert_eq!(w.spawner.spawned.get(), 1);
}

#[test]
fn the_worker_counts_consecutive_failures_and_a_success_resets_them() {
    let w = World::new();
    // NoFreshclam: every repair fails.
    for n in 1..=3 {
        repair::repair_wait(&w.env()).unwrap();
        let r = w.state.last().unwrap();
        assert_eq!(r.failures, n);
        assert_eq!(
            r.next_allowed,
            Some(NOW + [900, 1800, 3600][n as usize - 1]),
            "{r:?}"
        );
    }
    assert!(
        w.audit
            .contains("event=state result=saved failures=3 next_allowed=2001-09-09T02:46:40Z")
    );
    // An older record of a success: the count starts again.
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 10,
        finished: NOW - 5,
        outcome: "updated".into(),
        failures: 0,
        next_allowed: None,
        clamd: None,
        by: None,
    });
    repair::repair_wait(&w.env()).unwrap();
    assert_eq!(w.state.last().unwrap().failures, 1);
}

#[test]
fn heal_without_a_check_is_unknown() {
    let w = World::new();
    *w.check.0.borrow_mut() = Err(CheckFailed);
    let (line, code) = heal::heal(&w.env());
    assert_eq!(
        (line.as_str(), code),
        ("CLAMAV UNKNOWN - check failed internally", 3)
    );
    assert_eq!(w.spawner.spawned.get(), 0);
}

#[test]
fn repair_wait_records_the_outcome_and_asks_for_a_recheck() {
    let w = World::new();
    let out = repair::repair_wait(&w.env()).unwrap();
    assert_eq!(out.code, 1, "{:?}", out.lines);
    assert!(
        out.lines[0].starts_with("clamav-freshen: failed"),
        "{:?}",
        out.lines
    );
    let saved = w.state.last().expect("state saved");
    assert!(saved.outcome.starts_with("failed"), "{saved:?}");
    assert_eq!(w.monitor.0.get(), 1);
    assert!(w.svc.active.get(), "the daemon runs after the repair");
    assert_eq!(w.lock.held.get(), 0, "lock released");
}

#[test]
fn repair_wait_while_a_repair_runs_does_nothing() {
    let w = World::new();
    w.lock.busy.set(true);
    let out = repair::repair_wait(&w.env()).unwrap();
    assert_eq!(out.code, 1);
    assert_eq!(out.lines, ["clamav-freshen: a repair is already running"]);
    assert!(w.state.last().is_none());
}

#[test]
fn status_is_a_value_then_text() {
    let w = World::new();
    *w.check.0.borrow_mut() = Ok(report(ServiceState::Ok));
    let s = status::gather(&w.env(), None);
    assert!(s.healthy, "{s}");
    assert_eq!(s.exit_code(), 0);
    let text = s.to_string();
    assert!(text.contains("freshclam:    systemd (running)\n"), "{text}");
    assert!(
        text.contains("local daily:  100 (built 25 Nov 2026 10-00 +0000) in /var/lib/clamav\n"),
        "{text}"
    );
    assert!(text.contains("repair:       none running\n"), "{text}");
    assert!(text.contains("last repair:  never\n"), "{text}");
    assert!(
        text.contains("next repair:  allowed now (monitor event, heal, timer)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "heal timer:   clamav-freshen-heal.timer enabled, active; \
             next 2001-09-09 01:56 UTC (in 10 min), last 2001-09-09 01:26 UTC (20 min ago)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("failures:"), "{text}");
    assert!(text.ends_with("overall:      healthy\n"), "{text}");

    w.svc.active.set(false);
    w.lock.busy.set(true);
    let s = status::gather(&w.env(), Some("owned by uid 1000"));
    assert!(!s.healthy);
    let text = s.to_string();
    assert!(
        text.contains("config:       REFUSED: owned by uid 1000\n"),
        "{text}"
    );
    assert!(text.contains("systemd (NOT running)"), "{text}");
    assert!(text.contains("running (worker pid 4242)"), "{text}");
    let _ = &w.dir;
}

#[test]
fn status_shows_the_backoff_with_dates_and_ages() {
    let w = World::new();
    *w.check.0.borrow_mut() = Ok(report(ServiceState::Ok));
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 760,
        finished: NOW - 720,
        outcome: "failed: exit 5 connection".into(),
        failures: 2,
        next_allowed: None,
        clamd: None,
        by: None,
    });
    w.db.cooldown.set(Some(NOW + 3600));
    *w.timer.0.borrow_mut() = HealSchedule::Cron {
        path: "/etc/cron.d/clamav-freshen".into(),
        present: true,
    };
    let text = status::gather(&w.env(), None).to_string();
    for want in [
        "cool-down:    until 2001-09-09 02:46 UTC (in 1h 0m)\n",
        "last repair:  2001-09-09 01:34 UTC (12 min ago), outcome failed: exit 5 connection, took 40s\n",
        "failures:     2 consecutive, last: failed: exit 5 connection\n",
        "next repair:  allowed from 2001-09-09 02:04 UTC (in 18 min) (backoff after 2 failures; `repair` bypasses it)\n",
        "heal timer:   cron (/etc/cron.d/clamav-freshen; no systemd)\n",
    ] {
        assert!(text.contains(want), "want {want:?} in\n{text}");
    }
    *w.timer.0.borrow_mut() = HealSchedule::Unknown("systemctl show: timed out".into());
    let text = status::gather(&w.env(), None).to_string();
    assert!(
        text.contains("heal timer:   unknown: systemctl show: timed out\n"),
        "{text}"
    );
}

/// The files as new as the published daily (lag 0), clamd one behind.
fn files_current(w: &mut World) {
    let mut r = report(ServiceState::Warning);
    r.lag = Some(0);
    *w.check.0.borrow_mut() = Ok(r);
}

#[test]
fn clamd_behind_current_files_is_reloaded_and_freshclam_left_alone() {
    let mut w = World::new();
    files_current(&mut w);
    w.scanner = FakeScanner::at(99).reloads_to(100, 2);
    let out = repair::repair_wait(&w.env()).unwrap();
    assert_eq!(out.code, 0, "{:?}", out.lines);
    assert!(
        out.lines[0].starts_with("clamav-freshen: reloaded"),
        "{:?}",
        out.lines
    );
    assert!(
        out.lines
            .iter()
            .any(|l| l.contains("clamd reloaded daily 99 -> 100")),
        "{:?}",
        out.lines
    );
    // NoFreshclam fails every run: the ladder did not run, the daemon was not touched.
    assert_eq!(w.svc.starts.get(), 0);
    assert!(
        !w.audit.contains("event=freshclam"),
        "{:?}",
        w.audit.lines()
    );
    assert!(w.audit.contains("event=repair-start mode=clamd-only"));
    let rec = w.state.last().unwrap();
    assert_eq!((rec.outcome.as_str(), rec.failures), ("reloaded", 0));
    assert!(
        rec.clamd
            .as_deref()
            .unwrap()
            .starts_with("reloaded daily 99 -> 100")
    );
    assert_eq!(w.monitor.0.get(), 1, "the monitor re-checks");
}

#[test]
fn clamd_that_will_not_reload_is_its_own_failure_and_counts_for_the_backoff() {
    let mut w = World::new();
    files_current(&mut w);
    w.cfg.clamd_reload_secs = 1;
    w.scanner = FakeScanner::at(99);
    let out = repair::repair_wait(&w.env()).unwrap();
    assert_eq!(out.code, 1, "{:?}", out.lines);
    let rec = w.state.last().unwrap();
    assert!(
        rec.outcome
            .starts_with("clamd did not reload: still daily 99"),
        "{rec:?}"
    );
    assert_eq!(rec.failures, 1);
    assert!(
        w.audit.contains("event=clamd result=failed"),
        "{:?}",
        w.audit.lines()
    );
}

#[test]
fn files_behind_the_published_daily_get_the_full_repair_even_with_clamd_behind() {
    let mut w = World::new();
    // report(): lag 2.
    w.scanner = FakeScanner::at(99).reloads_to(100, 0);
    repair::repair_wait(&w.env()).unwrap();
    assert!(
        w.audit.contains("event=repair-start mode=systemd"),
        "{:?}",
        w.audit.lines()
    );
    assert!(!w.audit.contains("mode=clamd-only"));
}

#[test]
fn no_clamd_changes_nothing() {
    let mut w = World::new();
    files_current(&mut w);
    repair::repair_wait(&w.env()).unwrap();
    assert!(!w.audit.contains("event=clamd"), "{:?}", w.audit.lines());
    assert_eq!(w.state.last().unwrap().clamd, None);
}

#[test]
fn a_repair_that_updated_the_files_fails_when_clamd_does_not_load_them() {
    let mut w = World::new();
    w.cfg.clamd_reload_secs = 1;
    w.scanner = FakeScanner::at(99);
    let mut r = Report {
        outcome: Outcome::Updated,
        before: Some(99),
        after: Some(100),
        started: NOW,
        finished: NOW + 5,
        daemon_started: Some(Ok(())),
    };
    let sync = crate::handler::worker::scanner_after_files(&w.env(), &mut r);
    assert!(!sync.is_ok());
    assert!(
        r.outcome.to_string().starts_with("clamd did not reload: "),
        "{}",
        r.outcome
    );
    // A reload that works leaves the outcome alone.
    w.scanner = FakeScanner::at(99).reloads_to(100, 1);
    let mut r2 = Report {
        outcome: Outcome::Updated,
        ..r
    };
    crate::handler::worker::scanner_after_files(&w.env(), &mut r2);
    assert_eq!(r2.outcome, Outcome::Updated);
    // A refused repair never talks to clamd.
    let s = FakeScanner::at(99);
    w.scanner = s;
    let mut r3 = Report {
        outcome: Outcome::Refused("x".into()),
        ..r2
    };
    crate::handler::worker::scanner_after_files(&w.env(), &mut r3);
    assert!(w.scanner.calls.borrow().is_empty());
}

#[test]
fn status_shows_clamd_and_its_last_reload() {
    let mut w = World::new();
    w.scanner = FakeScanner::at(100);
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 70,
        finished: NOW - 60,
        outcome: "reloaded".into(),
        failures: 0,
        next_allowed: None,
        clamd: Some("reloaded daily 99 -> 100 in 3s".into()),
        by: None,
    });
    let s = status::gather(&w.env(), None).to_string();
    assert!(
        s.contains("clamd:        /run/clamav/clamd.ctl: loaded daily 100 (ClamAV 1.4.3)"),
        "{s}"
    );
    assert!(
        s.contains("last reload:  reloaded daily 99 -> 100 in 3s ("),
        "{s}"
    );
    w.scanner = FakeScanner::at(98);
    let st = status::gather(&w.env(), None);
    assert!(st.to_string().contains("BEHIND the files"), "{st}");
    assert!(!st.healthy);
    w.scanner = FakeScanner {
        answering: false,
        ..FakeScanner::at(98)
    };
    let st = status::gather(&w.env(), None);
    assert!(st.to_string().contains("NOT answering"), "{st}");
    assert!(!st.healthy);
    w.scanner = FakeScanner::absent();
    assert!(!status::gather(&w.env(), None).to_string().contains("clamd"));
}

#[test]
fn the_worker_is_told_who_started_the_repair_and_status_lists_them() {
    use crate::handler::origin::{By, Via};
    let mut w = World::new();
    w.cfg.rate_limit_secs = 0;
    w.via = Via::Sudo;
    w.handle(ServiceState::Critical, StateType::Hard, 3)
        .unwrap();
    heal::heal(&w.env());
    w.via = Via::Systemd;
    heal::heal(&w.env());
    w.via = Via::Direct;
    repair::repair(&w.env()).unwrap();
    assert_eq!(
        *w.spawner.by.borrow(),
        [By::Monitor, By::Nrpe, By::Timer, By::Admin]
    );
    // The foreground repair records itself as the admin's.
    repair::repair_wait(&w.env()).unwrap();
    assert_eq!(w.state.last().unwrap().by.as_deref(), Some("admin"));
    w.state.1.borrow_mut().insert(
        0,
        LastRepair {
            started: NOW - 4000,
            finished: NOW - 3990,
            outcome: "updated".into(),
            failures: 0,
            next_allowed: None,
            clamd: None,
            by: Some("timer".into()),
        },
    );
    let s = status::gather(&w.env(), None).to_string();
    let repaired: Vec<&str> = s.lines().filter(|l| l.starts_with("repaired:")).collect();
    assert_eq!(repaired.len(), 2, "{s}");
    assert!(repaired[0].contains("by admin: failed"), "{s}");
    assert!(
        repaired[1].contains("(1h 6m ago) by timer: updated (10s)"),
        "{s}"
    );
}

#[test]
fn status_gives_the_advice_for_the_last_failure() {
    let w = World::new();
    *w.state.0.borrow_mut() = Some(LastRepair {
        started: NOW - 70,
        finished: NOW - 60,
        outcome:
            "refused: database filesystem full: 0 KiB free on /var/lib/clamav, 32785 KiB needed"
                .into(),
        failures: 1,
        next_allowed: None,
        clamd: None,
        by: Some("monitor".into()),
    });
    let s = status::gather(&w.env(), None).to_string();
    assert!(
        s.contains("advice:       free space on the database filesystem"),
        "{s}"
    );
    w.state.0.borrow_mut().as_mut().unwrap().outcome = "updated".into();
    assert!(
        !status::gather(&w.env(), None)
            .to_string()
            .contains("advice:")
    );
}

#[test]
fn a_filter_as_current_as_its_lagging_mirror_is_not_repaired() {
    let mut w = World::new();
    let lagging = CheckReport {
        state: ServiceState::Warning,
        lag: Some(0),
        mirror_lag: Some(3),
        ..report(ServiceState::Warning)
    };
    *w.check.0.borrow_mut() = Ok(lagging.clone());
    // Without the comparison configured the handler does not know: the monitor's word
    // stands, as before.
    w.handle(ServiceState::Warning, StateType::Hard, 3).unwrap();
    assert_eq!(w.spawner.spawned.get(), 1);

    let mut w2 = World::new();
    w2.cfg.check_compare_dns = true;
    *w2.check.0.borrow_mut() = Ok(lagging);
    let line = w2
        .handle(ServiceState::Warning, StateType::Hard, 3)
        .unwrap();
    assert_eq!(w2.spawner.spawned.get(), 0, "{line}");
    assert!(line.contains("no repair: mirror-lag:"), "{line}");
    assert!(
        w2.decision()
            .contains("action=skip reason=\"mirror-lag: this filter is as current"),
        "{}",
        w2.decision()
    );
    let (line, _) = heal::heal(&w2.env());
    assert!(line.contains("repair the mirror"), "{line}");
    assert_eq!(w2.spawner.spawned.get(), 0);
    // The admin's repair is the admin's call.
    crate::handler::start::start_repair(&w2.env(), Trigger::Admin, None).unwrap();
    assert_eq!(w2.spawner.spawned.get(), 1);
    w.cfg.check_compare_dns = false;
}
