//! clamd, the scanner: where it listens (clamd.conf) and what it has loaded (`VERSION`), and
//! asking it to reload (`RELOAD`). A mail filter is protected by the signatures clamd has
//! loaded, not by the files on disk.
//!
//! Every exchange is bounded: one deadline for connect, write and read together, and at
//! most [`MAX_REPLY`] bytes read. A Unix socket lives in a directory the clamav user can
//! write, so its path may have been replaced by a symlink to some other daemon's socket:
//! before a single byte is sent, the peer's credentials (`SO_PEERCRED`) must be the user
//! clamd runs as.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest reply read: `ClamAV 1.4.6/27472/Tue Dec  1 08:00:00 2026` is ~45 bytes.
pub(crate) const MAX_REPLY: u64 = 1024;
/// clamd's built-in SelfCheck interval (seconds).
pub(crate) const DEFAULT_SELF_CHECK: u64 = 600;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "{a}"),
        }
    }
}

/// What clamd.conf says that we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClamdConf {
    /// `LocalSocket` first (what Debian configures), else `TCPSocket` on `TCPAddr`.
    pub(crate) endpoint: Option<Endpoint>,
    /// `SelfCheck` seconds: clamd reloads changed databases at most this late by itself.
    pub(crate) self_check: u64,
    /// `User` clamd runs as (the expected peer of a Unix socket).
    pub(crate) user: String,
}

/// Parses clamd.conf's few keys we need; unknown keys are clamd's business.
pub(crate) fn parse_conf(text: &str) -> ClamdConf {
    let mut local = None;
    let mut tcp_port: Option<u16> = None;
    let mut tcp_addr: Option<String> = None;
    let mut self_check = DEFAULT_SELF_CHECK;
    let mut user = "clamav".to_string();
    for line in text.lines().take(10_000) {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (k, v) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        match k {
            "LocalSocket" if v.starts_with('/') => local = Some(PathBuf::from(v)),
            "TCPSocket" => tcp_port = v.parse().ok(),
            "TCPAddr" => tcp_addr = Some(v.to_string()),
            "SelfCheck" => self_check = v.parse().unwrap_or(DEFAULT_SELF_CHECK),
            "User" if !v.is_empty() => user = v.to_string(),
            _ => {}
        }
    }
    let endpoint = local.map(Endpoint::Unix).or_else(|| {
        let port = tcp_port?;
        // No TCPAddr: clamd listens on every address; ask it on loopback.
        let ip = tcp_addr
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        Some(Endpoint::Tcp(SocketAddr::new(ip, port)))
    });
    ClamdConf {
        endpoint,
        self_check,
        user,
    }
}

/// `ClamAV 1.4.6/27472/Tue Dec  1 08:00:00 2026`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub(crate) engine: String,
    /// The daily version clamd has loaded; `None` when it runs without a daily.
    pub(crate) daily: Option<u32>,
    pub(crate) built: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ClamdError {
    #[error("cannot connect to clamd at {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("clamd at {endpoint} is run by uid {uid}, not by {want}: refusing to talk to it")]
    WrongPeer {
        endpoint: String,
        uid: u32,
        want: String,
    },
    #[error("clamd at {endpoint} did not answer within {secs:.1}s")]
    Timeout { endpoint: String, secs: f64 },
    #[error("clamd at {endpoint}: {reason}")]
    Io { endpoint: String, reason: String },
    #[error("clamd at {endpoint} answered {reply:?}, not a version")]
    BadReply { endpoint: String, reply: String },
}

/// Parses a `VERSION` reply (with or without its `\0`/newline terminator).
pub(crate) fn parse_version(reply: &[u8]) -> Option<Loaded> {
    let text = std::str::from_utf8(reply).ok()?;
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let rest = text.strip_prefix("ClamAV ")?;
    let mut parts = rest.splitn(3, '/');
    let engine = parts.next()?.trim();
    if engine.is_empty()
        || !engine
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~+".contains(&b))
    {
        return None;
    }
    let daily = match parts.next() {
        Some(d) => Some(d.trim().parse().ok()?),
        None => None,
    };
    let built = parts
        .next()
        .map(|b| crate::text::printable(b.trim()))
        .filter(|b| !b.is_empty());
    Some(Loaded {
        engine: engine.to_string(),
        daily,
        built,
    })
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Who may be at the other end of a Unix socket: the uid of the user clamd runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) uid: u32,
}

/// Whether a Unix socket's peer may be clamd: its user, or root. uid 0: under systemd the
/// listening socket is clamav-daemon.socket's, made by PID 1 (SO_PEERCRED names the
/// socket's creator); root's own socket is no lie.
fn peer_allowed(uid: u32, want: Peer) -> bool {
    uid == want.uid || uid == 0
}

/// Sends `z<COMMAND>\0` (clamd's NUL-delimited form) and reads the reply, all before
/// `deadline`.
fn exchange(
    endpoint: &Endpoint,
    peer: Option<Peer>,
    command: &str,
    deadline: Instant,
) -> Result<Vec<u8>, ClamdError> {
    let ep = endpoint.to_string();
    let left = || deadline.saturating_duration_since(Instant::now());
    let timeout = || ClamdError::Timeout {
        endpoint: ep.clone(),
        secs: 0.0,
    };
    if left().is_zero() {
        return Err(timeout());
    }
    let connect_err = |e: std::io::Error| ClamdError::Connect {
        endpoint: ep.clone(),
        reason: e.to_string(),
    };
    let mut stream = match endpoint {
        // connect(2) on a Unix socket does not block on a listening peer. The socket's
        // directory is clamav's: never through a symlink planted there.
        Endpoint::Unix(p) => {
            Stream::Unix(crate::system::secure_open::connect_unix(p).map_err(|e| {
                ClamdError::Connect {
                    endpoint: ep.clone(),
                    reason: e.to_string(),
                }
            })?)
        }
        Endpoint::Tcp(a) => {
            Stream::Tcp(TcpStream::connect_timeout(a, left()).map_err(connect_err)?)
        }
    };
    if let (Stream::Unix(s), Some(want)) = (&stream, peer) {
        let cred = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)
            .map_err(|e| ClamdError::Io {
                endpoint: ep.clone(),
                reason: format!("SO_PEERCRED: {e}"),
            })?;
        if !peer_allowed(cred.uid(), want) {
            return Err(ClamdError::WrongPeer {
                endpoint: ep.clone(),
                uid: cred.uid(),
                want: format!("uid {}", want.uid),
            });
        }
    }
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            timeout()
        } else {
            ClamdError::Io {
                endpoint: ep.clone(),
                reason: e.to_string(),
            }
        }
    };
    let t = left();
    if t.is_zero() {
        return Err(timeout());
    }
    stream.set_timeouts(t).map_err(io)?;
    stream
        .write_all(format!("z{command}\0").as_bytes())
        .map_err(io)?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let t = left();
        if t.is_zero() {
            return Err(timeout());
        }
        stream.set_timeouts(t).map_err(io)?;
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        let room = (MAX_REPLY as usize).saturating_sub(reply.len());
        reply.extend_from_slice(&buf[..n.min(room)]);
        if reply.contains(&0) || reply.len() as u64 >= MAX_REPLY {
            break;
        }
    }
    let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
    reply.truncate(end);
    Ok(reply)
}

/// What clamd has loaded, asked with `VERSION`.
pub(crate) fn version(
    endpoint: &Endpoint,
    peer: Option<Peer>,
    deadline: Instant,
) -> Result<Loaded, ClamdError> {
    let started = Instant::now();
    let reply = exchange(endpoint, peer, "VERSION", deadline).map_err(|e| match e {
        ClamdError::Timeout { endpoint, .. } => ClamdError::Timeout {
            endpoint,
            secs: started.elapsed().as_secs_f64(),
        },
        e => e,
    })?;
    parse_version(&reply).ok_or_else(|| ClamdError::BadReply {
        endpoint: endpoint.to_string(),
        reply: crate::text::printable(&String::from_utf8_lossy(&reply))
            .chars()
            .take(80)
            .collect(),
    })
}

/// Asks clamd to reload its databases; `Ok` when it answered `RELOADING`.
pub(crate) fn reload(
    endpoint: &Endpoint,
    peer: Option<Peer>,
    deadline: Instant,
) -> Result<(), ClamdError> {
    let reply = exchange(endpoint, peer, "RELOAD", deadline)?;
    if reply.starts_with(b"RELOADING") {
        Ok(())
    } else {
        Err(ClamdError::BadReply {
            endpoint: endpoint.to_string(),
            reply: crate::text::printable(&String::from_utf8_lossy(&reply))
                .chars()
                .take(80)
                .collect(),
        })
    }
}

/// Reads clamd.conf (root's or clamav's file: no symlink, no FIFO, bounded).
pub(crate) fn load_conf(path: &Path) -> Result<ClamdConf, crate::system::secure_open::OpenError> {
    use crate::system::secure_open::{self, Rules};
    let bytes = secure_open::read(path, &Rules::foreign_file(), 1 << 20)?;
    Ok(parse_conf(&String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn conf_endpoints() {
        let c = parse_conf(
            "# x\nLocalSocket /run/clamav/clamd.ctl\nTCPSocket 3310\nSelfCheck 3600\nUser clamav\n",
        );
        assert_eq!(
            c.endpoint,
            Some(Endpoint::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(c.self_check, 3600);
        let c = parse_conf("TCPSocket 3310\nTCPAddr 127.0.0.2\n");
        assert_eq!(
            c.endpoint,
            Some(Endpoint::Tcp("127.0.0.2:3310".parse().unwrap()))
        );
        let c = parse_conf("TCPSocket 3310\n");
        assert_eq!(
            c.endpoint,
            Some(Endpoint::Tcp("127.0.0.1:3310".parse().unwrap()))
        );
        let c = parse_conf("LocalSocket relative\nSelfCheck x\n");
        assert_eq!(c.endpoint, None);
        assert_eq!(c.self_check, DEFAULT_SELF_CHECK);
    }

    #[test]
    fn version_replies() {
        assert_eq!(
            parse_version(b"ClamAV 1.4.6/27472/Tue Dec  1 08:00:00 2026\0"),
            Some(Loaded {
                engine: "1.4.6".into(),
                daily: Some(27472),
                built: Some("Tue Dec  1 08:00:00 2026".into()),
            })
        );
        assert_eq!(
            parse_version(b"ClamAV 1.4.6\n").map(|l| l.daily),
            Some(None),
            "no daily loaded"
        );
        for bad in [
            &b""[..],
            b"PONG",
            b"ClamAV /1/x",
            b"ClamAV 1.4.6/notanumber/x",
            b"ClamAV 1.4.6/99999999999/x",
            b"\xff\xfe",
            b"ClamAV 1.4;rm/1/x",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
        let l = parse_version(b"ClamAV 1.4.6/1/\x1b]2;x\x07").unwrap();
        assert_eq!(l.built.as_deref(), Some("?]2;x?"));
    }

    /// A fake clamd: answers each connection with `reply` after `delay`.
    fn fake(reply: &'static [u8], delay: Duration) -> (tempfile::TempDir, Endpoint) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("clamd.ctl");
        let l = UnixListener::bind(&p).unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let mut cmd = [0u8; 64];
                let _ = s.read(&mut cmd);
                std::thread::sleep(delay);
                let _ = s.write_all(reply);
            }
        });
        (d, Endpoint::Unix(p))
    }

    fn me() -> Option<Peer> {
        Some(Peer {
            uid: nix::unistd::geteuid().as_raw(),
        })
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(500)
    }

    #[test]
    fn asks_and_bounds() {
        let (_d, ep) = fake(
            b"ClamAV 1.4.6/27472/Tue Dec  1 08:00:00 2026\0",
            Duration::ZERO,
        );
        assert_eq!(version(&ep, me(), soon()).unwrap().daily, Some(27472));

        let (_d, ep) = fake(b"garbage\0", Duration::ZERO);
        assert!(matches!(
            version(&ep, me(), soon()),
            Err(ClamdError::BadReply { .. })
        ));

        let (_d, ep) = fake(b"", Duration::ZERO);
        assert!(
            matches!(version(&ep, me(), soon()), Err(ClamdError::BadReply { .. })),
            "closed early"
        );

        let (_d, ep) = fake(b"ClamAV 1.4.6/1/x\0", Duration::from_secs(3));
        let t = Instant::now();
        assert!(matches!(
            version(&ep, me(), soon()),
            Err(ClamdError::Timeout { .. })
        ));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "bounded by the deadline"
        );

        let (_d, ep) = fake(b"RELOADING\0", Duration::ZERO);
        assert_eq!(reload(&ep, me(), soon()), Ok(()));

        let (d, _ep) = fake(b"x", Duration::ZERO);
        let missing = Endpoint::Unix(d.path().join("nothing"));
        assert!(matches!(
            version(&missing, me(), soon()),
            Err(ClamdError::Connect { .. })
        ));
    }

    #[test]
    fn peers_allowed_are_clamds_user_and_root() {
        let want = Peer { uid: 102 };
        assert!(peer_allowed(102, want));
        assert!(peer_allowed(0, want));
        assert!(!peer_allowed(1000, want));
    }

    #[test]
    fn a_symlinked_socket_gets_nothing() {
        let (d, ep) = fake(b"ClamAV 1.4.6/1/x\0", Duration::ZERO);
        let Endpoint::Unix(real) = ep else { panic!() };
        let link = d.path().join("link.ctl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = version(&Endpoint::Unix(link), me(), soon()).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn a_socket_of_another_user_gets_nothing() {
        if nix::unistd::geteuid().is_root() {
            // Root's own socket is allowed (see peer_allowed): nothing to see as root.
            eprintln!("SKIP: needs a non-root user to own a socket of another user");
            return;
        }
        let (_d, ep) = fake(b"ClamAV 1.4.6/1/x\0", Duration::ZERO);
        let other = Some(Peer {
            uid: nix::unistd::geteuid().as_raw() + 1,
        });
        assert!(matches!(
            version(&ep, other, soon()),
            Err(ClamdError::WrongPeer { .. })
        ));
    }

    #[test]
    fn an_endless_reply_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("clamd.ctl");
        let l = UnixListener::bind(&p).unwrap();
        std::thread::spawn(move || {
            if let Some(Ok(mut s)) = l.incoming().next() {
                let chunk = [b'A'; 4096];
                while s.write_all(&chunk).is_ok() {}
            }
        });
        let r = exchange(&Endpoint::Unix(p), me(), "VERSION", soon()).unwrap();
        assert_eq!(r.len() as u64, MAX_REPLY);
    }
}
