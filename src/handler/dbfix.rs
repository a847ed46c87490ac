//! Repairs in the database directory, which the clamav user can write.
//!
//! The directory comes from root's configuration and is opened once, with O_DIRECTORY and
//! O_NOFOLLOW; every check (owner, mode, not a system directory, entry count) is made on
//! that fd, and every change goes through it: entries are opened relative to it with
//! O_NOFOLLOW (O_PATH for ownership), checked with fstat on that very fd and changed
//! through it. The directory itself is never changed.
//!
//! Only root-owned regular files with ClamAV's names are given to the owner (what a root
//! freshclam left behind), and only freshclam's own temp directories are removed.

use crate::handler::scope::Owner;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, unlinkat};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Never deleted: freshclam's CDN cool-down and UUID live there.
pub(crate) const FRESHCLAM_DAT: &str = "freshclam.dat";
/// Most entries a database directory (or a temp directory in it) may hold before root
/// refuses to act there; a real one holds about ten (main, daily, bytecode, freshclam.dat,
/// a few `.sign` files), an unpacked CVD in a temp directory a few dozen.
pub(crate) const MAX_ENTRIES: usize = 4096;
/// Entries counted at most when reporting an oversized directory.
const COUNT_CEILING: usize = 1 << 20;
/// Deepest temp tree removed; freshclam's are two levels deep (tmp.x/cld.y/...).
const MAX_DEPTH: usize = 16;
/// Entries one run may delete in temp trees, all together.
const MAX_REMOVALS: usize = 65_536;
/// Longest hex part of a temp directory name: `cli_gentemp_with_prefix(dbdir, "tmp")`
/// makes `tmp.` + 10 hex digits of an MD5 (libclamav others_common.c, SHORT_HASH_LENGTH).
const MAX_TMP_HEX: usize = 32;

/// One change (or skip) to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    pub(crate) what: &'static str,
    pub(crate) name: String,
    pub(crate) result: Result<(), ActionError>,
}

/// Why one change in the database directory failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ActionError {
    #[error(transparent)]
    Sys(#[from] Errno),
    /// An entry of a temp tree, by name.
    #[error("{name}: {errno}")]
    Entry { name: String, errno: Errno },
    #[error("too deep")]
    TooDeep,
    #[error("{name}: more than {MAX_ENTRIES} entries ({count})")]
    TooMany { name: String, count: usize },
    #[error("more than {MAX_REMOVALS} entries removed this run")]
    Budget,
}

/// Why root does not act in the directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("cannot open {path} as a directory without following symlinks: {errno}")]
    Open { path: PathBuf, errno: Errno },
    #[error("{path} is owned by uid {uid}, not by the database owner {owner} (uid {want})")]
    Owner {
        path: PathBuf,
        uid: u32,
        owner: String,
        want: u32,
    },
    #[error("{path} is writable by group or others (mode {mode:o})")]
    Writable { path: PathBuf, mode: u32 },
    #[error("{path} has the sticky bit (mode {mode:o}): a shared directory")]
    Sticky { path: PathBuf, mode: u32 },
    #[error("{path} is the system directory {shared}")]
    Shared { path: PathBuf, shared: PathBuf },
    #[error("{path} holds {}{count} entries, more than {max}", at_least_word(*.at_least))]
    TooMany {
        path: PathBuf,
        count: usize,
        at_least: bool,
        max: usize,
    },
    #[error("cannot read {path}: {errno}")]
    Read { path: PathBuf, errno: Errno },
}

fn at_least_word(at_least: bool) -> &'static str {
    if at_least { "at least " } else { "" }
}

impl Refusal {
    /// The entry count of a [`Refusal::TooMany`], for the audit line.
    pub(crate) fn count(&self) -> Option<usize> {
        match self {
            Refusal::TooMany { count, .. } => Some(*count),
            _ => None,
        }
    }
}

fn is(st: &FileStat, kind: nix::libc::mode_t) -> bool {
    st.st_mode & nix::libc::S_IFMT == kind
}

fn kind(st: &FileStat) -> &'static str {
    match st.st_mode & nix::libc::S_IFMT {
        nix::libc::S_IFREG => "file",
        nix::libc::S_IFDIR => "directory",
        nix::libc::S_IFLNK => "symlink",
        nix::libc::S_IFIFO => "fifo",
        nix::libc::S_IFSOCK => "socket",
        nix::libc::S_IFCHR | nix::libc::S_IFBLK => "device",
        _ => "unknown",
    }
}

fn show(n: &OsStr) -> String {
    n.to_string_lossy().into_owned()
}

/// Names freshclam gives what it keeps in the database directory: databases (`.cvd`,
/// `.cld`, `.cud`), their detached signatures (`<db>-<version>.cvd.sign`, 1.5), its state
/// (freshclam.dat) and, before 0.103, mirrors.dat.
pub(crate) fn is_clamav_name(name: &[u8]) -> bool {
    let suffixed = |s: &[u8]| name.len() > s.len() && name.ends_with(s);
    suffixed(b".cvd")
        || suffixed(b".cld")
        || suffixed(b".cud")
        || suffixed(b".sign")
        || name == FRESHCLAM_DAT.as_bytes()
        || name == b"mirrors.dat"
}

/// `tmp.` + lowercase hex: the temp directory freshclam 0.103-1.5 makes in the database
/// directory (`tmp.a3c862de78` from a killed 1.4.6).
pub(crate) fn is_freshclam_tmp(name: &[u8]) -> bool {
    name.strip_prefix(b"tmp.").is_some_and(|h| {
        !h.is_empty()
            && h.len() <= MAX_TMP_HEX
            && h.iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    })
}

fn open_dir_at(parent: &impl AsFd, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// The names in a directory, at most `max`; `Err((count, at_least))` beyond. Read through
/// a fresh open of `.` so each listing has its own offset.
fn list(dir: &impl AsFd, max: usize) -> Result<Vec<OsString>, ListError> {
    let fd = open_dir_at(dir, OsStr::new(".")).map_err(ListError::Read)?;
    let mut d = nix::dir::Dir::from_fd(fd).map_err(ListError::Read)?;
    let mut out = Vec::new();
    let mut count = 0usize;
    for e in d.iter() {
        let e = e.map_err(ListError::Read)?;
        let n = e.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        count += 1;
        if count <= max {
            out.push(OsStr::from_bytes(n).to_os_string());
        } else if count >= COUNT_CEILING {
            return Err(ListError::TooMany(count, true));
        }
    }
    if count > max {
        return Err(ListError::TooMany(count, false));
    }
    Ok(out)
}

enum ListError {
    Read(Errno),
    TooMany(usize, bool),
}

/// The database directory, opened and checked.
pub(crate) struct DatabaseDir {
    fd: OwnedFd,
    path: PathBuf,
    owner: Owner,
    owner_name: String,
}

impl DatabaseDir {
    /// Opens `path` and checks it: a directory (never through a symlink) owned by `owner`,
    /// not writable by group or others, not sticky, none of `shared` (compared by device
    /// and inode, so no path trick gets around it), at most [`MAX_ENTRIES`] entries.
    pub(crate) fn open(
        path: &Path,
        owner: Owner,
        owner_name: &str,
        shared: &[PathBuf],
    ) -> Result<DatabaseDir, Refusal> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| Refusal::Open {
            path: path.into(),
            errno,
        })?;
        let dir = DatabaseDir {
            fd,
            path: path.into(),
            owner,
            owner_name: owner_name.into(),
        };
        let st = dir.stat()?;
        for s in shared {
            if let Ok(sst) = nix::sys::stat::stat(s)
                && (sst.st_dev, sst.st_ino) == (st.st_dev, st.st_ino)
            {
                return Err(Refusal::Shared {
                    path: path.into(),
                    shared: s.clone(),
                });
            }
        }
        dir.entries()?;
        Ok(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// fstat on the fd with the owner and mode checks; repeated before every change (the
    /// owner may chmod its directory between two steps).
    fn stat(&self) -> Result<FileStat, Refusal> {
        let st = fstat(&self.fd).map_err(|errno| Refusal::Read {
            path: self.path.clone(),
            errno,
        })?;
        let mode = st.st_mode & 0o7777;
        if st.st_uid != self.owner.uid {
            return Err(Refusal::Owner {
                path: self.path.clone(),
                uid: st.st_uid,
                owner: self.owner_name.clone(),
                want: self.owner.uid,
            });
        }
        if mode & 0o022 != 0 {
            return Err(Refusal::Writable {
                path: self.path.clone(),
                mode,
            });
        }
        if mode & 0o1000 != 0 {
            return Err(Refusal::Sticky {
                path: self.path.clone(),
                mode,
            });
        }
        Ok(st)
    }

    /// The checks again, and the names (bounded).
    fn entries(&self) -> Result<Vec<OsString>, Refusal> {
        self.stat()?;
        list(&self.fd, MAX_ENTRIES).map_err(|e| match e {
            ListError::Read(errno) => Refusal::Read {
                path: self.path.clone(),
                errno,
            },
            ListError::TooMany(count, at_least) => Refusal::TooMany {
                path: self.path.clone(),
                count,
                at_least,
                max: MAX_ENTRIES,
            },
        })
    }

    /// Gives root-owned regular files with ClamAV's names to the owner (a freshclam run as
    /// root leaves them, and the daemon then cannot replace them). Skips symlinks, special
    /// files, directories and hardlinked files (a hardlink to /etc/shadow named daily.cvd
    /// must not become clamav's); anything not root's is not looked at.
    pub(crate) fn fix_ownership(&self) -> Result<Vec<Action>, Refusal> {
        let owner = self.owner;
        let mut out = Vec::new();
        if owner.uid == 0 {
            return Ok(out);
        }
        for name in self.entries()? {
            if !is_clamav_name(name.as_bytes()) {
                continue;
            }
            let fd = match openat(
                &self.fd,
                name.as_os_str(),
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                // Gone since the listing.
                Err(Errno::ENOENT) => continue,
                Err(e) => {
                    out.push(Action {
                        what: "chown",
                        name: show(&name),
                        result: Err(e.into()),
                    });
                    continue;
                }
            };
            let Ok(st) = fstat(&fd) else { continue };
            if st.st_uid != 0 {
                continue;
            }
            let skip = if is(&st, nix::libc::S_IFLNK) {
                Some("skip-symlink")
            } else if !is(&st, nix::libc::S_IFREG) {
                Some("skip-special")
            } else if st.st_nlink > 1 {
                Some("skip-hardlink")
            } else {
                None
            };
            if let Some(what) = skip {
                out.push(Action {
                    what,
                    name: format!("{} ({})", show(&name), kind(&st)),
                    result: Ok(()),
                });
                continue;
            }
            let r = fchownat(
                &fd,
                "",
                Some(Uid::from_raw(owner.uid)),
                Some(Gid::from_raw(owner.gid)),
                AtFlags::AT_EMPTY_PATH,
            )
            .map_err(ActionError::Sys);
            out.push(Action {
                what: "chown",
                name: show(&name),
                result: r,
            });
        }
        Ok(out)
    }

    /// Removes the temp directories a killed freshclam left behind ([`is_freshclam_tmp`]),
    /// without following symlinks; every directory in such a tree must hold at most
    /// [`MAX_ENTRIES`] entries, and one run removes at most [`MAX_REMOVALS`] entries.
    pub(crate) fn remove_tmp_dirs(&self) -> Result<Vec<Action>, Refusal> {
        let mut out = Vec::new();
        let mut budget = MAX_REMOVALS;
        for name in self.entries()? {
            if !is_freshclam_tmp(name.as_bytes()) {
                continue;
            }
            let Ok(st) = fstatat(&self.fd, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
                continue;
            };
            if !is(&st, nix::libc::S_IFDIR) {
                continue;
            }
            let r = remove_tree_at(&self.fd, &name, 0, &mut budget);
            out.push(Action {
                what: "remove-tmp",
                name: show(&name),
                result: r,
            });
        }
        Ok(out)
    }

    /// Deletes mirrors.dat, which only ClamAV before 0.103 used (stale mirror state there
    /// could block updates); newer versions never read it, so it is left alone.
    pub(crate) fn remove_mirrors_dat(&self, version: Option<(u32, u32, u32)>) -> Option<Action> {
        let old = matches!(version, Some((0, minor, _)) if minor < 103);
        if !old {
            return None;
        }
        self.stat().ok()?;
        let st = fstatat(&self.fd, "mirrors.dat", AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
        if is(&st, nix::libc::S_IFDIR) {
            return None;
        }
        let r =
            unlinkat(&self.fd, "mirrors.dat", UnlinkatFlags::NoRemoveDir).map_err(ActionError::Sys);
        Some(Action {
            what: "remove-mirrors.dat",
            name: "mirrors.dat".into(),
            result: r,
        })
    }
}

/// Recursive removal of `parent/name` (a directory): entries are examined with
/// AT_SYMLINK_NOFOLLOW; symlinks are unlinked, never entered.
fn remove_tree_at(
    parent: &impl AsFd,
    name: &OsStr,
    depth: usize,
    budget: &mut usize,
) -> Result<(), ActionError> {
    if depth > MAX_DEPTH {
        return Err(ActionError::TooDeep);
    }
    let at = |n: &OsStr| {
        let name = show(n);
        move |errno| ActionError::Entry { name, errno }
    };
    let fd = open_dir_at(parent, name).map_err(at(name))?;
    let children = list(&fd, MAX_ENTRIES).map_err(|e| match e {
        ListError::Read(errno) => at(name)(errno),
        ListError::TooMany(count, _) => ActionError::TooMany {
            name: show(name),
            count,
        },
    })?;
    for child in children {
        if *budget == 0 {
            return Err(ActionError::Budget);
        }
        *budget -= 1;
        let st = match fstatat(&fd, child.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(at(&child)(e)),
        };
        if is(&st, nix::libc::S_IFDIR) {
            remove_tree_at(&fd, &child, depth + 1, budget)?;
        } else {
            unlinkat(&fd, child.as_os_str(), UnlinkatFlags::NoRemoveDir).map_err(at(&child))?;
        }
    }
    unlinkat(parent, name, UnlinkatFlags::RemoveDir).map_err(at(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    fn me() -> Owner {
        Owner {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }

    fn db() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir(&db).unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o755)).unwrap();
        (d, db)
    }

    fn open(db: &Path, owner: Owner) -> Result<DatabaseDir, Refusal> {
        DatabaseDir::open(db, owner, "owner", &[])
    }

    #[test]
    fn names() {
        for n in [
            "daily.cvd",
            "main.cld",
            "bytecode.cud",
            "daily-27000.cvd.sign",
            "freshclam.dat",
            "mirrors.dat",
        ] {
            assert!(is_clamav_name(n.as_bytes()), "{n}");
        }
        for n in [
            "notes.txt",
            ".cvd",
            "daily.cvd.bak",
            "freshclam.dat.old",
            "shadow",
        ] {
            assert!(!is_clamav_name(n.as_bytes()), "{n}");
        }
        for n in ["tmp.a3c862de78", "tmp.1234", "tmp.abc"] {
            assert!(is_freshclam_tmp(n.as_bytes()), "{n}");
        }
        for n in [
            "tmp.",
            "tmp.leftover",
            "tmp.A3C8",
            "tmp.a3/",
            "tmpa3c8",
            "x.tmp",
        ] {
            assert!(!is_freshclam_tmp(n.as_bytes()), "{n}");
        }
        assert!(!is_freshclam_tmp(
            format!("tmp.{}", "a".repeat(33)).as_bytes()
        ));
    }

    #[test]
    fn directory_checks() {
        let (d, db) = db();
        assert!(open(&db, me()).is_ok());
        let other = Owner {
            uid: me().uid + 1,
            gid: 0,
        };
        assert!(matches!(open(&db, other), Err(Refusal::Owner { .. })));
        for (mode, want) in [(0o775, "writable"), (0o757, "writable"), (0o1755, "sticky")] {
            fs::set_permissions(&db, fs::Permissions::from_mode(mode)).unwrap();
            let e = open(&db, me()).err().unwrap().to_string();
            assert!(e.contains(want), "{mode:o}: {e}");
        }
        fs::set_permissions(&db, fs::Permissions::from_mode(0o755)).unwrap();
        let link = d.path().join("link");
        symlink(&db, &link).unwrap();
        assert!(matches!(open(&link, me()), Err(Refusal::Open { .. })));
        fs::write(d.path().join("file"), "x").unwrap();
        assert!(matches!(
            open(&d.path().join("file"), me()),
            Err(Refusal::Open { .. })
        ));
        // A shared directory, however it is reached.
        let e = DatabaseDir::open(&db, me(), "owner", &[d.path().join("link")])
            .err()
            .unwrap();
        assert!(matches!(e, Refusal::Shared { .. }), "{e}");
    }

    #[test]
    fn too_many_entries_refused_with_the_count() {
        let (_d, db) = db();
        for i in 0..MAX_ENTRIES {
            symlink("x", db.join(format!("f{i}"))).unwrap();
        }
        assert!(open(&db, me()).is_ok(), "exactly the maximum is fine");
        fs::write(db.join("one-more"), "").unwrap();
        fs::create_dir(db.join("tmp.0123456789")).unwrap();
        let e = open(&db, me()).err().unwrap();
        assert_eq!(e.count(), Some(MAX_ENTRIES + 2));
        assert!(
            e.to_string().contains("holds 4098 entries, more than 4096"),
            "{e}"
        );
    }

    #[test]
    fn tmp_removal_does_not_follow_symlinks() {
        let (d, db) = db();
        let outside = d.path().join("outside");
        fs::create_dir_all(db.join("tmp.abc/sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("precious"), "x").unwrap();
        fs::write(db.join("tmp.abc/sub/f"), "x").unwrap();
        symlink(&outside, db.join("tmp.abc/link")).unwrap();
        symlink(&outside, db.join("tmp.0ff")).unwrap();
        fs::write(db.join("tmp.1"), "x").unwrap();
        fs::create_dir(db.join("tmp.notours")).unwrap();
        fs::write(db.join(FRESHCLAM_DAT), "x").unwrap();
        let acts = open(&db, me()).unwrap().remove_tmp_dirs().unwrap();
        assert_eq!(acts.len(), 1, "{acts:?}");
        assert!(acts[0].result.is_ok());
        assert!(!db.join("tmp.abc").exists());
        assert!(outside.join("precious").exists());
        assert!(
            fs::symlink_metadata(db.join("tmp.0ff")).is_ok(),
            "symlink named tmp.* untouched"
        );
        assert!(db.join("tmp.1").exists(), "a file, not a directory");
        assert!(db.join("tmp.notours").exists(), "not freshclam's name");
        assert!(db.join(FRESHCLAM_DAT).exists());
    }

    #[test]
    fn oversized_tmp_tree_is_not_removed() {
        let (_d, db) = db();
        fs::create_dir(db.join("tmp.beef")).unwrap();
        for i in 0..=MAX_ENTRIES {
            symlink("x", db.join(format!("tmp.beef/f{i}"))).unwrap();
        }
        let acts = open(&db, me()).unwrap().remove_tmp_dirs().unwrap();
        let e = acts[0].result.as_ref().unwrap_err().to_string();
        assert!(e.contains("more than 4096 entries"), "{e}");
        assert!(
            fs::symlink_metadata(db.join("tmp.beef/f0")).is_ok(),
            "nothing removed"
        );
    }

    #[test]
    fn mirrors_dat_only_for_old_clamav() {
        let (_d, db) = db();
        fs::write(db.join("mirrors.dat"), "x").unwrap();
        let dir = open(&db, me()).unwrap();
        assert!(dir.remove_mirrors_dat(Some((1, 4, 6))).is_none());
        assert!(dir.remove_mirrors_dat(None).is_none());
        assert!(db.join("mirrors.dat").exists());
        assert!(
            dir.remove_mirrors_dat(Some((0, 102, 4)))
                .unwrap()
                .result
                .is_ok()
        );
        assert!(!db.join("mirrors.dat").exists());
    }

    #[test]
    fn ownership_fix_only_root_owned_clamav_files() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: ownership_fix_only_root_owned_clamav_files: needs root for chown");
            return;
        }
        let (d, db) = db();
        let owner = Owner {
            uid: 4242,
            gid: 4343,
        };
        nix::unistd::chown(&db, Some(Uid::from_raw(4242)), None).unwrap();
        let outside = d.path().join("outside");
        fs::write(&outside, "x").unwrap();
        for n in ["daily.cvd", "main.cld", "freshclam.dat", "notes.txt"] {
            fs::write(db.join(n), "x").unwrap();
        }
        fs::write(db.join("bytecode.cvd"), "x").unwrap();
        nix::unistd::chown(&db.join("bytecode.cvd"), Some(Uid::from_raw(1234)), None).unwrap();
        symlink(&outside, db.join("link.cvd")).unwrap();
        fs::hard_link(&outside, db.join("hard.cld")).unwrap();
        nix::unistd::mkfifo(&db.join("fifo.cvd"), Mode::from_bits_truncate(0o644)).unwrap();
        fs::create_dir(db.join("dir.cvd")).unwrap();
        let acts = DatabaseDir::open(&db, owner, "owner", &[])
            .unwrap()
            .fix_ownership()
            .unwrap();
        let md = |n: &str| fs::symlink_metadata(db.join(n)).unwrap();
        for n in ["daily.cvd", "main.cld", "freshclam.dat"] {
            assert_eq!((md(n).uid(), md(n).gid()), (4242, 4343), "{n}");
        }
        assert_eq!(md("notes.txt").uid(), 0, "not ClamAV's name");
        assert_eq!(md("bytecode.cvd").uid(), 1234, "not root's: not looked at");
        assert_eq!(
            fs::metadata(&outside).unwrap().uid(),
            0,
            "link targets untouched"
        );
        for n in ["link.cvd", "fifo.cvd", "dir.cvd"] {
            assert_eq!(md(n).uid(), 0, "{n}");
        }
        let whats: Vec<&str> = acts.iter().map(|a| a.what).collect();
        assert_eq!(
            whats.iter().filter(|w| **w == "chown").count(),
            3,
            "{acts:?}"
        );
        assert!(whats.contains(&"skip-symlink"));
        assert!(whats.contains(&"skip-hardlink"));
        assert_eq!(whats.iter().filter(|w| **w == "skip-special").count(), 2);
        assert_eq!(md(".").uid(), 4242, "the directory itself is never changed");
    }
}
