//! The handler's side effects, each behind a small trait. `main` builds the real ones once
//! ([`crate::handler::real`]); the unit tests build fakes, so every rule of `handle`, `heal`,
//! `repair`, `status` and the worker runs in-process.
//!
//! The ladder's own seams (service manager, freshclam) live beside the ladder
//! ([`crate::handler::service`], [`crate::handler::freshclam`]); the audit trail in
//! [`crate::handler::audit`].

use crate::check::plugin::CheckReport;
use crate::clamav::cvd::CvdError;
use crate::clamav::freshclam_dat::Cooldown;
use crate::handler::audit::Audit;
use crate::handler::freshclam::Freshclam;
use crate::handler::service::ServiceManager;
use crate::handler::state::LastRepair;
use std::os::fd::RawFd;
use std::time::Duration;

/// Wall-clock seconds since the epoch.
pub(crate) trait Clock {
    fn now(&self) -> i64;
}

/// A held repair lock; released when dropped.
pub(crate) trait Held {
    /// The descriptor the detached worker inherits (`None` for a fake).
    fn raw_fd(&self) -> Option<RawFd>;
    /// Records our pid as the holder, for `status` and for [`RepairLock::acquire`].
    fn record_holder(&self);
}

/// Single flight: one repair at a time on this machine.
pub(crate) trait RepairLock {
    /// The lock, unless a repair holds it: a holder that only decides (milliseconds) is
    /// waited for briefly, a recorded repair is not.
    fn acquire(&self) -> std::io::Result<Option<Box<dyn Held>>>;
    /// The lock if nobody holds it at this instant.
    fn try_acquire(&self) -> std::io::Result<Option<Box<dyn Held>>>;
    /// The pid of the running repair, when it recorded one and lives.
    fn holder_pid(&self) -> Option<i32>;
    /// Polls until nobody holds the lock (true) or `limit` has passed (false): `heal`
    /// waiting for the repair it started.
    fn wait_idle(&self, limit: Duration) -> bool;
    /// The "daemon stopped" marker of an interrupted repair is present.
    fn marker_present(&self) -> bool;
}

/// The last-repair record (rate limit, `status`).
pub(crate) trait StateStore {
    fn last(&self) -> Option<LastRepair>;
    /// Saves the record and adds it to the history.
    fn save(&self, record: &LastRepair) -> std::io::Result<()>;
    /// The last repairs, oldest first (at most `state::HISTORY_LEN`).
    fn recent(&self) -> Vec<LastRepair>;
}

/// Asks the monitor for a forced re-check after a repair.
pub(crate) trait Monitor {
    /// Each way tried, in order, with its result.
    fn request_recheck(&self, now: i64) -> Vec<Recheck>;
    /// Which way a re-check would take, for `status`; `false` when a file of root's that
    /// chooses it is refused.
    fn route(&self) -> (String, bool);
}

/// One re-check request and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recheck {
    /// The audit event: `icinga-recheck` (the API) or `nagios-recheck` (a command file).
    pub(crate) event: &'static str,
    /// `sent`, `skipped: ...` or `error: ...`.
    pub(crate) result: String,
    /// Where: the API's URL or the command file's path.
    pub(crate) target: String,
}

/// Starts the detached worker holding `lock`; returns its pid.
pub(crate) trait Spawner {
    fn spawn_worker(&self, lock: &dyn Held, by: crate::handler::origin::By)
    -> std::io::Result<u32>;
}

/// What the handler reads of the database directory outside the ladder.
pub(crate) trait Database {
    /// The CDN cool-down recorded in freshclam.dat (one more than 48 h away is bogus).
    fn cooldown(&self, now: i64) -> Cooldown;
    /// `(version, build time text, directory)` of the local daily.
    fn local_daily(&self) -> Result<(u32, String, String), CvdError>;
}

/// The built-in check (`heal`, `status`).
pub(crate) trait Checker {
    fn check(&self, now: i64) -> Result<CheckReport, CheckFailed>;
}

/// The check itself failed (it panicked): no verdict, UNKNOWN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("check failed internally")]
pub(crate) struct CheckFailed;

/// What drives `heal` on this machine without a monitor, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HealSchedule {
    /// clamav-freshen-heal.timer under systemd: `systemctl show` of it.
    Timer {
        /// UnitFileState: enabled, disabled, masked, ...
        unit_file_state: String,
        /// ActiveState: active (waiting), inactive, ...
        active_state: String,
        /// NextElapseUSecRealtime, epoch seconds.
        next: Option<i64>,
        /// LastTriggerUSec, epoch seconds.
        last: Option<i64>,
    },
    /// No systemd: the cron entry, and whether it is there.
    Cron { path: String, present: bool },
    /// The service manager could not say.
    Unknown(String),
}

/// The local heal timer (or its cron stand-in).
pub(crate) trait HealTimer {
    fn schedule(&self) -> HealSchedule;
}

/// Everything a subcommand may touch.
pub(crate) struct Ports<'a> {
    pub(crate) audit: &'a dyn Audit,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) svc: &'a dyn ServiceManager,
    pub(crate) freshclam: &'a dyn Freshclam,
    pub(crate) lock: &'a dyn RepairLock,
    pub(crate) state: &'a dyn StateStore,
    pub(crate) monitor: &'a dyn Monitor,
    pub(crate) spawner: &'a dyn Spawner,
    pub(crate) db: &'a dyn Database,
    pub(crate) checker: &'a dyn Checker,
    pub(crate) timer: &'a dyn HealTimer,
    pub(crate) scanner: &'a dyn crate::handler::reload::Scanner,
    /// A stop signal the process received, if any.
    pub(crate) stop: &'a dyn Fn() -> Option<i32>,
}
