//! The real ports: files under /run/clamav-freshen and /var/lib/clamav-freshen, the
//! monitor's command file, the detached worker, the built-in check. Built once in `main`.

use crate::check::plugin::{self, CheckOptions, CheckReport};
use crate::clamav::clamd::{self, ClamdError, Endpoint, Loaded, Peer};
use crate::clamav::freshclam_dat::{Cooldown, FreshclamDat};
use crate::handler::audit::Audit;
use crate::handler::config::Config;
use crate::handler::flight;
use crate::handler::origin::By;
use crate::handler::paths::Paths;
use crate::handler::ports::{
    CheckFailed, Checker, Clock, Database, Held, RepairLock, Spawner, StateStore,
};
use crate::handler::reload::Scanner;
use crate::handler::state::LastRepair;
use crate::nagios::range::Range;
use crate::system;
use crate::system::secure_open::{self, Access, Rules};
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

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
        record.write(&self.0.state_dir, &self.0.state_file)?;
        crate::handler::state::append_history(&self.0.state_dir.join("history"), record)
    }
    fn recent(&self) -> Vec<LastRepair> {
        let euid = nix::unistd::geteuid().as_raw();
        crate::handler::state::read_history(
            &self.0.state_dir.join("history"),
            &Rules::own_file(euid),
        )
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
    fn spawn_worker(&self, lock: &dyn Held, by: By) -> std::io::Result<u32> {
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
        cmd.args(["worker", "--by", by.as_str()])
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
    /// Root's own directory: verified files and the CDN's header are remembered there.
    cache_dir: PathBuf,
}

impl BuiltinCheck {
    pub(crate) fn new(paths: &Paths, cfg: &Config) -> BuiltinCheck {
        let lag = |n: u32| Range {
            start: Some(0.0),
            end: Some(n as f64),
            inside: false,
        };
        BuiltinCheck {
            cache_dir: paths.state_dir.clone(),
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
                // The source is freshclam.conf's, as freshclam's own.
                mirror: None,
                compare_dns: cfg.check_compare_dns,
                ca_file: paths.map(Path::new(crate::mirror::tls::SYSTEM_CA_FILE)),
                last_repair: Some(paths.state_file.clone()),
                // A freshclam repair cannot help a clamd that did not reload: the handler's
                // decisions stay on the files.
                // clamd as root's configuration names it: a clamd that did not load the
                // files is a problem the repair fixes (it reloads clamd).
                // Only where clamav-daemon is installed (its clamd.conf exists).
                clamd: match clamd_socket(paths, cfg) {
                    Ok(Some(e))
                        if std::fs::symlink_metadata(paths.map(&cfg.clamd_conf)).is_ok() =>
                    {
                        crate::check::clamd_view::ClamdOptions::On {
                            conf: paths.map(&cfg.clamd_conf),
                            socket: Some(e),
                            grace: None,
                        }
                    }
                    _ => crate::check::clamd_view::ClamdOptions::Off,
                },
            },
        }
    }
}

impl Checker for BuiltinCheck {
    /// A panic inside the check becomes an error (UNKNOWN) rather than killing an NRPE
    /// command.
    fn check(&self, now: i64) -> Result<CheckReport, CheckFailed> {
        std::panic::catch_unwind(|| plugin::run_with_cache(&self.opts, Some(&self.cache_dir), now))
            .map_err(|_| CheckFailed)
    }
}

/// Root's `clamd_socket`, a Unix path re-rooted in test mode.
fn clamd_socket(paths: &Paths, cfg: &Config) -> Result<Option<Endpoint>, String> {
    cfg.clamd_endpoint()
        .map(|e| {
            e.map(|e| match e {
                Endpoint::Unix(p) => Endpoint::Unix(paths.map(&p)),
                tcp => tcp,
            })
        })
        .map_err(|e| e.to_string())
}

/// Where root talks to clamd and who must answer; `Ok(None)`: no clamd here.
type Target = Result<Option<(Endpoint, Option<Peer>)>, String>;

/// clamd at the endpoint root's configuration names, when clamd.conf (clamav-daemon)
/// exists and names the same one.
pub(crate) struct Clamd {
    conf: std::path::PathBuf,
    endpoint: Result<Option<Endpoint>, String>,
    /// The database owner: clamd's `User` on Debian, the only peer a Unix socket may have.
    owner: String,
    /// The test root (test builds only), under which clamd.conf's socket path is read too.
    root: Option<std::path::PathBuf>,
    target: std::cell::OnceCell<Target>,
}

impl Clamd {
    pub(crate) fn new(paths: &Paths, cfg: &Config) -> Clamd {
        let caller = paths.test_mode_caller();
        Clamd {
            conf: paths.map(&cfg.clamd_conf),
            // Validated when the config was loaded.
            endpoint: clamd_socket(paths, cfg),
            owner: cfg.database_owner(caller.as_deref()),
            root: paths.root.clone(),
            target: std::cell::OnceCell::new(),
        }
    }

    /// The endpoint and its expected peer, worked out once per process (a reload polls
    /// `VERSION` many times; clamd.conf is read for the first question only).
    fn target(&self) -> Target {
        self.target.get_or_init(|| self.read_target()).clone()
    }

    /// The endpoint and its expected peer, once clamd.conf agreed.
    fn read_target(&self) -> Target {
        let Some(ours) = self.endpoint.clone()? else {
            return Ok(None);
        };
        let conf = match crate::clamav::clamd::load_conf(&self.conf) {
            Ok(c) => c,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let theirs = match conf.endpoint {
            // Debian's generated clamd.conf says /var/run/clamav/clamd.ctl; /var/run is
            // the symlink to /run that policy requires.
            Some(Endpoint::Unix(p)) => Some(Endpoint::Unix(crate::handler::paths::reroot(
                self.root.as_deref(),
                &p.strip_prefix("/var/run")
                    .map_or_else(|_| p.clone(), |rest| Path::new("/run").join(rest)),
            ))),
            other => other,
        };
        if theirs.as_ref() != Some(&ours) {
            return Err(format!(
                "{} names {}, not clamd_socket {ours}: not talking to it",
                self.conf.display(),
                theirs.map_or_else(|| "no socket".to_string(), |t| t.to_string())
            ));
        }
        let peer = match ours {
            Endpoint::Unix(_) => Some(Peer {
                uid: crate::handler::scope::resolve_owner(&self.owner)
                    .ok_or_else(|| format!("unknown user {:?}", self.owner))?
                    .uid,
            }),
            Endpoint::Tcp(_) => None,
        };
        Ok(Some((ours, peer)))
    }
}

impl Scanner for Clamd {
    fn endpoint(&self) -> Result<Option<String>, String> {
        Ok(self.target()?.map(|(e, _)| e.to_string()))
    }
    fn loaded(&self, deadline: Instant) -> Result<Loaded, ClamdError> {
        let (e, peer) = self.target_or_err()?;
        clamd::version(&e, peer, deadline)
    }
    fn reload(&self, deadline: Instant) -> Result<(), ClamdError> {
        let (e, peer) = self.target_or_err()?;
        clamd::reload(&e, peer, deadline)
    }
}

impl Clamd {
    fn target_or_err(&self) -> Result<(Endpoint, Option<Peer>), ClamdError> {
        match self.target() {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(ClamdError::Connect {
                endpoint: self.conf.display().to_string(),
                reason: "clamd is not configured".into(),
            }),
            Err(reason) => Err(ClamdError::Connect {
                endpoint: self.conf.display().to_string(),
                reason,
            }),
        }
    }
}
