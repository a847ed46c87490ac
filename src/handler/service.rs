//! How freshclam runs on this system, and starting/stopping its daemon.
//!
//! Under systemd: `systemctl` on clamav-freshclam.service. Without systemd the daemon is
//! managed with start-stop-daemon directly, never through /etc/init.d/clamav-freshclam:
//! that script (Debian's, run as root for start, stop and status alike) exports every key
//! of freshclam.conf, which clamav writes, into its own environment (a `PATH` line makes
//! root run clamav's programs), `touch`es and `chown`s PidFile through whatever is at that
//! path, and starts freshclam with DatabaseOwner from that file. Here the daemon is started
//! as the configured owner (`--chuid`), with the pid file and config from root's
//! configuration, so nothing the clamav user writes is run or followed by root.

use crate::handler::config::Config;
use crate::handler::paths::{Paths, UNIT};
use crate::handler::scope::{Scope, resolve_owner};
use crate::system::process::{End, clean, run_short};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode as FileMode, fstat, fstatat};
use nix::unistd::UnlinkatFlags;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
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

/// Why the daemon could not be stopped, killed or started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The program ran and failed: how it ended, and its first line of output.
    #[error("{end}{}", with_first(.first))]
    Failed { end: End, first: String },
    #[error("cannot run {}: {source}", .program.display())]
    CannotRun {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("no daemon")]
    NoDaemon,
    /// A SysV start with freshclam's pid file failed, and so did one without it.
    #[error("{with}; without a pid file: {without}")]
    PidFile {
        with: Box<ServiceError>,
        without: Box<ServiceError>,
    },
}

fn with_first(first: &str) -> String {
    if first.is_empty() {
        String::new()
    } else {
        format!(": {first}")
    }
}

/// Why readying a daemon file failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrepError {
    /// `mkdir` itself, in the words of the OS error.
    #[error("{}", std::io::Error::from(*.0))]
    Mkdir(Errno),
    #[error(transparent)]
    Sys(#[from] Errno),
    #[error("not ours after mkdir (uid {0})")]
    NotOurs(u32),
}

/// Something done to get the daemon's files ready, for the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prep {
    pub(crate) what: &'static str,
    pub(crate) path: PathBuf,
    pub(crate) detail: String,
    pub(crate) result: Result<(), PrepError>,
}

/// The seam the repair ladder uses; faked in unit tests.
pub(crate) trait ServiceManager {
    fn mode(&self) -> Mode;
    fn is_active(&self) -> bool;
    /// Stops the daemon, giving up after `limit`.
    fn stop(&self, limit: Duration) -> Result<(), ServiceError>;
    /// Kills the daemon outright (after a failed stop).
    fn kill(&self) -> Result<(), ServiceError>;
    fn start(&self) -> Result<(), ServiceError>;
    /// Whether `start` runs the daemon as the database owner whatever freshclam.conf says.
    /// Otherwise (Debian's systemd unit starts freshclam as root, and freshclam drops to
    /// freshclam.conf's DatabaseOwner after chowning its UpdateLogFile) the ladder checks
    /// freshclam.conf again right before starting.
    fn starts_unprivileged(&self) -> bool;
    /// Readies the daemon's files before a stop or start; what was done, for the audit.
    fn prepare(&self) -> Vec<Prep> {
        Vec::new()
    }
    /// The daemon's last log line, to say why it died.
    fn last_words(&self) -> Option<String> {
        None
    }
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

/// Debian 13 has it in /usr/sbin only, Debian 12 in both (merged /usr).
const START_STOP_DAEMON: [&str; 2] = ["/usr/sbin/start-stop-daemon", "/sbin/start-stop-daemon"];
const JOURNALCTL: [&str; 2] = ["/usr/bin/journalctl", "/bin/journalctl"];
/// Bytes read from the end of the update log for its last line.
const LOG_TAIL: u64 = 4096;
/// Longest last-words line kept.
const MAX_LAST_WORDS: usize = 300;

/// The real service manager: systemctl, or start-stop-daemon.
pub(crate) struct System {
    mode: Mode,
    systemctl: Option<PathBuf>,
    start_stop_daemon: Option<PathBuf>,
    journalctl: Option<PathBuf>,
    freshclam: PathBuf,
    freshclam_conf: PathBuf,
    scope: Scope,
    /// Bound on start / is-active / kill calls.
    short: Duration,
}

/// What start-stop-daemon is asked to do.
enum Op {
    /// Start the daemon; `true`: with freshclam's `--pid` file.
    Start(bool),
    Stop(Duration),
    Kill,
    Status,
}

fn first_file(paths: &Paths, candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(|p| paths.map(Path::new(p)))
        .find(|p| p.is_file())
}

impl System {
    pub(crate) fn new(paths: &Paths, cfg: &Config) -> System {
        let (mode, systemctl) = detect(paths);
        System {
            mode,
            systemctl,
            start_stop_daemon: first_file(paths, &START_STOP_DAEMON),
            journalctl: first_file(paths, &JOURNALCTL),
            freshclam: paths.map(&cfg.freshclam),
            freshclam_conf: paths.map(&cfg.freshclam_conf),
            scope: Scope::new(cfg, paths),
            short: Duration::from_secs(60),
        }
    }

    fn systemctl(&self, args: &[&str], limit: Duration) -> Result<(), ServiceError> {
        let sc = self
            .systemctl
            .clone()
            .ok_or(ServiceError::NotFound("systemctl"))?;
        let mut cmd = clean(&sc);
        cmd.arg("--no-ask-password").args(args).arg(UNIT);
        run_ok(cmd, limit, &sc)
    }

    /// start-stop-daemon matching the daemon by its executable and its user, never by the
    /// pid file: that lives in /run/clamav, which the clamav user writes, and a pid file
    /// replanted as a symlink between our clean-up and the call made `--stop` find nothing
    /// (and a second daemon start). freshclam still writes its own `--pid` file.
    fn ssd(&self, op: Op) -> Result<(), ServiceError> {
        let ssd = self
            .start_stop_daemon
            .clone()
            .ok_or(ServiceError::NotFound("start-stop-daemon"))?;
        let mut cmd = clean(&ssd);
        let mut limit = self.short;
        match op {
            Op::Start(_) => cmd.args(["--start", "--oknodo", "--quiet"]),
            Op::Stop(l) => {
                limit = l + Duration::from_secs(10);
                cmd.args(["--stop", "--oknodo", "--quiet", "--retry"])
                    .arg(format!("TERM/{}/KILL/5", l.as_secs().max(1)))
            }
            Op::Kill => cmd.args(["--stop", "--oknodo", "--quiet", "--signal", "KILL"]),
            Op::Status => cmd.arg("--status"),
        };
        cmd.arg("--exec")
            .arg(&self.freshclam)
            .arg("--user")
            .arg(&self.scope.database_owner);
        if let Op::Start(with_pid) = op {
            cmd.arg("--chuid")
                .arg(&self.scope.database_owner)
                .arg("--")
                .args(["-d", "--quiet"])
                .arg(format!("--config-file={}", self.freshclam_conf.display()));
            if with_pid {
                cmd.arg(format!("--pid={}", self.scope.pid_file.display()));
            }
        }
        run_ok(cmd, limit, &ssd)
    }
}

fn run_ok(cmd: std::process::Command, limit: Duration, prog: &Path) -> Result<(), ServiceError> {
    match run_short(cmd, limit) {
        Ok((End::Exited(0), _)) => Ok(()),
        Ok((end, first)) => Err(ServiceError::Failed { end, first }),
        Err(source) => Err(ServiceError::CannotRun {
            program: prog.to_path_buf(),
            source,
        }),
    }
}

impl ServiceManager for System {
    fn mode(&self) -> Mode {
        self.mode
    }
    fn is_active(&self) -> bool {
        match self.mode {
            Mode::Systemd => self
                .systemctl(&["is-active", "--quiet"], self.short)
                .is_ok(),
            Mode::SysV => self.ssd(Op::Status).is_ok(),
            _ => false,
        }
    }
    fn stop(&self, limit: Duration) -> Result<(), ServiceError> {
        match self.mode {
            Mode::Systemd => self.systemctl(&["stop"], limit),
            Mode::SysV => self.ssd(Op::Stop(limit)),
            _ => Err(ServiceError::NoDaemon),
        }
    }
    fn kill(&self) -> Result<(), ServiceError> {
        match self.mode {
            Mode::Systemd => self.systemctl(&["kill", "--signal=KILL"], self.short),
            Mode::SysV => self.ssd(Op::Kill),
            _ => Err(ServiceError::NoDaemon),
        }
    }
    fn start(&self) -> Result<(), ServiceError> {
        match self.mode {
            Mode::Systemd => self.systemctl(&["start"], self.short),
            // freshclam, run as the owner, refuses to start when it cannot write its pid
            // file, and the clamav user can keep planting a symlink there: then the daemon
            // starts without one (the handler finds it by executable and user anyway).
            Mode::SysV => self.ssd(Op::Start(true)).or_else(|with| {
                self.ssd(Op::Start(false))
                    .map_err(|without| ServiceError::PidFile {
                        with: Box::new(with),
                        without: Box::new(without),
                    })
            }),
            _ => Err(ServiceError::NoDaemon),
        }
    }
    fn starts_unprivileged(&self) -> bool {
        self.mode == Mode::SysV
    }
    fn prepare(&self) -> Vec<Prep> {
        if self.mode != Mode::SysV {
            return Vec::new();
        }
        let owner = resolve_owner(&self.scope.database_owner);
        let mut out = Vec::new();
        if let Some(p) = ensure_pid_dir(&self.scope.pid_file, owner.map(|o| (o.uid, o.gid))) {
            out.push(p);
        }
        // Unknown owner: only root's own files are kept.
        if let Some(p) = clear_pid_file(&self.scope.pid_file, owner.map_or(0, |o| o.uid)) {
            out.push(p);
        }
        out
    }
    fn last_words(&self) -> Option<String> {
        match self.mode {
            Mode::Systemd => {
                let j = self.journalctl.as_ref()?;
                let mut cmd = clean(j);
                cmd.args(["-u", UNIT, "-n", "1", "-o", "cat", "--no-pager"]);
                let (_, first) = run_short(cmd, Duration::from_secs(10)).ok()?;
                bounded(&first)
            }
            Mode::SysV => last_line(self.scope.update_log_file.as_deref()?),
            _ => None,
        }
    }
}

fn bounded(line: &str) -> Option<String> {
    let line = line.trim();
    (!line.is_empty()).then(|| line.chars().take(MAX_LAST_WORDS).collect())
}

/// The last non-empty line of `path`, read without following a symlink and only from a
/// regular file (the log is clamav's: a FIFO there must not hang root), at most the last
/// [`LOG_TAIL`] bytes.
pub(crate) fn last_line(path: &Path) -> Option<String> {
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        FileMode::empty(),
    )
    .ok()?;
    let st = fstat(&fd).ok()?;
    if st.st_mode & nix::libc::S_IFMT != nix::libc::S_IFREG {
        return None;
    }
    let mut f = std::fs::File::from(fd);
    let size = st.st_size.max(0) as u64;
    f.seek(SeekFrom::Start(size.saturating_sub(LOG_TAIL)))
        .ok()?;
    let mut buf = Vec::new();
    f.take(LOG_TAIL).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    bounded(text.lines().rev().find(|l| !l.trim().is_empty())?)
}

/// /run is a tmpfs: after a boot the pid file's directory may be missing (Debian's init
/// script makes it). Created 0755 for the owner, only when absent; an existing one is left
/// as it is.
fn ensure_pid_dir(pid_file: &Path, owner: Option<(u32, u32)>) -> Option<Prep> {
    let dir = pid_file.parent()?;
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        _ => return None,
    }
    let made = nix::unistd::mkdir(dir, FileMode::from_bits_truncate(0o755));
    let result = made.map_err(PrepError::Mkdir).and_then(|()| {
        let Some((uid, gid)) = owner else {
            return Ok(());
        };
        // Chown what we made, checked on the fd: should someone have swapped it for their
        // own in between, it is theirs, not root's, and is left alone.
        let fd = nix::fcntl::open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            FileMode::empty(),
        )?;
        let st = fstat(&fd)?;
        if st.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(PrepError::NotOurs(st.st_uid));
        }
        nix::unistd::fchown(
            &fd,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        )?;
        Ok(())
    });
    Some(Prep {
        what: "pid-dir",
        path: dir.to_path_buf(),
        detail: "created".into(),
        result,
    })
}

/// start-stop-daemon reads the pid file as root: anything there that is not a regular file
/// of root or the owner with a single link (a symlink, FIFO, device, directory, someone
/// else's file) is removed first, through its directory's fd, never following a link (the
/// directory is clamav's on Debian). Nothing else is done to the pid file by root.
fn clear_pid_file(pid_file: &Path, owner_uid: u32) -> Option<Prep> {
    let dir = pid_file.parent()?;
    let name = pid_file.file_name()?;
    let dirfd = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        FileMode::empty(),
    )
    .ok()?;
    let st = fstatat(&dirfd, name, AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
    let fmt = st.st_mode & nix::libc::S_IFMT;
    let regular = fmt == nix::libc::S_IFREG;
    if regular && (st.st_uid == 0 || st.st_uid == owner_uid) && st.st_nlink == 1 {
        return None;
    }
    let kind = match fmt {
        nix::libc::S_IFREG if st.st_nlink > 1 => "hardlinked file",
        nix::libc::S_IFREG => "file",
        nix::libc::S_IFDIR => "directory",
        nix::libc::S_IFLNK => "symlink",
        nix::libc::S_IFIFO => "fifo",
        nix::libc::S_IFSOCK => "socket",
        _ => "device",
    };
    let flag = if fmt == nix::libc::S_IFDIR {
        UnlinkatFlags::RemoveDir
    } else {
        UnlinkatFlags::NoRemoveDir
    };
    let result = nix::unistd::unlinkat(&dirfd, name, flag).map_err(PrepError::Sys);
    Some(Prep {
        what: "pid-file",
        path: pid_file.to_path_buf(),
        detail: format!("removed {kind} of uid {}", st.st_uid),
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};

    #[test]
    fn error_texts() {
        let failed = |end, first: &str| ServiceError::Failed {
            end,
            first: first.into(),
        };
        assert_eq!(failed(End::Exited(1), "").to_string(), "exit 1");
        assert_eq!(
            failed(End::Exited(1), "Failed to stop x.service").to_string(),
            "exit 1: Failed to stop x.service"
        );
        let e = ServiceError::PidFile {
            with: Box::new(failed(End::Exited(2), "no pid file")),
            without: Box::new(ServiceError::NotFound("start-stop-daemon")),
        };
        assert_eq!(
            e.to_string(),
            "exit 2: no pid file; without a pid file: start-stop-daemon not found"
        );
        assert_eq!(
            PrepError::Mkdir(Errno::EEXIST).to_string(),
            std::io::Error::from_raw_os_error(nix::libc::EEXIST).to_string()
        );
        assert_eq!(
            PrepError::Sys(Errno::EPERM).to_string(),
            Errno::EPERM.to_string()
        );
    }

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

    #[test]
    fn foreign_pid_files_removed_without_following() {
        let d = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let pid = d.path().join("freshclam.pid");
        let target = d.path().join("target");
        fs::write(&target, "precious").unwrap();

        assert_eq!(clear_pid_file(&pid, me), None, "absent: nothing to do");
        fs::write(&pid, "123\n").unwrap();
        assert_eq!(
            clear_pid_file(&pid, me),
            None,
            "the owner's regular file stays"
        );
        fs::remove_file(&pid).unwrap();

        symlink(&target, &pid).unwrap();
        let p = clear_pid_file(&pid, me).unwrap();
        assert_eq!((p.what, p.result.clone()), ("pid-file", Ok(())));
        assert!(p.detail.starts_with("removed symlink"), "{}", p.detail);
        assert!(fs::symlink_metadata(&pid).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");

        nix::unistd::mkfifo(&pid, FileMode::from_bits_truncate(0o644)).unwrap();
        assert!(
            clear_pid_file(&pid, me)
                .unwrap()
                .detail
                .starts_with("removed fifo")
        );
        fs::create_dir(&pid).unwrap();
        assert!(clear_pid_file(&pid, me).unwrap().result.is_ok());
        assert!(!pid.exists());

        fs::hard_link(&target, &pid).unwrap();
        let p = clear_pid_file(&pid, me).unwrap();
        assert!(
            p.detail.starts_with("removed hardlinked file"),
            "{}",
            p.detail
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(fs::metadata(&target).unwrap().nlink(), 1);
    }

    #[test]
    fn pid_dir_created_only_when_missing() {
        let d = tempfile::tempdir().unwrap();
        let pid = d.path().join("run/clamav/freshclam.pid");
        let p = ensure_pid_dir(&pid, None).unwrap();
        assert!(p.result.is_err(), "its parent is missing: not made either");
        fs::create_dir(d.path().join("run")).unwrap();
        let me = (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
        let p = ensure_pid_dir(&pid, Some(me)).unwrap();
        assert_eq!(p.result, Ok(()));
        let md = fs::metadata(pid.parent().unwrap()).unwrap();
        assert_eq!((md.uid(), md.mode() & 0o7777), (me.0, 0o755));
        assert!(
            ensure_pid_dir(&pid, Some(me)).is_none(),
            "exists: left alone"
        );
    }

    #[test]
    fn last_line_is_read_safely() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("freshclam.log");
        fs::write(
            &log,
            format!("{}\nfirst\nERROR: last words\n\n", "x".repeat(10_000)),
        )
        .unwrap();
        assert_eq!(last_line(&log).as_deref(), Some("ERROR: last words"));
        fs::write(&log, "y".repeat(10_000)).unwrap();
        assert_eq!(last_line(&log).unwrap().len(), MAX_LAST_WORDS);
        let link = d.path().join("link");
        symlink(&log, &link).unwrap();
        assert_eq!(last_line(&link), None);
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, FileMode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(last_line(&fifo), None, "no hang on a FIFO");
        assert_eq!(last_line(&d.path().join("missing")), None);
    }
}
