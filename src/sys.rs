//! The only module with `unsafe`: process hygiene, signal flags, detaching, fchownat.

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::stat::{Mode, umask};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// The fd number the detached worker finds the repair lock on.
pub const LOCK_FD: RawFd = 3;

/// Sets a sane process state whatever the (untrusted) caller left us: umask 022, cwd `/`,
/// fds 0/1/2 open (so a file we open can never become "stdout" by accident).
pub fn sanitize_process() {
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

static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(sig: nix::libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
}

/// SIGTERM/SIGINT/SIGHUP only set a flag: the repair ladder polls it, kills freshclam and
/// restarts the daemon before exiting, which a default handler would skip.
pub fn install_stop_handlers() -> nix::Result<()> {
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
pub fn stop_requested() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Makes `cmd` start in its own session (out of Nagios' process group and session) and
/// hand it the repair lock as fd `LOCK_FD`, without close-on-exec. The flock belongs to the
/// open file description, so the child holds the lock as long as it (or its exec) lives.
pub fn detach_with_lock(cmd: &mut Command, lock_fd: RawFd) {
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
pub fn take_inherited_lock_fd() -> Option<std::fs::File> {
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
