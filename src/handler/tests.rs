//! The handler's rules over fake ports: decisions, single flight, spawning, recovery, `heal`,
//! `repair --wait` and `status`, all in-process. What only a real process shows (signals,
//! sessions, descriptors, sudo's environment) stays in tests/handler.rs.

use super::config::Config;
use super::decide::Trigger;
use super::error::HandlerError;
use super::flow::Env;
use super::freshclam::Freshclam;
use super::paths::Paths;
use super::ports::{
    Checker, Clock, Database, Held, Monitor, Ports, RepairLock, Spawner, StateStore,
};
use super::service::{Mode, ServiceManager};
use super::state::LastRepair;
use super::{handle, heal, repair, status};
use crate::check::plugin::CheckReport;
use crate::clamav::freshclam_dat::Cooldown;
use crate::handler::audit::Capture;
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

/// The lock: `busy` is a running repair; `held` counts the guards alive.
#[derive(Default)]
struct FakeLock {
    busy: Cell<bool>,
    broken: Cell<bool>,
    marker: Rc<Cell<bool>>,
    held: Rc<Cell<u32>>,
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
    fn marker_present(&self) -> bool {
        self.marker.get()
    }
}

#[derive(Default)]
struct FakeState(RefCell<Option<LastRepair>>);
impl StateStore for FakeState {
    fn last(&self) -> Option<LastRepair> {
        self.0.borrow().clone()
    }
    fn save(&self, r: &LastRepair) -> std::io::Result<()> {
        *self.0.borrow_mut() = Some(r.clone());
        Ok(())
    }
}

#[derive(Default)]
struct FakeMonitor(Cell<u32>);
impl Monitor for FakeMonitor {
    fn request_recheck(&self, _: i64) -> (String, String) {
        self.0.set(self.0.get() + 1);
        ("sent".into(), "fake.cmd".into())
    }
}

#[derive(Default)]
struct FakeSpawner {
    spawned: Cell<u32>,
    fail: Cell<bool>,
}
impl Spawner for FakeSpawner {
    fn spawn_worker(&self, _: &dyn Held) -> std::io::Result<u32> {
        if self.fail.get() {
            return Err(std::io::Error::other("no such file"));
        }
        self.spawned.set(self.spawned.get() + 1);
        Ok(777)
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
    fn local_daily(&self) -> Result<(u32, String, String), String> {
        Ok((
            100,
            "25 Nov 2026 10-00 +0000".into(),
            "/var/lib/clamav".into(),
        ))
    }
}

struct FakeCheck(RefCell<Result<CheckReport, String>>);
impl Checker for FakeCheck {
    fn check(&self, _: i64) -> Result<CheckReport, String> {
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
    fn stop(&self, _: Duration) -> Result<(), String> {
        self.active.set(false);
        Ok(())
    }
    fn kill(&self) -> Result<(), String> {
        self.active.set(false);
        Ok(())
    }
    fn start(&self) -> Result<(), String> {
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
    ) -> Result<End, String> {
        Err("cannot run /usr/bin/freshclam: no such file".into())
    }
    fn kill_lock_holders(&self, _: &Path) -> Vec<(i32, Result<(), String>)> {
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
            check: FakeCheck(RefCell::new(Ok(report(ServiceState::Critical)))),
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
                stop: &|| None,
            },
            cfg: &self.cfg,
            paths: &self.paths,
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
        "CLAMAV CRITICAL - daily 100 (CRITICAL); repair started (check CRITICAL) | daily=100"
    );
    *w.check.0.borrow_mut() = Ok(report(ServiceState::Ok));
    let (line, code) = heal::heal(&w.env());
    assert_eq!(code, 0);
    assert!(line.contains("; no repair: check OK"), "{line}");
    assert_eq!(w.spawner.spawned.get(), 1);
}

#[test]
fn heal_without_a_check_is_unknown() {
    let w = World::new();
    *w.check.0.borrow_mut() = Err("check failed internally".into());
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
