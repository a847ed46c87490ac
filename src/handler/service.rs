//! How freshclam runs on this system, and starting/stopping its daemon.

use crate::handler::paths::{Paths, UNIT};
use crate::system::process::{End, clean, run_short};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// clamav-freshclam.service under systemd (PID 1).
    Systemd,
    /// /etc/init.d/clamav-freshclam without systemd.
    SysV,
    /// /etc/cron.d/clamav-freshclam: freshclam runs from cron, no daemon.
    Cron,
    /// No daemon and no cron job found.
    None,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Systemd => "systemd",
            Mode::SysV => "sysv",
            Mode::Cron => "cron",
            Mode::None => "none",
        }
    }
    /// Whether a daemon must be running (and so must be started again after a repair).
    pub(crate) fn has_daemon(self) -> bool {
        matches!(self, Mode::Systemd | Mode::SysV)
    }
}

/// The seam the repair ladder uses; faked in unit tests.
pub(crate) trait ServiceManager {
    fn mode(&self) -> Mode;
    fn is_active(&self) -> bool;
    /// Stops the daemon, giving up after `limit`.
    fn stop(&self, limit: Duration) -> Result<(), String>;
    /// Kills the daemon outright (after a failed stop).
    fn kill(&self) -> Result<(), String>;
    fn start(&self) -> Result<(), String>;
}

/// Detects the mode: cron first (the unit has ConditionPathExists=!cron file), then systemd,
/// then SysV.
pub(crate) fn detect(paths: &Paths) -> (Mode, Option<PathBuf>) {
    let systemctl = paths.systemctl.iter().find(|p| p.is_file()).cloned();
    if paths.cron_file.exists() {
        return (Mode::Cron, systemctl);
    }
    if paths.systemd_is_pid1() {
        // A masked unit (`systemctl mask`: a link to /dev/null) is a daemon the admin turned
        // off: never stop or start it, and do not fall back to its init script either
        // (systemd redirects that to the masked unit).
        let masked = paths
            .unit_dirs
            .iter()
            .any(|u| std::fs::read_link(u).is_ok_and(|t| t == std::path::Path::new("/dev/null")));
        if masked {
            return (Mode::None, systemctl);
        }
        if systemctl.is_some() && paths.unit_dirs.iter().any(|u| u.exists()) {
            return (Mode::Systemd, systemctl);
        }
    }
    if paths.init_script.is_file() {
        return (Mode::SysV, systemctl);
    }
    (Mode::None, systemctl)
}

/// The real service manager: systemctl or the init script.
pub(crate) struct System {
    mode: Mode,
    systemctl: Option<PathBuf>,
    init_script: PathBuf,
    /// Bound on start / is-active / kill calls.
    short: Duration,
}

impl System {
    pub(crate) fn new(paths: &Paths) -> System {
        let (mode, systemctl) = detect(paths);
        System {
            mode,
            systemctl,
            init_script: paths.init_script.clone(),
            short: Duration::from_secs(60),
        }
    }

    fn run(&self, args: &[&str], limit: Duration) -> Result<(), String> {
        let (prog, args): (PathBuf, Vec<&str>) = match self.mode {
            Mode::Systemd => {
                let sc = self.systemctl.clone().ok_or("systemctl not found")?;
                let mut a = vec!["--no-ask-password"];
                a.extend_from_slice(args);
                a.push(UNIT);
                (sc, a)
            }
            Mode::SysV => (self.init_script.clone(), args.to_vec()),
            Mode::Cron | Mode::None => return Err("no daemon".into()),
        };
        let mut cmd = clean(&prog);
        cmd.args(&args);
        match run_short(cmd, limit) {
            Ok((End::Exited(0), _)) => Ok(()),
            Ok((end, first)) if first.is_empty() => Err(end.to_string()),
            Ok((end, first)) => Err(format!("{end}: {first}")),
            Err(e) => Err(format!("cannot run {}: {e}", prog.display())),
        }
    }
}

impl ServiceManager for System {
    fn mode(&self) -> Mode {
        self.mode
    }
    fn is_active(&self) -> bool {
        match self.mode {
            Mode::Systemd => self.run(&["is-active", "--quiet"], self.short).is_ok(),
            Mode::SysV => self.run(&["status"], self.short).is_ok(),
            _ => false,
        }
    }
    fn stop(&self, limit: Duration) -> Result<(), String> {
        self.run(&["stop"], limit)
    }
    fn kill(&self) -> Result<(), String> {
        match self.mode {
            Mode::Systemd => self.run(&["kill", "--signal=KILL"], self.short),
            // SysV has no generic kill; the lock-holder step kills a stuck freshclam.
            _ => Err("no kill for this mode".into()),
        }
    }
    fn start(&self) -> Result<(), String> {
        self.run(&["start"], self.short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn detection_order() {
        let d = tempfile::tempdir().unwrap();
        let p = Paths::under(d.path(), "/x".into());
        assert_eq!(detect(&p).0, Mode::None);
        fs::create_dir_all(p.init_script.parent().unwrap()).unwrap();
        fs::write(&p.init_script, "").unwrap();
        assert_eq!(detect(&p).0, Mode::SysV);
        fs::create_dir_all(&p.systemd_running).unwrap();
        assert_eq!(detect(&p).0, Mode::SysV, "no unit file, no systemctl");
        fs::create_dir_all(p.unit_dirs[1].parent().unwrap()).unwrap();
        fs::write(&p.unit_dirs[1], "").unwrap();
        fs::create_dir_all(p.systemctl[1].parent().unwrap()).unwrap();
        fs::write(&p.systemctl[1], "").unwrap();
        assert_eq!(detect(&p), (Mode::Systemd, Some(p.systemctl[1].clone())));
        fs::create_dir_all(p.unit_dirs[2].parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/dev/null", &p.unit_dirs[2]).unwrap();
        assert_eq!(
            detect(&p).0,
            Mode::None,
            "masked: no daemon to stop or start"
        );
        fs::create_dir_all(p.cron_file.parent().unwrap()).unwrap();
        fs::write(&p.cron_file, "").unwrap();
        assert_eq!(detect(&p).0, Mode::Cron);
    }
}
