//! Running freshclam, naming its exit codes, finding processes that hold its log lock.

use crate::system::process::{Credentials, End, clean, run_as, run_lines};
use nix::errno::Errno;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// freshclam's exit codes (clamav 1.4 `freshclam --help` / libfreshclam `fc_error_t`).
pub(crate) fn exit_name(code: i32) -> &'static str {
    match code {
        0 => "ok",
        2 => "init (log file locked?)",
        3 => "directory",
        4 => "file",
        5 => "connection",
        6 => "empty file",
        7 => "bad CVD",
        8 => "test failed",
        9 => "config",
        10 => "db dir access",
        11 => "failed get",
        12 => "mirror not in sync",
        13 => "logging",
        14 => "failed update",
        15 => "memory",
        16 => "argument",
        17 => "forbidden",
        18 => "retry later",
        19 => "other",
        _ => "unknown",
    }
}

/// freshclam could not be run at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot run {}: {source}", .program.display())]
pub(crate) struct RunError {
    pub(crate) program: PathBuf,
    pub(crate) source: std::io::Error,
}

/// The seam for the ladder: running freshclam and dealing with stray instances.
///
/// `user`: the database owner freshclam runs as (`None`: as we are, when we are that user
/// already). Run as root, freshclam would act on freshclam.conf, which clamav writes: lchown
/// UpdateLogFile to DatabaseOwner before dropping to it, stay root with `DatabaseOwner
/// root`, run OnUpdateExecute/OnErrorExecute/OnOutdatedExecute as that user.
pub(crate) trait Freshclam {
    /// freshclam's own parser on freshclam.conf: `freshclam --config-file=F --version`
    /// exits 2 with `Parse error at F:LINE: ...` and touches nothing; on success it prints
    /// the version (`ClamAV 1.4.6`). The end and the first lines of its output.
    fn config_check(&self, user: Option<Credentials>) -> (End, Vec<String>);
    /// Runs freshclam once within `limit` (and the configured freshclam time limit); every
    /// output line goes to `on_line`.
    fn run(
        &self,
        limit: Duration,
        user: Option<Credentials>,
        stop: &dyn Fn() -> Option<i32>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<End, RunError>;
    /// Kills freshclam processes holding a lock on `log`; returns (pid, result) per holder.
    fn kill_lock_holders(&self, log: &Path) -> Vec<(i32, Result<(), Errno>)>;
}

pub(crate) struct Real {
    pub(crate) program: PathBuf,
    pub(crate) conf: PathBuf,
    pub(crate) limit: Duration,
    pub(crate) grace: Duration,
}

/// Output lines kept from `freshclam --version` for the pre-flight.
const CONFIG_CHECK_LINES: usize = 16;

impl Freshclam for Real {
    fn config_check(&self, user: Option<Credentials>) -> (End, Vec<String>) {
        let mut c = clean(&self.program);
        c.arg("--version")
            .arg(format!("--config-file={}", self.conf.display()));
        if let Some(u) = user {
            run_as(&mut c, u);
        }
        let mut lines = Vec::new();
        let end = run_lines(
            c,
            Duration::from_secs(10),
            Duration::from_secs(1),
            &|| None,
            &mut |l| {
                if lines.len() < CONFIG_CHECK_LINES {
                    lines.push(l.chars().take(400).collect());
                }
            },
        );
        match end {
            Ok(end) => (end, lines),
            Err(e) => (
                End::Exited(127),
                vec![format!("ERROR: cannot run {}: {e}", self.program.display())],
            ),
        }
    }

    fn run(
        &self,
        limit: Duration,
        user: Option<Credentials>,
        stop: &dyn Fn() -> Option<i32>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<End, RunError> {
        let mut c = clean(&self.program);
        c.arg(format!("--config-file={}", self.conf.display()));
        if let Some(u) = user {
            run_as(&mut c, u);
        }
        run_lines(c, self.limit.min(limit), self.grace, stop, on_line).map_err(|source| RunError {
            program: self.program.clone(),
            source,
        })
    }

    fn kill_lock_holders(&self, log: &Path) -> Vec<(i32, Result<(), Errno>)> {
        let Ok(md) = std::fs::symlink_metadata(log) else {
            return Vec::new();
        };
        let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
        let me = std::process::id() as i32;
        holders(&locks, md.dev(), md.ino())
            .into_iter()
            .filter(|&pid| pid != me)
            .filter(|&pid| is_program(pid, &self.program))
            .map(|pid| {
                let r = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                (pid, r)
            })
            .collect()
    }
}

/// `ClamAV 1.4.6/27472/...` → (1, 4, 6).
pub(crate) fn parse_version(line: &str) -> Option<(u32, u32, u32)> {
    let v = line.strip_prefix("ClamAV ")?.split('/').next()?;
    let mut it = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
    ))
}

/// PIDs holding any lock on the file with `dev`/`ino`, from /proc/locks lines like
/// `1: POSIX  ADVISORY  WRITE 1234 08:01:123456 0 EOF` (device in hex major:minor).
pub(crate) fn holders(proc_locks: &str, dev: u64, ino: u64) -> Vec<i32> {
    let (maj, min) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let mut pids: Vec<i32> = proc_locks
        .lines()
        .filter_map(|l| {
            // "->" marks a blocked waiter; skip it (it holds nothing).
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.get(1) == Some(&"->") {
                return None;
            }
            let pid: i32 = f.get(4)?.parse().ok()?;
            let mut id = f.get(5)?.split(':');
            let m = u64::from_str_radix(id.next()?, 16).ok()?;
            let n = u64::from_str_radix(id.next()?, 16).ok()?;
            let i: u64 = id.next()?.parse().ok()?;
            (m == maj && n == min && i == ino && pid > 0).then_some(pid)
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Whether `pid` runs `program`: its exe, or argv[0]/argv[1] (a script run by its
/// interpreter) is that exact path. Anything else is never killed.
pub(crate) fn is_program(pid: i32, program: &Path) -> bool {
    if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == program) {
        return true;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = program.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).take(2).any(|a| a == want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(exit_name(17), "forbidden");
        assert_eq!(exit_name(2), "init (log file locked?)");
        assert_eq!(exit_name(42), "unknown");
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("ClamAV 1.4.6/27472/Mon Nov 25 09:00:00 2024"),
            Some((1, 4, 6))
        );
        assert_eq!(parse_version("ClamAV 0.102.4"), Some((0, 102, 4)));
        assert_eq!(parse_version("ClamAV 1.0.0-rc/1"), Some((1, 0, 0)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn proc_locks_parsing() {
        let dev = nix::sys::stat::makedev(8, 1);
        let text = "1: POSIX  ADVISORY  WRITE 1234 08:01:555 0 EOF\n\
                    1: -> POSIX  ADVISORY  WRITE 999 08:01:555 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 77 08:01:556 0 EOF\n\
                    3: POSIX  ADVISORY  READ 88 00:1a:555 0 EOF\n\
                    4: OFDLCK ADVISORY  WRITE -1 08:01:555 0 EOF\n";
        assert_eq!(holders(text, dev, 555), vec![1234]);
        assert_eq!(holders("", dev, 555), Vec::<i32>::new());
    }

    #[test]
    fn is_program_matches_exact_path_only() {
        let me = std::process::id() as i32;
        let exe = std::env::current_exe().unwrap();
        assert!(is_program(me, &exe));
        assert!(!is_program(me, Path::new("/usr/bin/freshclam")));
    }
}
