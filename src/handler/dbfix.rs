//! Repairs in the database directory, which the clamav user can write: so nothing here
//! ever follows a symlink. Every object is opened relative to a directory fd with
//! O_NOFOLLOW (O_PATH for ownership), checked with fstat, and changed through that fd.

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, unlinkat};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Never deleted: freshclam's CDN cool-down and UUID live there.
pub(crate) const FRESHCLAM_DAT: &str = "freshclam.dat";
/// Deepest tmp tree we remove; freshclam's are one level deep.
const MAX_DEPTH: usize = 16;

/// One change (or refusal) to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    pub(crate) what: &'static str,
    pub(crate) name: String,
    pub(crate) result: Result<(), String>,
}

fn is(st: &FileStat, kind: nix::libc::mode_t) -> bool {
    st.st_mode & nix::libc::S_IFMT == kind
}

fn open_dir(dir: &Path) -> Result<OwnedFd, String> {
    nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open {}: {e}", dir.display()))
}

fn names(dirfd: &OwnedFd) -> Result<Vec<OsString>, String> {
    let dup = dirfd.try_clone().map_err(|e| e.to_string())?;
    let mut d = Dir::from_fd(dup).map_err(|e| e.to_string())?;
    Ok(d.iter()
        .filter_map(|e| e.ok())
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
        .filter(|n| n != "." && n != "..")
        .collect())
}

fn show(n: &OsStr) -> String {
    n.to_string_lossy().into_owned()
}

/// Refuses a directory without a ClamAV database (`*.cvd`, `*.cld`) or freshclam.dat as a
/// regular file in it: see [`fix_ownership`].
fn require_database(dir: &Path, dirfd: &OwnedFd, entries: &[OsString]) -> Result<(), String> {
    let is_db = |n: &OsString| {
        let b = n.as_bytes();
        (b.ends_with(b".cvd") || b.ends_with(b".cld") || b == FRESHCLAM_DAT.as_bytes())
            && fstatat(dirfd, n.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                .is_ok_and(|st| is(&st, nix::libc::S_IFREG))
    };
    if entries.iter().any(is_db) {
        Ok(())
    } else {
        Err(format!(
            "{} holds no ClamAV database: changing nothing there",
            dir.display()
        ))
    }
}

/// Gives the directory and every entry in it to `uid:gid`, skipping symlinks and hardlinked
/// regular files (a hardlink to /etc/shadow planted by clamav must not become clamav's).
///
/// DatabaseDirectory comes from freshclam.conf, which Debian gives to clamav: so nothing is
/// changed unless the directory already holds a ClamAV database or freshclam.dat, or a
/// DatabaseDirectory pointed at /etc would hand /etc and everything in it to clamav.
pub(crate) fn fix_ownership(dir: &Path, uid: u32, gid: u32) -> Result<Vec<Action>, String> {
    let dirfd = open_dir(dir)?;
    let entries = names(&dirfd)?;
    require_database(dir, &dirfd, &entries)?;
    let mut out = Vec::new();
    let st = fstat(&dirfd).map_err(|e| e.to_string())?;
    if st.st_uid != uid || st.st_gid != gid {
        let r = fchown(&dirfd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| e.to_string());
        out.push(Action {
            what: "chown",
            name: ".".into(),
            result: r,
        });
    }
    for name in entries {
        let fd = match openat(
            &dirfd,
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                out.push(Action {
                    what: "chown",
                    name: show(&name),
                    result: Err(e.to_string()),
                });
                continue;
            }
        };
        let Ok(st) = fstat(&fd) else { continue };
        if st.st_uid == uid && st.st_gid == gid {
            continue;
        }
        if is(&st, nix::libc::S_IFLNK) {
            out.push(Action {
                what: "skip-symlink",
                name: show(&name),
                result: Ok(()),
            });
            continue;
        }
        if is(&st, nix::libc::S_IFREG) && st.st_nlink > 1 {
            out.push(Action {
                what: "skip-hardlink",
                name: show(&name),
                result: Ok(()),
            });
            continue;
        }
        if !is(&st, nix::libc::S_IFREG) && !is(&st, nix::libc::S_IFDIR) {
            out.push(Action {
                what: "skip-special",
                name: show(&name),
                result: Ok(()),
            });
            continue;
        }
        let r = fchownat(
            &fd,
            "",
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::AT_EMPTY_PATH,
        )
        .map_err(|e| e.to_string());
        out.push(Action {
            what: "chown",
            name: show(&name),
            result: r,
        });
    }
    Ok(out)
}

/// Removes `tmp.*` directories a killed freshclam left behind, without following symlinks.
pub(crate) fn remove_tmp_dirs(dir: &Path) -> Result<Vec<Action>, String> {
    let dirfd = open_dir(dir)?;
    let entries = names(&dirfd)?;
    require_database(dir, &dirfd, &entries)?;
    let mut out = Vec::new();
    for name in entries {
        if !name.as_bytes().starts_with(b"tmp.") {
            continue;
        }
        let Ok(st) = fstatat(&dirfd, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue;
        };
        if !is(&st, nix::libc::S_IFDIR) {
            continue;
        }
        let r = remove_tree_at(&dirfd, &name, 0);
        out.push(Action {
            what: "remove-tmp",
            name: show(&name),
            result: r,
        });
    }
    Ok(out)
}

/// Recursive removal of `parent/name` (a directory): entries are examined with
/// AT_SYMLINK_NOFOLLOW; symlinks are unlinked, never entered.
fn remove_tree_at(parent: &impl AsFd, name: &OsStr, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("too deep".into());
    }
    let fd = openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", show(name)))?;
    for child in names(&fd)? {
        let st = fstatat(&fd, child.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| e.to_string())?;
        if is(&st, nix::libc::S_IFDIR) {
            remove_tree_at(&fd, &child, depth + 1)?;
        } else {
            unlinkat(&fd, child.as_os_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(|e| format!("{}: {e}", show(&child)))?;
        }
    }
    unlinkat(parent, name, UnlinkatFlags::RemoveDir).map_err(|e| format!("{}: {e}", show(name)))
}

/// Deletes mirrors.dat, which only ClamAV before 0.103 used (stale mirror state there could
/// block updates); newer versions never read it, so it is left alone.
pub(crate) fn remove_mirrors_dat(dir: &Path, version: Option<(u32, u32, u32)>) -> Option<Action> {
    let old = matches!(version, Some((0, minor, _)) if minor < 103);
    if !old {
        return None;
    }
    let dirfd = open_dir(dir).ok()?;
    fstatat(&dirfd, "mirrors.dat", AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
    let r = unlinkat(&dirfd, "mirrors.dat", UnlinkatFlags::NoRemoveDir).map_err(|e| e.to_string());
    Some(Action {
        what: "remove-mirrors.dat",
        name: "mirrors.dat".into(),
        result: r,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};

    #[test]
    fn tmp_removal_does_not_follow_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        let outside = d.path().join("outside");
        fs::create_dir_all(db.join("tmp.abc/sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("precious"), "x").unwrap();
        fs::write(db.join("tmp.abc/sub/f"), "x").unwrap();
        symlink(&outside, db.join("tmp.abc/link")).unwrap();
        symlink(&outside, db.join("tmp.evil")).unwrap();
        fs::write(db.join("tmp.file"), "x").unwrap();
        fs::write(db.join(FRESHCLAM_DAT), "x").unwrap();
        let acts = remove_tmp_dirs(&db).unwrap();
        assert_eq!(acts.len(), 1, "{acts:?}");
        assert!(acts[0].result.is_ok());
        assert!(!db.join("tmp.abc").exists());
        assert!(outside.join("precious").exists());
        assert!(
            fs::symlink_metadata(db.join("tmp.evil")).is_ok(),
            "symlink named tmp.* untouched"
        );
        assert!(db.join("tmp.file").exists());
        assert!(db.join(FRESHCLAM_DAT).exists());
    }

    #[test]
    fn mirrors_dat_only_for_old_clamav() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("mirrors.dat"), "x").unwrap();
        assert!(remove_mirrors_dat(d.path(), Some((1, 4, 6))).is_none());
        assert!(remove_mirrors_dat(d.path(), None).is_none());
        assert!(d.path().join("mirrors.dat").exists());
        assert!(
            remove_mirrors_dat(d.path(), Some((0, 102, 4)))
                .unwrap()
                .result
                .is_ok()
        );
        assert!(!d.path().join("mirrors.dat").exists());
    }

    #[test]
    fn ownership_untouched_where_there_is_no_database() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP ownership_untouched_where_there_is_no_database: needs root");
            return;
        }
        // A DatabaseDirectory pointed at a system directory (say /etc).
        let d = tempfile::tempdir().unwrap();
        let etc = d.path().join("etc");
        fs::create_dir(&etc).unwrap();
        fs::write(etc.join("shadow"), "x").unwrap();
        symlink("/nowhere", etc.join("daily.cvd")).unwrap();
        fs::create_dir(etc.join("tmp.keep")).unwrap();
        let e = fix_ownership(&etc, 4242, 4343).unwrap_err();
        assert!(e.contains("holds no ClamAV database"), "{e}");
        assert!(remove_tmp_dirs(&etc).is_err());
        assert!(etc.join("tmp.keep").exists());
        assert_eq!(fs::metadata(etc.join("shadow")).unwrap().uid(), 0);
        assert_eq!(fs::metadata(&etc).unwrap().uid(), 0);
    }

    #[test]
    fn ownership_fix_skips_symlinks_and_hardlinks() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP ownership_fix_skips_symlinks_and_hardlinks: needs root for chown");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir(&db).unwrap();
        let outside = d.path().join("outside");
        fs::write(&outside, "x").unwrap();
        fs::write(db.join("daily.cvd"), "x").unwrap();
        symlink(&outside, db.join("link")).unwrap();
        fs::hard_link(&outside, db.join("hard")).unwrap();
        let acts = fix_ownership(&db, 4242, 4343).unwrap();
        assert_eq!(fs::metadata(db.join("daily.cvd")).unwrap().uid(), 4242);
        assert_eq!(fs::metadata(&db).unwrap().gid(), 4343);
        assert_eq!(
            fs::metadata(&outside).unwrap().uid(),
            0,
            "symlink/hardlink target untouched"
        );
        assert_eq!(fs::symlink_metadata(db.join("link")).unwrap().uid(), 0);
        assert!(acts.iter().any(|a| a.what == "skip-symlink"));
        assert!(acts.iter().any(|a| a.what == "skip-hardlink"));
    }
}
