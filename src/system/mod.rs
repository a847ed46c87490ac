//! The only module with `unsafe`: process hygiene, signal flags, detaching, fchownat.

pub(crate) mod process;
pub(crate) mod secure_open;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::stat::{Mode, umask};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// The fd number the detached worker finds the repair lock on.
pub(crate) const LOCK_FD: RawFd = 3;

/// Sets a sane process state whatever the (untrusted) caller left us: umask 022, cwd `/`,
/// fds 0/1/2 open (so a file we open can never become "stdout" by accident), default
/// signal dispositions and an empty signal mask, fixed resource limits and priority.
pub(crate) fn sanitize_process() {
    reset_signals();
    reset_limits();
    cloexec_from(3);
    umask(Mode::from_bits_truncate(0o022));
    let _ = std::env::set_current_dir("/");
    for fd in 0..=2 {
        // SAFETY: F_GETFD only queries the descriptor table; no memory is touched.
        if unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) } == -1 {
            // open() returns the lowest free number, which is `fd` since lower ones are open;
            // the descriptor must stay open for the life of the process, hence forget.
            if let Ok(null) = nix::fcntl::open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
                std::mem::forget(null);
            }
        }
    }
}

/// sudo passes the caller's ignored signals through (only the mask and SIGCHLD are reset),
/// and a direct caller can leave anything. An ignored SIGCHLD makes every wait for a child
/// fail, an ignored SIGTERM would reach freshclam and the daemon a SysV script starts.
fn reset_signals() {
    use nix::libc;
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // std ignores SIGPIPE so a closed stdout is an EPIPE error, never a death; it
        // restores the default in every child it spawns.
        let handler = if sig == libc::SIGPIPE {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        // SAFETY: installing SIG_DFL/SIG_IGN runs no code of ours in signal context.
        unsafe { libc::signal(sig, handler) };
    }
    // SAFETY: an empty, initialised set; sigprocmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Resource limits as a root service gets them, not as the caller set them: sudo keeps the
/// caller's limits, so `ulimit -f 0` or `ulimit -t 1` before sudo would otherwise cripple
/// the worker, freshclam and (SysV) the restarted daemon. Also resets niceness and the
/// scheduling policy. Limits that cannot be set (not root) are raised to the hard limit.
fn reset_limits() {
    use nix::libc;
    const INF: libc::rlim_t = libc::RLIM_INFINITY;
    const MIB: libc::rlim_t = 1 << 20;
    let table: [(libc::__rlimit_resource_t, libc::rlim_t, libc::rlim_t); 11] = [
        (libc::RLIMIT_CPU, INF, INF),
        (libc::RLIMIT_FSIZE, INF, INF),
        (libc::RLIMIT_DATA, INF, INF),
        (libc::RLIMIT_STACK, 8 * MIB, INF),
        (libc::RLIMIT_CORE, 0, INF),
        (libc::RLIMIT_RSS, INF, INF),
        (libc::RLIMIT_AS, INF, INF),
        (libc::RLIMIT_NOFILE, 1024, 524_288),
        (libc::RLIMIT_MEMLOCK, 8 * MIB, 8 * MIB),
        (libc::RLIMIT_LOCKS, INF, INF),
        // Counted per real uid: matters for a SysV daemon once it runs as clamav.
        (libc::RLIMIT_NPROC, INF, INF),
    ];
    for (res, soft, hard) in table {
        let want = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: setrlimit/getrlimit only read/write the struct passed by reference.
        unsafe {
            if libc::setrlimit(res, &want) == 0 {
                continue;
            }
            let mut cur: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(res, &mut cur) == 0 {
                cur.rlim_cur = soft.min(cur.rlim_max);
                libc::setrlimit(res, &cur);
            }
        }
    }
    // SAFETY: plain syscalls on our own process with initialised arguments.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        libc::setpriority(libc::PRIO_PROCESS, 0, 0);
    }
}

/// Whether the kernel ran us as a privileged exec (setuid, setgid, file capabilities):
/// then the caller is not who the ids say.
#[cfg(feature = "test-root")]
pub(crate) fn secure_exec() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave the process.
    unsafe { nix::libc::getauxval(nix::libc::AT_SECURE) != 0 }
}

/// Marks every inherited descriptor from `first` up close-on-exec, so nothing the caller
/// left open reaches freshclam, systemctl or a daemon an init script starts. (The worker's
/// lock on fd 3 is handed on explicitly, see [`detach_with_lock`].)
fn cloexec_from(first: u32) {
    use nix::libc;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return;
    }
    // Kernels before 5.11: one by one.
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first as RawFd)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD on a number that may or may not still be open touches no memory.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// For the commands the monitoring user may run through sudo (which relays SIGTSTP): a
/// caller must not be able to suspend us while we hold the repair lock, which would make
/// every later run believe a repair is going on.
pub(crate) fn ignore_job_control() {
    use nix::libc;
    for sig in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
        // SAFETY: installing SIG_IGN runs no code of ours in signal context.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(sig: nix::libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
}

/// SIGTERM/SIGINT/SIGHUP only set a flag: the repair ladder polls it, kills freshclam and
/// restarts the daemon before exiting, which a default handler would skip.
pub(crate) fn install_stop_handlers() -> nix::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action)? };
    }
    Ok(())
}

/// The stop signal received so far, if any.
pub(crate) fn stop_requested() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Makes `cmd` start in its own session (out of Nagios' process group and session) and
/// hand it the repair lock as fd `LOCK_FD`, without close-on-exec. The flock belongs to the
/// open file description, so the child holds the lock as long as it (or its exec) lives.
pub(crate) fn detach_with_lock(cmd: &mut Command, lock_fd: RawFd) {
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (setsid, dup2, fcntl); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            use nix::libc;
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            let rc = if lock_fd == LOCK_FD {
                libc::fcntl(LOCK_FD, libc::F_SETFD, 0)
            } else {
                // dup2 clears FD_CLOEXEC on the new descriptor.
                libc::dup2(lock_fd, LOCK_FD)
            };
            if rc == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Takes ownership of the inherited lock fd when it is open, marking it close-on-exec so
/// freshclam (or anything else the worker runs) never inherits the repair lock.
pub(crate) fn take_inherited_lock_fd() -> Option<std::fs::File> {
    // SAFETY: F_GETFD only queries the descriptor table.
    if unsafe { nix::libc::fcntl(LOCK_FD, nix::libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: fd 3 is open (checked above) and nothing else in this process owns it: the
    // worker takes it exactly once, at start, before opening any file.
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(LOCK_FD) };
    fcntl(&file, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).ok()?;
    Some(file)
}
