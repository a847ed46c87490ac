//! The one way the handler opens a file, and the check a database file or its cache
//! directory (sudo-rs's model): never through a symlink (`O_NOFOLLOW`), never blocking on a
//! FIFO or a device (`O_NONBLOCK` for reads), and the kind, owner and mode checked with
//! `fstat` on the opened descriptor itself, so no rename between a check and the open can
//! swap the file. Callers audit the typed refusal.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, fstat};
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Directory,
    Fifo,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Regular => "regular file",
            Kind::Directory => "directory",
            Kind::Fifo => "FIFO",
        }
    }
    fn matches(self, st_mode: u32) -> bool {
        let t = st_mode & nix::libc::S_IFMT;
        match self {
            Kind::Regular => t == nix::libc::S_IFREG,
            Kind::Directory => t == nix::libc::S_IFDIR,
            Kind::Fifo => t == nix::libc::S_IFIFO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Write only, no creation (a FIFO: fails at once without a reader).
    Write,
    /// Append, creating with this mode.
    Append(u32),
    /// Read and write, creating with this mode, never truncating.
    ReadWriteCreate(u32),
    /// Write a new file with this mode; fails if anything is there already.
    CreateNew(u32),
}

/// What the opened descriptor must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    pub(crate) kind: Kind,
    /// Required owner; `None`: anyone (files of other users we only read).
    pub(crate) owner: Option<u32>,
    /// Refuse group- or world-writable objects (whatever root trusts must be closed).
    pub(crate) closed: bool,
}

impl Rules {
    /// A regular file of anyone's, read defensively (clamav's files).
    pub(crate) const fn foreign_file() -> Rules {
        Rules {
            kind: Kind::Regular,
            owner: None,
            closed: false,
        }
    }
    /// A regular file that must be `uid`'s and closed to others (root's own files).
    pub(crate) const fn own_file(uid: u32) -> Rules {
        Rules {
            kind: Kind::Regular,
            owner: Some(uid),
            closed: true,
        }
    }
    /// A directory that must be `uid`'s and closed to others.
    pub(crate) const fn own_dir(uid: u32) -> Rules {
        Rules {
            kind: Kind::Directory,
            owner: Some(uid),
            closed: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is a symbolic link", path.display())]
    Symlink { path: PathBuf },
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: Errno },
    #[error("{} is not a {want}", path.display())]
    Kind { path: PathBuf, want: &'static str },
    #[error("{} is owned by uid {uid}, must be owned by uid {want}", path.display())]
    Owner { path: PathBuf, uid: u32, want: u32 },
    #[error("{} is writable by group or others (mode {mode:o})", path.display())]
    Writable { path: PathBuf, mode: u32 },
    #[error("{} is larger than {max} bytes", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    /// A socket that would not take the connection (the caller names the endpoint).
    #[error("{source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OpenError {
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            OpenError::NotFound { .. } => true,
            OpenError::Connect { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// Opens `path` for `access` and checks the descriptor against `rules`.
pub(crate) fn open(path: &Path, access: Access, rules: &Rules) -> Result<File, OpenError> {
    let (flags, mode) = match access {
        Access::Read => (OFlag::O_RDONLY | OFlag::O_NONBLOCK, 0),
        Access::Write => (OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY, 0),
        Access::Append(m) => (OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT, m),
        Access::ReadWriteCreate(m) => (OFlag::O_RDWR | OFlag::O_CREAT, m),
        Access::CreateNew(m) => (OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL, m),
    };
    let mut flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    if rules.kind == Kind::Directory {
        flags |= OFlag::O_DIRECTORY;
    }
    let fd: OwnedFd =
        nix::fcntl::open(path, flags, Mode::from_bits_truncate(mode)).map_err(|e| match e {
            Errno::ENOENT => OpenError::NotFound { path: path.into() },
            Errno::ELOOP => OpenError::Symlink { path: path.into() },
            Errno::ENOTDIR if rules.kind == Kind::Directory => OpenError::Kind {
                path: path.into(),
                want: rules.kind.name(),
            },
            source => OpenError::Open {
                path: path.into(),
                source,
            },
        })?;
    let st = fstat(&fd).map_err(|source| OpenError::Open {
        path: path.into(),
        source,
    })?;
    if !rules.kind.matches(st.st_mode) {
        return Err(OpenError::Kind {
            path: path.into(),
            want: rules.kind.name(),
        });
    }
    if let Some(want) = rules.owner
        && st.st_uid != want
    {
        return Err(OpenError::Owner {
            path: path.into(),
            uid: st.st_uid,
            want,
        });
    }
    if rules.closed && st.st_mode & 0o022 != 0 {
        return Err(OpenError::Writable {
            path: path.into(),
            mode: st.st_mode & 0o7777,
        });
    }
    let file = File::from(fd);
    if access == Access::Read && rules.kind == Kind::Regular {
        // Reads of regular files need not be non-blocking; clear it so `read` behaves.
        let _ = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()));
    }
    Ok(file)
}

/// Reads a whole regular file of at most `max` bytes (a larger one is refused, not cut).
pub(crate) fn read(path: &Path, rules: &Rules, max: u64) -> Result<Vec<u8>, OpenError> {
    let f = open(path, Access::Read, rules)?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|source| OpenError::Read {
            path: path.into(),
            source,
        })?;
    if buf.len() as u64 > max {
        return Err(OpenError::TooLarge {
            path: path.into(),
            max,
        });
    }
    Ok(buf)
}

/// Connects to the Unix socket at `path` without following a symlink at its last
/// component: the socket inode is pinned with `O_PATH | O_NOFOLLOW`, checked to be a socket
/// on that descriptor, and connected through `/proc/self/fd/N`, so a rename between the
/// check and the connect cannot point it elsewhere (the directory may be another user's).
pub(crate) fn connect_unix(path: &Path) -> Result<std::os::unix::net::UnixStream, OpenError> {
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd: OwnedFd =
        nix::fcntl::open(path, flags, Mode::empty()).map_err(|e| OpenError::Connect {
            path: path.into(),
            source: e.into(),
        })?;
    let st = fstat(&fd).map_err(|source| OpenError::Open {
        path: path.into(),
        source,
    })?;
    match st.st_mode & nix::libc::S_IFMT {
        nix::libc::S_IFSOCK => {}
        // O_PATH | O_NOFOLLOW opens the link itself rather than failing.
        nix::libc::S_IFLNK => return Err(OpenError::Symlink { path: path.into() }),
        _ => {
            return Err(OpenError::Kind {
                path: path.into(),
                want: "socket",
            });
        }
    }
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    use std::os::fd::AsRawFd;
    let pinned = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let err = |source: std::io::Error| OpenError::Connect {
        path: path.into(),
        source,
    };
    let addr = UnixAddr::new(pinned.as_str()).map_err(|e| err(e.into()))?;
    // Non-blocking: connect(2) on a Unix socket whose listen queue is full blocks, whatever
    // the timeouts set later; then it fails at once (EAGAIN) instead.
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(|e| err(e.into()))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| match e {
        Errno::EAGAIN => err(std::io::Error::other("listen queue full (busy or hung)")),
        e => err(e.into()),
    })?;
    let stream = std::os::unix::net::UnixStream::from(sock);
    stream.set_nonblocking(false).map_err(err)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn refusals_are_typed() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read(&f, &Rules::own_file(me()), 10).unwrap(), b"x");
        let l = d.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert!(matches!(
            read(&l, &Rules::foreign_file(), 10),
            Err(OpenError::Symlink { .. })
        ));
        assert!(
            read(&d.path().join("none"), &Rules::foreign_file(), 10)
                .unwrap_err()
                .is_not_found()
        );
        assert!(matches!(
            read(&f, &Rules::own_file(me() + 1), 10),
            Err(OpenError::Owner { .. })
        ));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            read(&f, &Rules::own_file(me()), 10),
            Err(OpenError::Writable { mode: 0o666, .. })
        ));
        assert!(read(&f, &Rules::foreign_file(), 10).is_ok());
        std::fs::write(&f, "0123456789a").unwrap();
        assert!(matches!(
            read(&f, &Rules::foreign_file(), 10),
            Err(OpenError::TooLarge { max: 10, .. })
        ));
        assert!(matches!(
            read(d.path(), &Rules::foreign_file(), 10),
            Err(OpenError::Kind { .. })
        ));
        assert!(matches!(
            open(&f, Access::Read, &Rules::own_dir(me())),
            Err(OpenError::Kind { .. })
        ));
    }

    #[test]
    fn a_fifo_never_blocks_a_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o644)).unwrap();
        assert!(matches!(
            read(&p, &Rules::foreign_file(), 10),
            Err(OpenError::Kind { .. })
        ));
        // Write to a FIFO without a reader fails at once (ENXIO) instead of hanging.
        let fifo = Rules {
            kind: Kind::Fifo,
            owner: None,
            closed: false,
        };
        assert!(matches!(
            open(&p, Access::Write, &fifo),
            Err(OpenError::Open {
                source: Errno::ENXIO,
                ..
            })
        ));
    }

    #[test]
    fn a_socket_is_connected_and_a_symlink_to_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("s.ctl");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(connect_unix(&sock).is_ok());
        let link = d.path().join("link.ctl");
        std::os::unix::fs::symlink(&sock, &link).unwrap();
        assert!(matches!(
            connect_unix(&link),
            Err(OpenError::Symlink { .. })
        ));
        let f = d.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        assert!(matches!(connect_unix(&f), Err(OpenError::Kind { .. })));
        assert!(
            connect_unix(&d.path().join("none"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn a_full_listen_queue_is_an_error_at_once_not_a_hang() {
        use nix::sys::socket::{
            AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, listen, socket,
        };
        use std::os::fd::AsRawFd;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("busy.ctl");
        let l = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        bind(l.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
        listen(&l, Backlog::new(0).unwrap()).unwrap();
        let t = std::time::Instant::now();
        let mut kept = Vec::new();
        let mut refused = None;
        for _ in 0..16 {
            match connect_unix(&path) {
                Ok(s) => kept.push(s),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("a full queue refuses");
        assert!(e.to_string().contains("listen queue full"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
