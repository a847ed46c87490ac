//! The check's memory of the database files whose MD5 it has verified, so that a 60 MB
//! daily.cvd is read once per new file rather than once per check run.
//!
//! One small text file, `verified`, in a directory of the check's own (`--cache-dir`,
//! default `/var/cache/clamav-freshen`, created by the package for the user `nagios`, which
//! runs the check under Nagios 4, NRPE and Icinga 2 on Debian):
//!
//! ```text
//! clamav-freshen verified 1
//! <dev> <ino> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <md5>
//! ```
//!
//! An entry says "the file with this identity had a body whose MD5 is `<md5>`, the MD5 its
//! header claims". The identity includes ctime, which no unprivileged `touch` can set back,
//! so rewriting a database in place and restoring its mtime still means a new verification.
//!
//! The cache can only save work, never change a verdict or fail the check: when the
//! directory is missing, a symlink, not owned by the check's effective uid or writable by
//! others, there is no cache and every run verifies. A cache file that is a symlink, not a
//! regular file, someone else's, too large or not in this format is ignored and replaced
//! (atomically: a new file renamed over it) after the next verification.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::system::secure_open::{self, Access, OpenError, Rules};
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::Mode;
use nix::unistd::{UnlinkatFlags, unlinkat};

const FILE_NAME: &str = "verified";
const MAGIC: &str = "clamav-freshen verified 1";
/// Longest cache file read; a full one is under 1 KiB.
pub(crate) const MAX_LEN: u64 = 4096;
/// Files remembered: daily.cvd, and a few predecessors while a new one comes in.
pub(crate) const MAX_ENTRIES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error("{dir}: {source}")]
    Open {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{dir} is a symbolic link (not followed)")]
    Symlink { dir: PathBuf },
    #[error("{dir} is owned by uid {owner}, not by this check's uid {euid}")]
    NotOwned { dir: PathBuf, owner: u32, euid: u32 },
    #[error("{dir} is writable by group or others (mode {mode:04o})")]
    Writable { dir: PathBuf, mode: u32 },
    #[error("cannot write {dir}/{FILE_NAME}: {source}")]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
}

impl CacheError {
    /// The secure open's refusal of the directory, in the cache's words. With O_DIRECTORY,
    /// Linux says ENOTDIR for a symlink rather than ELOOP: a link is named as one either way.
    fn refused(dir: &Path, e: OpenError) -> CacheError {
        let dir = dir.to_path_buf();
        let open = |dir, source| CacheError::Open { dir, source };
        match e {
            OpenError::Owner { uid, want, .. } => CacheError::NotOwned {
                dir,
                owner: uid,
                euid: want,
            },
            OpenError::Writable { mode, .. } => CacheError::Writable { dir, mode },
            OpenError::Symlink { .. } => CacheError::Symlink { dir },
            _ if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) => {
                CacheError::Symlink { dir }
            }
            OpenError::NotFound { .. } => open(dir, Errno::ENOENT.into()),
            OpenError::Kind { .. } => open(dir, Errno::ENOTDIR.into()),
            OpenError::Open { source, .. } => open(dir, source.into()),
            OpenError::Read { source, .. } | OpenError::Connect { source, .. } => open(dir, source),
            e @ OpenError::TooLarge { .. } => open(dir, std::io::Error::other(e)),
        }
    }
}

/// Why the cache file's content was not used (it is replaced after the next verification).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Ignored {
    #[error("is a symbolic link (not followed)")]
    Symlink,
    #[error("not a regular file")]
    NotRegular,
    #[error("owned by uid {uid}, not {euid}")]
    NotOwned { uid: u32, euid: u32 },
    #[error("{len} bytes, larger than {max}")]
    TooLarge { len: u64, max: u64 },
    #[error("not a cache file of this format")]
    Format,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
    pub(crate) mtime: (i64, i64),
    pub(crate) ctime: (i64, i64),
}

impl FileId {
    pub(crate) fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: FileId,
    md5: String,
}

/// The cache directory, open (as a directory, not followed through a symlink), and the
/// entries read from it.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    path: PathBuf,
    dir: File,
    entries: Vec<Entry>,
    /// Why the cache file's content was not used, for `-v`; None when it was (or was absent).
    pub(crate) ignored: Option<Ignored>,
}

impl VerifiedCache {
    /// Opens the directory and reads the cache file. Errors mean "no cache".
    ///
    /// The directory goes through the one secure open: a directory (never through a
    /// symlink) of the check's effective uid, closed to group and others.
    pub(crate) fn open(dir: &Path) -> Result<VerifiedCache, CacheError> {
        let d = open_dir(dir)?;
        let mut cache = VerifiedCache {
            path: dir.into(),
            dir: d,
            entries: Vec::new(),
            ignored: None,
        };
        let read = read_in(&cache.dir, FILE_NAME, MAX_LEN).and_then(|b| match b {
            None => Ok(Vec::new()),
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(parse)
                .ok_or(Ignored::Format),
        });
        match read {
            Ok(entries) => cache.entries = entries,
            Err(why) => cache.ignored = Some(why),
        }
        Ok(cache)
    }

    /// Whether the file with `id` was verified to have a body with MD5 `md5`.
    pub(crate) fn contains(&self, id: &FileId, md5: &str) -> bool {
        self.entries.iter().any(|e| e.id == *id && e.md5 == md5)
    }

    /// Remembers a verified file (newest first, [`MAX_ENTRIES`] at most, one per inode) and
    /// writes the cache file atomically: a new file renamed over the old one, so a reader
    /// sees the old or the new, never half, and a symlink in its place is replaced, never
    /// followed.
    pub(crate) fn record(&mut self, id: FileId, md5: &str) -> Result<(), CacheError> {
        self.entries
            .retain(|e| (e.id.dev, e.id.ino) != (id.dev, id.ino));
        self.entries.insert(
            0,
            Entry {
                id,
                md5: md5.to_string(),
            },
        );
        self.entries.truncate(MAX_ENTRIES);
        let text = format(&self.entries);
        write_in(&self.dir, FILE_NAME, text.as_bytes()).map_err(|source| CacheError::Write {
            dir: self.path.clone(),
            source,
        })?;
        self.ignored = None;
        Ok(())
    }
}

/// The cache directory, opened through the one secure open: a directory (never through a
/// symlink) of the check's effective uid, closed to group and others.
pub(crate) fn open_dir(dir: &Path) -> Result<File, CacheError> {
    let euid = nix::unistd::geteuid().as_raw();
    secure_open::open(dir, Access::Read, &Rules::own_dir(euid))
        .map_err(|e| CacheError::refused(dir, e))
}

/// The bytes of the file `name` in the cache directory `dir`; `None` when absent, an error
/// when it is not to be used (why it is ignored).
///
/// Opened relative to the directory's descriptor (what the atomic replacement renames
/// over; the secure open takes paths) and checked on that descriptor as it would be: no
/// symlink, no blocking, a regular file of ours, at most `max` bytes.
pub(crate) fn read_in(dir: &File, name: &str, max: u64) -> Result<Option<Vec<u8>>, Ignored> {
    let euid = nix::unistd::geteuid().as_raw();
    let fd = match openat(
        dir.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::Error::ENOENT) => return Ok(None),
        Err(nix::Error::ELOOP) => return Err(Ignored::Symlink),
        Err(e) => return Err(std::io::Error::from(e).into()),
    };
    let f = File::from(fd);
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(Ignored::NotRegular);
    }
    if m.uid() != euid {
        return Err(Ignored::NotOwned { uid: m.uid(), euid });
    }
    if m.len() > max {
        return Err(Ignored::TooLarge { len: m.len(), max });
    }
    let mut bytes = Vec::with_capacity(m.len() as usize + 1);
    f.take(max + 1).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Writes `name` in `dir` atomically: a new file renamed over the old one, so a reader sees
/// the old or the new, never half, and a symlink in its place is replaced, never followed.
pub(crate) fn write_in(dir: &File, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{name}.{}.tmp", std::process::id());
    // A leftover of a killed run with the same pid.
    let _ = unlinkat(dir.as_fd(), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    let fd = openat(
        dir.as_fd(),
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    let written = File::from(fd).write_all(bytes);
    let renamed = written.and_then(|()| {
        renameat(dir.as_fd(), tmp.as_str(), dir.as_fd(), name).map_err(std::io::Error::from)
    });
    if renamed.is_err() {
        let _ = unlinkat(dir.as_fd(), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
    renamed
}

fn format(entries: &[Entry]) -> String {
    let mut s = format!("{MAGIC}\n");
    for e in entries {
        let i = &e.id;
        s.push_str(&format!(
            "{} {} {} {} {} {} {} {}\n",
            i.dev, i.ino, i.size, i.mtime.0, i.mtime.1, i.ctime.0, i.ctime.1, e.md5
        ));
    }
    s
}

/// The entries, or None when any line is not exactly what [`format`] writes.
fn parse(text: &str) -> Option<Vec<Entry>> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut entries = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 8 || entries.len() == MAX_ENTRIES {
            return None;
        }
        let u = |s: &str| s.parse::<u64>().ok();
        let i = |s: &str| s.parse::<i64>().ok();
        let md5 = f[7];
        if md5.len() != 32 || !md5.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        entries.push(Entry {
            id: FileId {
                dev: u(f[0])?,
                ino: u(f[1])?,
                size: u(f[2])?,
                mtime: (i(f[3])?, i(f[4])?),
                ctime: (i(f[5])?, i(f[6])?),
            },
            md5: md5.to_string(),
        });
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Why the cache file was ignored, as `-v` says it.
    fn why(c: &VerifiedCache) -> Option<String> {
        c.ignored.as_ref().map(ToString::to_string)
    }

    const MD5: &str = "3e249e00076b0b15bb54ced37be880c7";

    fn id(n: u64) -> FileId {
        FileId {
            dev: 2049,
            ino: n,
            size: 9952,
            mtime: (1_800_000_000, 5),
            ctime: (1_800_000_001, 6),
        }
    }

    fn private_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn records_survive_a_reopen_and_a_changed_file_misses() {
        let d = private_dir();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        assert!(c.ignored.is_none());
        assert!(!c.contains(&id(1), MD5));
        c.record(id(1), MD5).unwrap();
        let c = VerifiedCache::open(d.path()).unwrap();
        assert!(c.contains(&id(1), MD5));
        assert!(!c.contains(&id(1), &MD5.replace('3', "4")), "other MD5");
        for changed in [
            FileId {
                size: 9953,
                ..id(1)
            },
            FileId {
                mtime: (1_800_000_000, 6),
                ..id(1)
            },
            FileId {
                ctime: (1_800_000_002, 6),
                ..id(1)
            },
            FileId { dev: 7, ..id(1) },
            id(2),
        ] {
            assert!(!c.contains(&changed, MD5), "{changed:?}");
        }
        let text = std::fs::read_to_string(d.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            text,
            format!("{MAGIC}\n2049 1 9952 1800000000 5 1800000001 6 {MD5}\n")
        );
        let mode = std::fs::metadata(d.path().join(FILE_NAME)).unwrap().mode();
        assert_eq!(mode & 0o077, 0, "only the check reads it: {mode:o}");
    }

    #[test]
    fn bounded_newest_first_one_entry_per_inode() {
        let d = private_dir();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        for n in 0..20 {
            c.record(id(n), MD5).unwrap();
        }
        c.record(FileId { size: 1, ..id(19) }, MD5).unwrap();
        let c = VerifiedCache::open(d.path()).unwrap();
        assert_eq!(c.entries.len(), MAX_ENTRIES);
        assert_eq!(c.entries[0].id, FileId { size: 1, ..id(19) });
        assert_eq!(c.entries[1].id, id(18));
        assert!(!c.contains(&id(19), MD5), "replaced");
        assert!(!c.contains(&id(5), MD5), "dropped");
        let len = std::fs::metadata(d.path().join(FILE_NAME)).unwrap().len();
        assert!(len < MAX_LEN / 4, "{len}");
        // No temp file left behind.
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn garbage_or_hostile_cache_files_are_ignored_then_replaced() {
        let good = format!("{MAGIC}\n2049 1 9952 1800000000 5 1800000001 6 {MD5}\n");
        for bad in [
            String::new(),
            "garbage\n".to_string(),
            good.replace(MAGIC, "clamav-freshen verified 2"),
            good.replace(" 6 ", " x "),
            good.replace(MD5, &MD5.to_uppercase()),
            good.replace(MD5, "short"),
            format!("{good}extra line\n"),
            format!("{MAGIC}\n{}", good.lines().nth(1).unwrap().repeat(2)),
            format!(
                "{MAGIC}\n{}",
                format!("{}\n", good.lines().nth(1).unwrap()).repeat(9)
            ),
            "\u{0}\u{ff}".to_string(),
        ] {
            let d = private_dir();
            std::fs::write(d.path().join(FILE_NAME), &bad).unwrap();
            let mut c = VerifiedCache::open(d.path()).unwrap();
            assert!(!c.contains(&id(1), MD5), "{bad:?}");
            assert_eq!(
                why(&c).as_deref(),
                Some("not a cache file of this format"),
                "{bad:?}"
            );
            c.record(id(1), MD5).unwrap();
            assert_eq!(
                std::fs::read_to_string(d.path().join(FILE_NAME)).unwrap(),
                good
            );
        }
        // Too large: not even read.
        let d = private_dir();
        let f = File::create(d.path().join(FILE_NAME)).unwrap();
        f.set_len(64 << 20).unwrap();
        let c = VerifiedCache::open(d.path()).unwrap();
        assert!(why(&c).unwrap().contains("larger than 4096"));

        // A symlink (here to a file that would parse) is neither followed nor written through.
        let d = private_dir();
        let target = d.path().join("elsewhere");
        std::fs::write(&target, &good).unwrap();
        std::os::unix::fs::symlink(&target, d.path().join(FILE_NAME)).unwrap();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        assert!(!c.contains(&id(1), MD5));
        assert!(why(&c).unwrap().contains("symbolic link"));
        c.record(id(2), MD5).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), good, "untouched");
        assert!(
            !std::fs::symlink_metadata(d.path().join(FILE_NAME))
                .unwrap()
                .file_type()
                .is_symlink()
        );

        // A FIFO does not block the check.
        let d = private_dir();
        nix::unistd::mkfifo(&d.path().join(FILE_NAME), Mode::from_bits_truncate(0o644)).unwrap();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        assert_eq!(why(&c).as_deref(), Some("not a regular file"));
        c.record(id(1), MD5).unwrap();
        assert!(VerifiedCache::open(d.path()).unwrap().contains(&id(1), MD5));

        // A directory in its place: ignored, and the write fails without harm.
        let d = private_dir();
        std::fs::create_dir(d.path().join(FILE_NAME)).unwrap();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        assert!(c.ignored.is_some());
        assert!(c.record(id(1), MD5).is_err());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn unusable_directories_mean_no_cache() {
        let d = private_dir();
        let e = VerifiedCache::open(&d.path().join("missing")).unwrap_err();
        assert!(matches!(e, CacheError::Open { .. }), "{e}");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(d.path(), &link).unwrap();
        let e = VerifiedCache::open(&link).unwrap_err();
        assert!(matches!(e, CacheError::Symlink { .. }), "{e}");
        std::fs::write(d.path().join("file"), "").unwrap();
        assert!(VerifiedCache::open(&d.path().join("file")).is_err());
        for mode in [0o775, 0o757, 0o1777] {
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let e = VerifiedCache::open(d.path()).unwrap_err();
            assert!(matches!(e, CacheError::Writable { .. }), "{mode:o}: {e}");
        }
        // Another user's directory (as root: chown it away; otherwise / is someone else's).
        if nix::unistd::geteuid().is_root() {
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            std::os::unix::fs::chown(d.path(), Some(65534), None).unwrap();
            let e = VerifiedCache::open(d.path()).unwrap_err();
            assert!(
                e.to_string()
                    .contains("owned by uid 65534, not by this check's uid 0")
            );
        } else {
            let e = VerifiedCache::open(Path::new("/")).unwrap_err();
            assert!(matches!(e, CacheError::NotOwned { .. }), "{e}");
        }
    }

    #[test]
    fn another_users_cache_file_is_ignored() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: another_users_cache_file_is_ignored: needs root to chown");
            return;
        }
        let d = private_dir();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        c.record(id(1), MD5).unwrap();
        std::os::unix::fs::chown(d.path().join(FILE_NAME), Some(65534), None).unwrap();
        let mut c = VerifiedCache::open(d.path()).unwrap();
        assert!(!c.contains(&id(1), MD5));
        assert_eq!(why(&c).as_deref(), Some("owned by uid 65534, not 0"));
        c.record(id(1), MD5).unwrap();
        let m = std::fs::metadata(d.path().join(FILE_NAME)).unwrap();
        assert_eq!(m.uid(), 0, "replaced by our own");
    }
}
