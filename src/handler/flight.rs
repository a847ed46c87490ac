//! Single flight: an exclusive flock on /run/clamav-freshen/repair.lock, held by whoever
//! repairs (inherited by the detached worker). Plus the "daemon stopped" marker that lets
//! the next run restart freshclam after a worker was SIGKILLed.

use crate::system::secure_open::{self, Access, Rules};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The repair lock cannot be used at all: nobody can tell whether a repair runs.
#[derive(Debug, thiserror::Error)]
#[error("cannot open repair lock {}: {source}", .path.display())]
pub(crate) struct LockUnusable {
    pub(crate) path: PathBuf,
    pub(crate) source: std::io::Error,
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Creates the runtime (or state) dir (0755) and refuses a symlink, a foreign-owned one or
/// one writable by group or others.
pub(crate) fn ensure_run_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new()
        .mode(0o755)
        .recursive(false)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .recursive(true)
                .create(dir)?;
        }
        Err(e) => return Err(e),
    }
    secure_open::open(dir, Access::Read, &Rules::own_dir(euid()))
        .map(drop)
        .map_err(|e| {
            std::io::Error::other(format!(
                "{} is not a directory owned by us and closed to others ({e})",
                dir.display()
            ))
        })
}

/// Opens (creating) the lock file without following symlinks. Close-on-exec by default;
/// the spawn code hands it on explicitly.
pub(crate) fn open_lock(run_dir: &Path, lock: &Path) -> std::io::Result<File> {
    ensure_run_dir(run_dir)?;
    secure_open::open(
        lock,
        Access::ReadWriteCreate(0o600),
        &Rules::own_file(euid()),
    )
    .map_err(std::io::Error::other)
}

/// `Some(file)` holding the lock, `None` when another process holds it.
pub(crate) fn try_acquire(run_dir: &Path, lock: &Path) -> std::io::Result<Option<File>> {
    let f = open_lock(run_dir, lock)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Like [`try_acquire`], but tells a running repair from a process that merely holds the
/// lock for the milliseconds of a decision: the lock is "busy with a repair" only when the
/// holder recorded a live pid (see [`record_holder`]); otherwise we wait briefly for it.
/// On success the file is emptied so a stale pid can never mislead.
pub(crate) fn acquire_unless_repairing(
    run_dir: &Path,
    lock: &Path,
) -> std::io::Result<Option<File>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    loop {
        if let Some(f) = try_acquire(run_dir, lock)? {
            f.set_len(0)?;
            return Ok(Some(f));
        }
        if holder_pid(lock).is_some() || std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// True when `fd` is the lock file at `lock` (same device and inode) and the lock is held
/// through `fd` itself: flock on the open file description that holds it succeeds, on any
/// other it fails. The worker's check that it was handed the lock, not merely a second
/// open of a file someone else has locked (that would be two repairs at once).
pub(crate) fn is_held_lock(fd: &File, run_dir: &Path, lock: &Path) -> bool {
    let (Ok(a), Ok(b)) = (fd.metadata(), std::fs::symlink_metadata(lock)) else {
        return false;
    };
    if a.dev() != b.dev() || a.ino() != b.ino() {
        return false;
    }
    fd.try_lock().is_ok() && matches!(try_acquire(run_dir, lock), Ok(None))
}

/// Writes our pid into the lock file we hold, for `status` (the flock itself names the
/// process that took it, which for a detached worker is the long-gone `handle`).
pub(crate) fn record_holder(lock: &File) {
    let mut f = lock;
    let _ = lock.set_len(0);
    let _ = std::io::Seek::rewind(&mut f);
    let _ = writeln!(f, "{}", std::process::id());
}

/// The pid recorded by the current holder, if readable and alive.
pub(crate) fn holder_pid(lock: &Path) -> Option<i32> {
    let text = secure_open::read(lock, &Rules::own_file(euid()), 64).ok()?;
    let pid: i32 = std::str::from_utf8(&text).ok()?.trim().parse().ok()?;
    std::fs::metadata(format!("/proc/{pid}")).ok().map(|_| pid)
}

/// Writes the marker (before stopping the daemon); its content is the mode, for humans.
pub(crate) fn write_marker(marker: &Path, mode: &str) -> std::io::Result<()> {
    let _ = std::fs::remove_file(marker);
    let mut f = secure_open::open(marker, Access::CreateNew(0o644), &Rules::own_file(euid()))
        .map_err(std::io::Error::other)?;
    writeln!(f, "{mode}")?;
    f.sync_all()
}

pub(crate) fn clear_marker(marker: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub(crate) fn marker_present(marker: &Path) -> bool {
    std::fs::symlink_metadata(marker).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        let lock = run.join("repair.lock");
        let a = try_acquire(&run, &lock).unwrap().expect("first gets it");
        assert!(try_acquire(&run, &lock).unwrap().is_none());
        assert!(is_held_lock(&a, &run, &lock));
        let other = File::open(d.path()).unwrap();
        assert!(!is_held_lock(&other, &run, &lock));
        // A second open of the locked file is not the held lock.
        let second = File::open(&lock).unwrap();
        assert!(!is_held_lock(&second, &run, &lock));
        assert!(is_held_lock(&a, &run, &lock), "still ours");
        drop(a);
        assert!(try_acquire(&run, &lock).unwrap().is_some());
    }

    #[test]
    fn deciding_holder_is_waited_for_repairing_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        let lock = run.join("repair.lock");
        // A holder without a recorded pid (a `handle` deciding) releases soon: we get it.
        let a = try_acquire(&run, &lock).unwrap().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(a);
        });
        assert!(acquire_unless_repairing(&run, &lock).unwrap().is_some());
        t.join().unwrap();
        // A holder that recorded a live pid is a running repair: no waiting.
        let b = acquire_unless_repairing(&run, &lock).unwrap().unwrap();
        record_holder(&b);
        let t0 = std::time::Instant::now();
        assert!(acquire_unless_repairing(&run, &lock).unwrap().is_none());
        assert!(t0.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn lock_symlink_refused() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        ensure_run_dir(&run).unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), run.join("repair.lock")).unwrap();
        assert!(try_acquire(&run, &run.join("repair.lock")).is_err());
        assert!(!d.path().join("elsewhere").exists());
    }

    #[test]
    fn marker_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("daemon-stopped");
        assert!(!marker_present(&m));
        write_marker(&m, "systemd").unwrap();
        assert!(marker_present(&m));
        clear_marker(&m).unwrap();
        clear_marker(&m).unwrap();
        assert!(!marker_present(&m));
    }
}
