//! The real ports: files under /run/clamav-freshen and /var/lib/clamav-freshen, the
//! monitor's command file, the detached worker, the built-in check. Built once in `main`.

use crate::check::plugin::{self, CheckOptions, CheckReport};
use crate::clamav::freshclam_dat::{Cooldown, FreshclamDat};
use crate::handler::audit::Audit;
use crate::handler::config::Config;
use crate::handler::flight;
use crate::handler::paths::Paths;
use crate::handler::ports::{
    CheckFailed, Checker, Clock, Database, Held, Monitor, RepairLock, Spawner, StateStore,
};
use crate::handler::state::LastRepair;
use crate::nagios::command_file::{self, Submit};
use crate::nagios::range::Range;
use crate::system;
use crate::system::secure_open::{self, Access, Rules};
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// worker.log is emptied at the next spawn once it grows past the bound the worker keeps
/// while writing.
const MAX_WORKER_LOG: u64 = crate::handler::audit::MAX_STDERR_FILE;

pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

impl Held for File {
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.as_raw_fd())
    }
    fn record_holder(&self) {
        flight::record_holder(self);
    }
}

/// The flock on /run/clamav-freshen/repair.lock and the daemon-stopped marker.
pub(crate) struct LockFile<'a>(pub(crate) &'a Paths);

impl RepairLock for LockFile<'_> {
    fn acquire(&self) -> std::io::Result<Option<Box<dyn Held>>> {
        Ok(
            flight::acquire_unless_repairing(&self.0.run_dir, &self.0.lock)?
                .map(|f| Box::new(f) as Box<dyn Held>),
        )
    }
    fn try_acquire(&self) -> std::io::Result<Option<Box<dyn Held>>> {
        Ok(flight::try_acquire(&self.0.run_dir, &self.0.lock)?
            .map(|f| Box::new(f) as Box<dyn Held>))
    }
    fn holder_pid(&self) -> Option<i32> {
        flight::holder_pid(&self.0.lock)
    }
    fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            // Taken and released at once: a free lock means the repair is over.
            if matches!(self.try_acquire(), Ok(Some(_))) {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
    }
    fn marker_present(&self) -> bool {
        flight::marker_present(&self.0.marker)
    }
}

/// /var/lib/clamav-freshen/last-repair.
pub(crate) struct StateFile<'a>(pub(crate) &'a Paths);

impl StateStore for StateFile<'_> {
    fn last(&self) -> Option<LastRepair> {
        LastRepair::read(&self.0.state_file)
    }
    fn save(&self, record: &LastRepair) -> std::io::Result<()> {
        record.write(&self.0.state_dir, &self.0.state_file)
    }
}

/// Nagios's external command file (a FIFO; never blocks without a reader).
pub(crate) struct NagiosCommandFile<'a> {
    pub(crate) paths: &'a Paths,
    pub(crate) cfg: &'a Config,
}

impl Monitor for NagiosCommandFile<'_> {
    fn request_recheck(&self, now: i64) -> (String, String) {
        let file = self.paths.map(&self.cfg.nagios_command_file);
        let sent =
            match command_file::submit(&file, &self.cfg.nagios_host, &self.cfg.nagios_service, now)
            {
                Submit::Sent => "sent".to_string(),
                Submit::Absent => "skipped: no command file".to_string(),
                Submit::Failed(e) => format!("error: {e}"),
            };
        (sent, file.display().to_string())
    }
}

/// `<self> worker` in a new session (a transient scope under systemd), the lock on fd 3,
/// stdin/stdout on /dev/null, stderr appended to worker.log.
pub(crate) struct Worker<'a> {
    pub(crate) paths: &'a Paths,
    pub(crate) audit: &'a dyn Audit,
    pub(crate) clock: &'a dyn Clock,
}

impl Spawner for Worker<'_> {
    fn spawn_worker(&self, lock: &dyn Held) -> std::io::Result<u32> {
        let p = self.paths;
        let Some(fd) = lock.raw_fd() else {
            return Err(std::io::Error::other(
                "the lock has no descriptor to hand on",
            ));
        };
        let mut cmd = if p.systemd_is_pid1() && p.systemd_run.is_file() {
            let mut c = std::process::Command::new(&p.systemd_run);
            c.args(["--scope", "--quiet", "--collect"])
                // pid and time: unique even if a scope of a reused pid lingers.
                .arg(format!(
                    "--unit=clamav-freshen-repair-{}-{}",
                    std::process::id(),
                    self.clock.now()
                ))
                .arg("--")
                .arg(&p.self_exe);
            c
        } else {
            std::process::Command::new(&p.self_exe)
        };
        cmd.arg("worker")
            .env_clear()
            .env("PATH", system::process::CLEAN_PATH)
            .current_dir("/");
        #[cfg(feature = "test-root")]
        if let Some(root) = &p.root {
            cmd.env(crate::handler::paths::TEST_ROOT_ENV, root);
        }
        // The worker's stderr keeps what syslog could not take; without it the repair
        // still runs (stderr to /dev/null), it is only less talkative.
        let owner = nix::unistd::geteuid().as_raw();
        let log: Stdio = match secure_open::open(
            &p.worker_log,
            Access::Append(0o600),
            &Rules::own_file(owner),
        ) {
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
        system::detach_with_lock(&mut cmd, fd);
        // The child is reparented to init once we exit; it is never waited for.
        let child = cmd.spawn()?;
        Ok(child.id())
    }
}

/// The database directory root's configuration names (never freshclam.conf's, which the
/// clamav user writes).
pub(crate) struct DatabaseDir<'a> {
    pub(crate) paths: &'a Paths,
    pub(crate) cfg: &'a Config,
    pub(crate) audit: &'a dyn Audit,
}

impl DatabaseDir<'_> {
    fn dir(&self) -> std::path::PathBuf {
        self.paths.map(&self.cfg.database_directory)
    }
}

impl Database for DatabaseDir<'_> {
    fn cooldown(&self, now: i64) -> Cooldown {
        match FreshclamDat::read(&self.dir()) {
            Ok(Some(dat)) => dat.cooldown(now),
            Ok(None) => Cooldown::None,
            Err(e) => {
                self.audit
                    .event("freshclam-dat", &[("result", &format!("unreadable: {e}"))]);
                Cooldown::None
            }
        }
    }

    fn local_daily(&self) -> Result<(u32, String, String), crate::clamav::cvd::CvdError> {
        let dir = self.dir();
        let l = crate::clamav::cvd::local_daily(&dir)?;
        Ok((
            l.header.version,
            l.header.build_time,
            dir.display().to_string(),
        ))
    }
}

/// The plugin's check, in-process, with the handler's thresholds.
pub(crate) struct BuiltinCheck {
    opts: CheckOptions,
}

impl BuiltinCheck {
    pub(crate) fn new(paths: &Paths, cfg: &Config) -> BuiltinCheck {
        let lag = |n: u32| Range {
            start: Some(0.0),
            end: Some(n as f64),
            inside: false,
        };
        BuiltinCheck {
            opts: CheckOptions {
                freshclam_conf: paths.map(&cfg.freshclam_conf),
                database_dir: None,
                dns_name: None,
                // Validated when the config was loaded.
                server: cfg.dns_server().ok().flatten(),
                resolv_conf: paths.map(Path::new(crate::defaults::RESOLV_CONF)),
                timeout: Duration::from_secs(cfg.check_timeout_secs),
                warning: lag(cfg.warning_lag.saturating_sub(1)),
                critical: lag(cfg.critical_lag.saturating_sub(1)),
                max_age: Duration::from_secs(cfg.max_age_hours * 3600),
                last_repair: Some(paths.state_file.clone()),
            },
        }
    }
}

impl Checker for BuiltinCheck {
    /// A panic inside the check becomes an error (UNKNOWN) rather than killing an NRPE
    /// command.
    fn check(&self, now: i64) -> Result<CheckReport, CheckFailed> {
        std::panic::catch_unwind(|| plugin::run(&self.opts, now)).map_err(|_| CheckFailed)
    }
}
