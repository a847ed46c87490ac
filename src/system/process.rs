//! Running programs as root: absolute paths only, a clean environment, no stdin, a time
//! limit, and each child in its own process group so a timeout kills the whole tree.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The only PATH children see; the caller's environment never reaches them.
pub(crate) const CLEAN_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// Longest output line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 4096;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Exited(i32),
    Signaled(i32),
    /// The time limit passed; the group got SIGTERM then SIGKILL.
    TimedOut,
    /// A stop signal reached us; the group was killed.
    Interrupted(i32),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(c) => write!(f, "exit {c}"),
            End::Signaled(s) => write!(f, "killed by signal {s}"),
            End::TimedOut => f.write_str("timed out"),
            End::Interrupted(s) => write!(f, "interrupted by signal {s}"),
        }
    }
}

/// A user to run a child as: its uid and primary gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// Makes `cmd` drop to `who` between fork and exec: std sets the group, clears the
/// supplementary groups (setgroups(0), since none are given) and sets all three uids, so
/// the child can never regain root.
pub(crate) fn run_as(cmd: &mut Command, who: Credentials) {
    cmd.gid(who.gid).uid(who.uid);
}

/// A Command for `program` with the hygiene above applied.
pub(crate) fn clean(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", CLEAN_PATH)
        .env("LC_ALL", "C")
        .current_dir("/")
        .stdin(Stdio::null())
        .process_group(0);
    c
}

fn status_end(st: ExitStatus) -> End {
    match (st.code(), st.signal()) {
        (Some(c), _) => End::Exited(c),
        (None, Some(s)) => End::Signaled(s),
        _ => End::Exited(-1),
    }
}

/// Runs `cmd` to completion within `limit`, calling `on_line` for every output line
/// (stdout and stderr interleaved as they arrive). `stop` is polled: when it returns a
/// signal the group is killed. Spawn errors come back as Err.
pub(crate) fn run_lines(
    mut cmd: Command,
    limit: Duration,
    grace: Duration,
    stop: &dyn Fn() -> Option<i32>,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<End> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel::<String>();
    // Reader threads end at EOF on their pipe; they are never joined, so a grandchild
    // keeping a pipe open cannot hold us up.
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, tx.clone());
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    let end = loop {
        while let Ok(l) = rx.try_recv() {
            on_line(&l);
        }
        if let Some(st) = child.try_wait()? {
            break status_end(st);
        }
        if let Some(sig) = stop() {
            kill_group(&mut child, grace);
            break End::Interrupted(sig);
        }
        if Instant::now() >= deadline {
            kill_group(&mut child, grace);
            break End::TimedOut;
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
            on_line(&l);
        }
    };
    // A leftover grandchild may keep a pipe open: drain briefly, never hang on it.
    let drain_until = Instant::now() + Duration::from_millis(500);
    while let Some(left) = drain_until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) => on_line(&l),
            Err(_) => break,
        }
    }
    Ok(end)
}

/// Runs a short command (systemctl, init script, `freshclam --version`), output discarded
/// except the first line, killed after `limit`.
pub(crate) fn run_short(cmd: Command, limit: Duration) -> std::io::Result<(End, String)> {
    let mut first = String::new();
    let end = run_lines(cmd, limit, Duration::from_secs(1), &|| None, &mut |l| {
        if first.is_empty() {
            first = l.to_string();
        }
    })?;
    Ok((end, first))
}

/// SIGTERM to the child's group, SIGKILL after `grace`, then reap.
fn kill_group(child: &mut Child, grace: Duration) {
    let pgid = Pid::from_raw(child.id() as i32);
    let _ = killpg(pgid, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; members may linger.
            let _ = killpg(pgid, Signal::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait();
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut line: Vec<u8> = Vec::new();
        let flush = |line: &mut Vec<u8>| {
            let _ = tx.send(String::from_utf8_lossy(line).into_owned());
            line.clear();
        };
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if b == b'\n' {
                    flush(&mut line);
                } else if line.len() < MAX_LINE {
                    line.push(b);
                }
            }
        }
        if !line.is_empty() {
            flush(&mut line);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = clean(Path::new("/bin/sh"));
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn lines_and_exit_code() {
        let mut lines = Vec::new();
        let end = run_lines(
            sh("echo one; echo two >&2; echo $FOO; exit 7"),
            Duration::from_secs(5),
            Duration::from_secs(1),
            &|| None,
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
        assert_eq!(end, End::Exited(7));
        lines.sort();
        assert_eq!(lines, ["", "one", "two"], "env is clean: $FOO empty");
    }

    #[test]
    fn timeout_kills_group() {
        let t = Instant::now();
        let end = run_lines(
            sh("sleep 30 & sleep 30; echo never"),
            Duration::from_millis(300),
            Duration::from_millis(200),
            &|| None,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(end, End::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn stop_flag_interrupts() {
        let end = run_lines(
            sh("sleep 30"),
            Duration::from_secs(30),
            Duration::from_millis(200),
            &|| Some(15),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(end, End::Interrupted(15));
    }

    #[test]
    fn run_as_drops_every_id_and_group() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: run_as_drops_every_id_and_group: needs root");
            return;
        }
        let mut c = sh(
            "echo $(id -u) $(id -g) $(id -G) $(grep -E '^(Uid|Gid)' /proc/self/status | tr -s '\t' ' ')",
        );
        run_as(
            &mut c,
            Credentials {
                uid: 65534,
                gid: 65534,
            },
        );
        let mut out = Vec::new();
        let end = run_lines(
            c,
            Duration::from_secs(5),
            Duration::from_secs(1),
            &|| None,
            &mut |l| out.push(l.to_string()),
        )
        .unwrap();
        assert_eq!(end, End::Exited(0));
        assert_eq!(
            out,
            ["65534 65534 65534 Uid: 65534 65534 65534 65534 Gid: 65534 65534 65534 65534"]
        );
    }

    #[test]
    fn huge_line_bounded() {
        let mut lens = Vec::new();
        run_lines(
            sh("head -c 100000 /dev/zero | tr '\\0' x; echo"),
            Duration::from_secs(5),
            Duration::from_secs(1),
            &|| None,
            &mut |l| lens.push(l.len()),
        )
        .unwrap();
        assert_eq!(lens, [MAX_LINE]);
    }
}
