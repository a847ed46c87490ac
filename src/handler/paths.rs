//! Every path and program the handler touches, in one place.
//!
//! Production uses fixed absolute paths (`Paths::system`). Test mode re-roots every one of
//! them under a directory (`Paths::under`), so the hermetic tests exercise the same code.
//! Test mode exists only in builds with the cargo feature `test-root`, which `cargo deb`
//! never enables: the shipped binary reads no variable at all (the package test checks
//! that the variable's name is not in it).

use crate::defaults;
use std::path::{Path, PathBuf};

/// Env var selecting test mode; honoured only for an unprivileged, non-sudo caller.
#[cfg(feature = "test-root")]
pub(crate) const TEST_ROOT_ENV: &str = "CLAMAV_FRESHEN_TEST_ROOT";
/// Where the handler itself is installed; what the worker is started from in production.
pub(crate) const SELF_EXE: &str = defaults::SELF_EXE;
pub(crate) const UNIT: &str = "clamav-freshclam.service";
/// Our own timer that runs `heal` without a monitor (systemd).
pub(crate) const HEAL_TIMER: &str = "clamav-freshen-heal.timer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    /// `None` in production; the test root otherwise.
    pub(crate) root: Option<PathBuf>,
    pub(crate) config: PathBuf,
    /// Icinga 2's API for the re-check (root's secret file; absent: the command file only).
    pub(crate) icinga_api: PathBuf,
    pub(crate) run_dir: PathBuf,
    pub(crate) lock: PathBuf,
    /// Present while the worker has the daemon stopped; survives a SIGKILLed worker.
    pub(crate) marker: PathBuf,
    pub(crate) worker_log: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) state_file: PathBuf,
    pub(crate) dev_log: PathBuf,
    /// Exists when systemd is PID 1.
    pub(crate) systemd_running: PathBuf,
    pub(crate) unit_dirs: [PathBuf; 3],
    pub(crate) systemctl: [PathBuf; 2],
    pub(crate) systemd_run: PathBuf,
    pub(crate) init_script: PathBuf,
    pub(crate) cron_file: PathBuf,
    /// Our cron entry that runs `heal` where systemd is not PID 1.
    pub(crate) heal_cron: PathBuf,
    pub(crate) dev_null: PathBuf,
    /// The program the detached worker is started from.
    pub(crate) self_exe: PathBuf,
}

impl Paths {
    pub(crate) fn system() -> Paths {
        Self::build(None, PathBuf::from(SELF_EXE))
    }

    /// Test layout: each absolute path P becomes `<root>/P`. The worker is the running
    /// binary (the test build), which is acceptable only because test mode is never
    /// honoured for a privileged or sudo caller.
    #[cfg(any(test, feature = "test-root"))]
    pub(crate) fn under(root: &Path, self_exe: PathBuf) -> Paths {
        Self::build(Some(root.to_path_buf()), self_exe)
    }

    fn build(root: Option<PathBuf>, self_exe: PathBuf) -> Paths {
        let p = |s: &str| reroot(root.as_deref(), Path::new(s));
        Paths {
            config: p(defaults::CONFIG),
            icinga_api: p(defaults::ICINGA_API_FILE),
            run_dir: p(defaults::RUN_DIR),
            lock: p("/run/clamav-freshen/repair.lock"),
            marker: p("/run/clamav-freshen/daemon-stopped"),
            worker_log: p("/run/clamav-freshen/worker.log"),
            state_dir: p(defaults::STATE_DIR),
            state_file: p("/var/lib/clamav-freshen/last-repair"),
            dev_log: p("/dev/log"),
            systemd_running: p("/run/systemd/system"),
            unit_dirs: [
                p(&format!("/lib/systemd/system/{UNIT}")),
                p(&format!("/usr/lib/systemd/system/{UNIT}")),
                p(&format!("/etc/systemd/system/{UNIT}")),
            ],
            systemctl: [p("/usr/bin/systemctl"), p("/bin/systemctl")],
            systemd_run: p("/usr/bin/systemd-run"),
            init_script: p("/etc/init.d/clamav-freshclam"),
            cron_file: p("/etc/cron.d/clamav-freshclam"),
            heal_cron: p("/etc/cron.d/clamav-freshen"),
            // /dev/null stays real: re-rooting it would gain nothing and break redirection.
            dev_null: PathBuf::from("/dev/null"),
            self_exe,
            root,
        }
    }

    /// Re-roots an absolute path taken from the config (freshclam, freshclam.conf, nagios.cmd).
    pub(crate) fn map(&self, p: &Path) -> PathBuf {
        reroot(self.root.as_deref(), p)
    }

    /// In test mode, the caller's user name (who stands in for the database owner); `None`
    /// in production.
    pub(crate) fn test_mode_caller(&self) -> Option<String> {
        self.root.as_ref().map(|_| {
            uzers::get_effective_username()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "root".into())
        })
    }

    pub(crate) fn systemd_is_pid1(&self) -> bool {
        self.systemd_running.is_dir()
    }

    /// Who must own the configuration file: root, or in test mode the test's own user.
    pub(crate) fn owner_uid(&self) -> u32 {
        if self.root.is_some() {
            nix::unistd::geteuid().as_raw()
        } else {
            0
        }
    }

    /// The production paths; with the `test-root` feature, the test root when that is
    /// allowed. `Err` is why it is not.
    #[cfg(not(feature = "test-root"))]
    pub(crate) fn select() -> Result<Paths, TestRootRefused> {
        Ok(Paths::system())
    }

    #[cfg(feature = "test-root")]
    pub(crate) fn select() -> Result<Paths, TestRootRefused> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let Some(root) = std::env::var_os(TEST_ROOT_ENV) else {
            return Ok(Paths::system());
        };
        let under_sudo = std::env::vars_os().any(|(k, _)| k.as_bytes().starts_with(b"SUDO_"));
        if under_sudo
            || nix::unistd::getuid() != nix::unistd::geteuid()
            || nix::unistd::getgid() != nix::unistd::getegid()
            || crate::system::secure_exec()
        {
            return Err(TestRootRefused::Privileged);
        }
        let root = Path::new(&root);
        if !root.is_absolute() || !root.is_dir() {
            return Err(TestRootRefused::NoDirectory);
        }
        // The root decides which programs run, so it must be ours and closed to others,
        // like the config file.
        let md = std::fs::symlink_metadata(root).map_err(TestRootRefused::Stat)?;
        if !md.is_dir() || md.uid() != nix::unistd::geteuid().as_raw() || md.mode() & 0o022 != 0 {
            return Err(TestRootRefused::NotClosed);
        }
        let exe = std::env::current_exe().map_err(TestRootRefused::OwnExecutable)?;
        Ok(Paths::under(root, exe))
    }
}

/// Why the test root is not honoured. Production builds have no test root: nothing to
/// refuse.
#[cfg(not(feature = "test-root"))]
pub(crate) type TestRootRefused = std::convert::Infallible;

/// Why the test root is not honoured.
#[cfg(feature = "test-root")]
#[derive(Debug, thiserror::Error)]
pub(crate) enum TestRootRefused {
    #[error("{TEST_ROOT_ENV} is not honoured under sudo or setuid")]
    Privileged,
    #[error("{TEST_ROOT_ENV} must name an existing absolute directory")]
    NoDirectory,
    #[error("{TEST_ROOT_ENV}: {0}")]
    Stat(std::io::Error),
    #[error("{TEST_ROOT_ENV} must be a directory owned by the caller and not group/world-writable")]
    NotClosed,
    #[error("cannot find own executable: {0}")]
    OwnExecutable(std::io::Error),
}

pub(crate) fn reroot(root: Option<&Path>, p: &Path) -> PathBuf {
    match root {
        None => p.to_path_buf(),
        Some(r) => r.join(p.strip_prefix("/").unwrap_or(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_are_absolute_and_fixed() {
        let p = Paths::system();
        assert_eq!(
            p.config,
            Path::new("/etc/clamav-freshen/clamav-freshen.toml")
        );
        assert_eq!(p.self_exe, Path::new(SELF_EXE));
        assert_eq!(
            p.map(Path::new("/usr/bin/freshclam")),
            Path::new("/usr/bin/freshclam")
        );
    }

    #[test]
    fn test_root_reroots_everything() {
        let p = Paths::under(Path::new("/tmp/r"), PathBuf::from("/x/self"));
        assert_eq!(p.lock, Path::new("/tmp/r/run/clamav-freshen/repair.lock"));
        assert_eq!(p.dev_log, Path::new("/tmp/r/dev/log"));
        assert_eq!(
            p.map(Path::new("/usr/bin/freshclam")),
            Path::new("/tmp/r/usr/bin/freshclam")
        );
        for d in &p.unit_dirs {
            assert!(d.starts_with("/tmp/r"));
        }
    }
}
