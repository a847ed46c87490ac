//! A fake clamd in a thread of the test: a Unix socket in a temporary directory (or TCP on
//! 127.0.0.1), one way a real clamd answers, hangs or breaks per mode, and a clamd.conf
//! naming it. It records what every connection sent.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake answers every connection.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `ClamAV <engine>/<daily>/<date>` and the NUL clamd ends a z-command's reply with.
    Version { engine: String, daily: u32 },
    /// These bytes as they are.
    Bytes(Vec<u8>),
    /// Reads the command, then sends this after the delay.
    Slow(Duration, Vec<u8>),
    /// Reads the command and never answers (the connection stays open).
    Silent,
    /// Reads the command, then closes the connection without a word.
    Close,
    /// Closes the connection at once, the command unread (the kernel then resets it).
    Reset,
    /// A clamd with daily `before` loaded that has `after` once it was sent `RELOAD`
    /// (answered `RELOADING`, as clamd does).
    Reloads { before: u32, after: u32 },
}

impl Reply {
    /// clamd's VERSION reply for engine 1.4.6 with `daily`.
    pub fn daily(daily: u32) -> Reply {
        Reply::Version {
            engine: "1.4.6".into(),
            daily,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Version { engine, daily } => {
                format!("ClamAV {engine}/{daily}/Tue Dec  1 08:00:00 2026\0").into_bytes()
            }
            Reply::Bytes(b) | Reply::Slow(_, b) => b.clone(),
            Reply::Silent | Reply::Close | Reply::Reset | Reply::Reloads { .. } => Vec::new(),
        }
    }
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
    /// Listening with a full queue, never accepting: a hung clamd.
    Full(#[allow(dead_code)] Vec<OwnedFd>),
}

pub struct FakeClamd {
    pub dir: tempfile::TempDir,
    /// `-C` argument: the socket path, or 127.0.0.1:PORT.
    pub socket: String,
    /// What each connection sent (empty: nothing before it was closed).
    pub seen: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    /// Whether an accept loop waits for a connection to see `stop` (a hung one never
    /// accepts: a connection to it would block).
    accepting: bool,
}

impl FakeClamd {
    /// On a Unix socket `clamd.ctl` in a new temporary directory.
    pub fn unix(reply: Reply) -> FakeClamd {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clamd.ctl");
        let l = UnixListener::bind(&path).unwrap();
        Self::serve(
            dir,
            path.to_str().unwrap().to_string(),
            Listener::Unix(l),
            reply,
        )
    }

    /// On a Unix socket at `path` (a handler fixture's clamd.ctl under its test root).
    pub fn unix_at(path: &Path, reply: Reply) -> FakeClamd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let l = UnixListener::bind(path).unwrap();
        Self::serve(
            dir,
            path.to_str().unwrap().to_string(),
            Listener::Unix(l),
            reply,
        )
    }

    /// On TCP, 127.0.0.1 and a free port.
    pub fn tcp(reply: Reply) -> FakeClamd {
        let dir = tempfile::tempdir().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = l.local_addr().unwrap().to_string();
        Self::serve(dir, socket, Listener::Tcp(l), reply)
    }

    /// A clamd that stopped accepting: its listen queue is full, so a connect(2) to it
    /// blocks (whatever the timeouts set on the socket afterwards).
    pub fn hung() -> FakeClamd {
        use nix::sys::socket::{
            AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clamd.ctl");
        let addr = UnixAddr::new(&path).unwrap();
        let l = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        bind(l.as_raw_fd(), &addr).unwrap();
        listen(&l, Backlog::new(1).unwrap()).unwrap();
        let mut fds = vec![l];
        for _ in 0..64 {
            let c = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_NONBLOCK,
                None,
            )
            .unwrap();
            if connect(c.as_raw_fd(), &addr).is_err() {
                break; // EAGAIN: the queue is full
            }
            fds.push(c);
        }
        FakeClamd {
            dir,
            socket: path.to_str().unwrap().to_string(),
            seen: Arc::default(),
            stop: Arc::default(),
            accepting: false,
        }
        .keep(Listener::Full(fds))
    }

    fn keep(self, l: Listener) -> FakeClamd {
        let stop = self.stop.clone();
        std::thread::spawn(move || {
            let _l = l;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        self
    }

    fn serve(dir: tempfile::TempDir, socket: String, l: Listener, reply: Reply) -> FakeClamd {
        let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (s2, st) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            loop {
                let conn: Box<dyn Conn> = match &l {
                    Listener::Unix(u) => match u.accept() {
                        Ok((c, _)) => Box::new(c),
                        Err(_) => return,
                    },
                    Listener::Tcp(t) => match t.accept() {
                        Ok((c, _)) => Box::new(c),
                        Err(_) => return,
                    },
                    Listener::Full(_) => return,
                };
                if st.load(Ordering::Relaxed) {
                    return;
                }
                let (reply, seen, stop) = (reply.clone(), s2.clone(), st.clone());
                std::thread::spawn(move || one(conn, &reply, &seen, &stop));
            }
        });
        FakeClamd {
            dir,
            socket,
            seen,
            stop,
            accepting: true,
        }
    }

    /// A clamd.conf naming this clamd's socket, run by `user`, with `extra` lines.
    pub fn conf(&self, user: &str, extra: &str) -> PathBuf {
        let socket = if self.socket.starts_with('/') {
            format!("LocalSocket {}\n", self.socket)
        } else {
            let (ip, port) = self.socket.rsplit_once(':').unwrap();
            format!("TCPSocket {port}\nTCPAddr {ip}\n")
        };
        let p = self.dir.path().join("clamd.conf");
        std::fs::write(
            &p,
            format!("# fake\nForeground yes\n{socket}User {user}\n{extra}"),
        )
        .unwrap();
        p
    }

    pub fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for FakeClamd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        if !self.accepting {
        } else if self.socket.starts_with('/') {
            let _ = std::os::unix::net::UnixStream::connect(&self.socket);
        } else {
            let _ = std::net::TcpStream::connect(&self.socket);
        }
    }
}

trait Conn: Read + Write + Send {
    fn set_timeout(&self, d: Duration);
}

impl Conn for std::os::unix::net::UnixStream {
    fn set_timeout(&self, d: Duration) {
        let _ = self.set_read_timeout(Some(d));
    }
}

impl Conn for std::net::TcpStream {
    fn set_timeout(&self, d: Duration) {
        let _ = self.set_read_timeout(Some(d));
    }
}

/// One connection: the command read up to its NUL, then the mode's answer.
fn one(mut c: Box<dyn Conn>, reply: &Reply, seen: &Mutex<Vec<Vec<u8>>>, stop: &AtomicBool) {
    if let Reply::Reset = reply {
        seen.lock().unwrap().push(Vec::new());
        return;
    }
    c.set_timeout(Duration::from_secs(5));
    let mut cmd = Vec::new();
    let mut buf = [0u8; 64];
    while !cmd.contains(&0) && cmd.len() < 1024 {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => cmd.extend_from_slice(&buf[..n]),
        }
    }
    let reloaded = seen.lock().unwrap().iter().any(|c| c == b"zRELOAD\0");
    seen.lock().unwrap().push(cmd.clone());
    match reply {
        Reply::Reloads { before, after } => {
            let answer = if cmd == b"zRELOAD\0" {
                b"RELOADING\0".to_vec()
            } else {
                let d = if reloaded { after } else { before };
                Reply::daily(*d).bytes()
            };
            let _ = c.write_all(&answer);
        }
        Reply::Silent => {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Reply::Close => {}
        Reply::Slow(d, _) => {
            std::thread::sleep(*d);
            let _ = c.write_all(&reply.bytes());
        }
        _ => {
            let _ = c.write_all(&reply.bytes());
        }
    }
}
