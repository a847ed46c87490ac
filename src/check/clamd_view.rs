//! What clamd has loaded, next to the files on disk. A mail filter is protected by the
//! signatures in clamd's memory: clamd takes a new daily only when it reloads, by itself at
//! most `SelfCheck` seconds after the files changed, or at once when freshclam's
//! `NotifyClamd` asks it to.
//!
//! The rules (the man page says the same):
//! - clamd not configured (no clamd.conf and no `-C`), or `--no-clamd`: nothing is said.
//! - clamd has the files' daily, or a newer one: OK, "clamd loaded N".
//! - clamd has an older daily, or none: the newer file appeared on disk at its mtime. Until
//!   the grace has passed since then, OK ("reload pending"); after it WARNING, after twice
//!   the grace CRITICAL ("not reloaded"). How many revisions behind does not matter: one
//!   missed reload is the fault, and freshclam may bring several revisions at once.
//! - clamd configured but not answering, closing without a reply, answering something that
//!   is not a version, or its Unix socket served by another user than clamd.conf's `User`
//!   (or that user unknown): CRITICAL, mail is not scanned.
//! - clamd.conf unreadable, or naming no socket: UNKNOWN, the check cannot tell.

use super::plugin::format_age;
use crate::clamav::clamd::{self, ClamdError, Endpoint, Loaded, Peer};
use crate::nagios::ServiceState;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// clamd's built-in TCP port, for `-C IP` without one.
pub(crate) const CLAMD_PORT: u16 = 3310;
/// Added to clamd.conf's SelfCheck for the default grace: clamd needs time to load a daily
/// (about a minute for the official databases), and the check runs every few minutes.
pub(crate) const GRACE_MARGIN_SECS: u64 = 300;
/// The question to clamd ends this much before the check's deadline, so that its own
/// reason (refused, timed out, ...) arrives before the check stops waiting.
const SLACK: Duration = Duration::from_millis(25);

/// How the check finds clamd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClamdOptions {
    /// `--no-clamd`.
    Off,
    On {
        /// `--clamd-conf`: LocalSocket / TCPSocket / TCPAddr, User, SelfCheck.
        conf: PathBuf,
        /// `-C`: the socket, instead of clamd.conf's.
        socket: Option<Endpoint>,
        /// `--clamd-grace` seconds, instead of SelfCheck + [`GRACE_MARGIN_SECS`].
        grace: Option<u64>,
    },
}

impl Default for ClamdOptions {
    fn default() -> Self {
        ClamdOptions::On {
            conf: crate::defaults::CLAMD_CONF.into(),
            socket: None,
            grace: None,
        }
    }
}

/// Parses `-C`: an absolute Unix socket path, or IP[:PORT] (port 3310 when none).
pub(crate) fn parse_socket(s: &str) -> Result<Endpoint, BadSocket> {
    if s.starts_with('/') {
        return Ok(Endpoint::Unix(s.into()));
    }
    crate::dns::parse_ip_port(s, CLAMD_PORT)
        .map(Endpoint::Tcp)
        .ok_or_else(|| BadSocket(s.to_string()))
}

/// `-C` that is neither an absolute path nor IP[:PORT].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid clamd socket {0:?} for -C: expected an absolute Unix socket path or an IP \
     address with optional :PORT"
)]
pub(crate) struct BadSocket(String);

/// What the check learned of clamd.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    /// Not configured, or not to be asked: nothing to say.
    Absent,
    Loaded {
        endpoint: Endpoint,
        loaded: Loaded,
        /// Seconds clamd may lag the files.
        grace: u64,
    },
    /// CRITICAL: clamd is configured but did not answer, or is not to be trusted.
    Failed(String),
    /// UNKNOWN: where clamd listens cannot be told.
    Unusable(String),
}

/// The question to clamd, under way beside the rest of the check.
pub(crate) enum Asking {
    Known(Seen),
    Waiting {
        endpoint: Endpoint,
        user: String,
        grace: u64,
        started: Instant,
        rx: mpsc::Receiver<Result<Loaded, ClamdError>>,
    },
}

/// Reads clamd.conf and starts asking clamd `VERSION`, to be answered by `deadline`.
pub(crate) fn ask(opts: &ClamdOptions, deadline: Instant, details: &mut Vec<String>) -> Asking {
    let ClamdOptions::On {
        conf: path,
        socket,
        grace,
    } = opts
    else {
        details.push("clamd: not asked (--no-clamd)".into());
        return Asking::Known(Seen::Absent);
    };
    let conf = match clamd::load_conf(path) {
        Ok(c) => {
            details.push(format!("clamd: read {}", path.display()));
            Some(c)
        }
        Err(e) if e.is_not_found() => None,
        Err(e) => return Asking::Known(Seen::Unusable(format!("cannot use clamd.conf: {e}"))),
    };
    let (endpoint, conf) = match (socket, conf) {
        // -C: clamd.conf, if any, still says who runs clamd and how often it checks.
        (Some(ep), c) => (ep.clone(), c.unwrap_or_else(|| clamd::parse_conf(""))),
        (None, Some(c)) => match c.endpoint.clone() {
            Some(ep) => (ep, c),
            None => {
                return Asking::Known(Seen::Unusable(format!(
                    "{} names no LocalSocket or TCPSocket: clamd cannot be asked (-C names its \
                     socket, --no-clamd skips it)",
                    path.display()
                )));
            }
        },
        // No clamav-daemon on this host: the check is what it was without clamd.
        (None, None) => {
            details.push(format!(
                "clamd: {} not found, clamd not asked",
                path.display()
            ));
            return Asking::Known(Seen::Absent);
        }
    };
    let grace = grace.unwrap_or(conf.self_check.saturating_add(GRACE_MARGIN_SECS));
    // A Unix socket lives in a directory the clamav user writes: only clamd's own user (or
    // root: systemd's clamav-daemon.socket) may be at the other end (clamd::version checks
    // SO_PEERCRED before sending anything, and never connects through a symlink).
    let peer = match &endpoint {
        Endpoint::Unix(_) => match uzers::get_user_by_name(&conf.user) {
            Some(u) => Some(Peer { uid: u.uid() }),
            None => {
                return Asking::Known(Seen::Failed(format!(
                    "mail is not scanned: clamd's User {:?} (clamd.conf) is unknown here: \
                     refusing to ask {endpoint}",
                    conf.user
                )));
            }
        },
        Endpoint::Tcp(_) => None,
    };
    details.push(format!(
        "clamd: asking {endpoint} for VERSION ({}), grace {grace}s",
        match peer {
            Some(p) => format!("peer must be {} uid {} or root", conf.user, p.uid),
            None => "TCP: the peer cannot be verified".into(),
        }
    ));
    // A thread: the question runs beside the DNS lookup, within the same deadline, and a
    // clamd whose listen queue is full (connect(2) on a Unix socket then blocks whatever the
    // socket's timeouts) cannot hold the check past -t: the check stops waiting at the
    // deadline and exits, the thread with it.
    let (tx, rx) = mpsc::channel();
    let ep = endpoint.clone();
    let until = deadline.checked_sub(SLACK).unwrap_or(deadline);
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name("clamd".into())
        .spawn(move || {
            let _ = tx.send(clamd::version(&ep, peer, until));
        });
    if let Err(e) = spawned {
        return Asking::Known(Seen::Unusable(format!("cannot ask clamd: {e}")));
    }
    Asking::Waiting {
        endpoint,
        user: conf.user,
        grace,
        started,
        rx,
    }
}

impl Asking {
    /// clamd's answer, waited for until `deadline` at the latest.
    pub(crate) fn answer(self, deadline: Instant, details: &mut Vec<String>) -> Seen {
        let (endpoint, user, grace, started, rx) = match self {
            Asking::Known(seen) => return seen,
            Asking::Waiting {
                endpoint,
                user,
                grace,
                started,
                rx,
            } => (endpoint, user, grace, started, rx),
        };
        let got = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let secs = started.elapsed().as_secs_f64();
        match got {
            Ok(Ok(loaded)) => {
                details.push(format!(
                    "clamd: ClamAV {}/{}/{} ({secs:.3}s)",
                    loaded.engine,
                    loaded
                        .daily
                        .map_or_else(|| "no daily".to_string(), |d| d.to_string()),
                    loaded.built.as_deref().unwrap_or("")
                ));
                Seen::Loaded {
                    endpoint,
                    loaded,
                    grace,
                }
            }
            Ok(Err(e)) => Seen::Failed(failure(&e, &user)),
            Err(RecvTimeoutError::Timeout) => Seen::Failed(format!(
                "mail is not scanned: clamd at {endpoint} not answering: no reply within \
                 {secs:.1}s"
            )),
            Err(RecvTimeoutError::Disconnected) => {
                Seen::Unusable("asking clamd failed internally".into())
            }
        }
    }
}

/// The reason clamd cannot be relied on, for the status text.
fn failure(e: &ClamdError, user: &str) -> String {
    let why = match e {
        ClamdError::Connect { endpoint, reason } => {
            format!("clamd at {endpoint} not answering: cannot connect: {reason}")
        }
        ClamdError::Timeout { endpoint, secs } => {
            format!("clamd at {endpoint} not answering: no reply within {secs:.1}s")
        }
        ClamdError::Io { endpoint, reason } => {
            format!("clamd at {endpoint} not answering: {reason}")
        }
        ClamdError::BadReply { endpoint, reply } if reply.is_empty() => {
            format!("clamd at {endpoint} not answering: closed the connection without a reply")
        }
        ClamdError::BadReply { endpoint, reply } => {
            format!("clamd at {endpoint} answered {reply:?}, not a version")
        }
        ClamdError::WrongPeer {
            endpoint,
            uid,
            want,
        } => format!(
            "{endpoint} is served by uid {uid}, not by clamd's User {user} ({want}): refusing \
             to talk to it"
        ),
    };
    format!("mail is not scanned: {why}")
}

/// The newest daily on disk, and since when it is there (epoch seconds: its mtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OnDisk {
    pub(crate) daily: u32,
    pub(crate) since: i64,
}

/// clamd's part of the check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judged {
    pub(crate) state: ServiceState,
    pub(crate) text: String,
    /// `clamd_daily=N`, when clamd has a daily.
    pub(crate) perf: Option<String>,
}

/// Judges what clamd has loaded against the files at `now`; `None` when clamd is not part
/// of the check. Without the files (unreadable, corrupt) what clamd has is only reported.
pub(crate) fn judge(seen: &Seen, disk: Option<OnDisk>, now: i64) -> Option<Judged> {
    let (loaded, grace) = match seen {
        Seen::Absent => return None,
        Seen::Failed(why) => {
            return Some(Judged {
                state: ServiceState::Critical,
                text: why.clone(),
                perf: None,
            });
        }
        Seen::Unusable(why) => {
            return Some(Judged {
                state: ServiceState::Unknown,
                text: why.clone(),
                perf: None,
            });
        }
        Seen::Loaded { loaded, grace, .. } => (loaded, *grace),
    };
    let perf = loaded.daily.map(|d| format!("clamd_daily={d}"));
    let has = loaded
        .daily
        .map_or_else(|| "no daily".to_string(), |d| d.to_string());
    let ok = |text: String| Judged {
        state: ServiceState::Ok,
        text,
        perf: perf.clone(),
    };
    let Some(disk) = disk else {
        return Some(ok(format!("clamd loaded {has}")));
    };
    match loaded.daily {
        Some(d) if d == disk.daily => return Some(ok(format!("clamd loaded {d}"))),
        Some(d) if d > disk.daily => {
            return Some(ok(format!(
                "clamd loaded {d}, newer than daily {} on disk",
                disk.daily
            )));
        }
        _ => {}
    }
    // Behind: measured from when the newer file appeared, by the check's own clock. A file
    // dated in the future counts as just arrived.
    let behind = now.saturating_sub(disk.since).max(0);
    let grace_i = i64::try_from(grace).unwrap_or(i64::MAX);
    let state = if behind > grace_i.saturating_mul(2) {
        ServiceState::Critical
    } else if behind > grace_i {
        ServiceState::Warning
    } else {
        ServiceState::Ok
    };
    let how = if state == ServiceState::Ok {
        "reload pending"
    } else {
        "not reloaded"
    };
    Some(Judged {
        state,
        text: format!(
            "clamd loaded {has}, {how}: daily {} on disk for {} (grace {})",
            disk.daily,
            format_age(behind),
            format_age(grace_i)
        ),
        perf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn loaded(daily: Option<u32>) -> Seen {
        Seen::Loaded {
            endpoint: Endpoint::Unix("/run/clamav/clamd.ctl".into()),
            loaded: Loaded {
                engine: "1.4.6".into(),
                daily,
                built: None,
            },
            grace: 900,
        }
    }

    fn disk(daily: u32, ago: i64) -> Option<OnDisk> {
        Some(OnDisk {
            daily,
            since: NOW - ago,
        })
    }

    fn j(seen: &Seen, disk: Option<OnDisk>) -> (ServiceState, String) {
        let j = judge(seen, disk, NOW).unwrap();
        (j.state, j.text)
    }

    #[test]
    fn sockets() {
        assert_eq!(
            parse_socket("/run/clamav/clamd.ctl"),
            Ok(Endpoint::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            parse_socket("127.0.0.1"),
            Ok(Endpoint::Tcp("127.0.0.1:3310".parse().unwrap()))
        );
        assert_eq!(
            parse_socket("[::1]:3311"),
            Ok(Endpoint::Tcp("[::1]:3311".parse().unwrap()))
        );
        for bad in ["clamd.ctl", "localhost:3310", "", "1.2.3.4:99999"] {
            let e = parse_socket(bad).unwrap_err();
            assert!(e.to_string().contains("for -C"), "{e}");
        }
    }

    #[test]
    fn current_or_newer_is_ok() {
        assert_eq!(
            j(&loaded(Some(27472)), disk(27472, 99_999)),
            (ServiceState::Ok, "clamd loaded 27472".into())
        );
        assert_eq!(
            j(&loaded(Some(27473)), disk(27472, 0)),
            (
                ServiceState::Ok,
                "clamd loaded 27473, newer than daily 27472 on disk".into()
            )
        );
        let p = judge(&loaded(Some(27472)), disk(27472, 0), NOW)
            .unwrap()
            .perf;
        assert_eq!(p.as_deref(), Some("clamd_daily=27472"));
        // Without the files, what clamd has is reported.
        assert_eq!(
            j(&loaded(Some(27472)), None),
            (ServiceState::Ok, "clamd loaded 27472".into())
        );
    }

    #[test]
    fn behind_is_judged_by_time_since_the_file_arrived() {
        let older = loaded(Some(27471));
        assert_eq!(
            j(&older, disk(27472, 180)),
            (
                ServiceState::Ok,
                "clamd loaded 27471, reload pending: daily 27472 on disk for 3m (grace 15m)".into()
            )
        );
        assert_eq!(j(&older, disk(27472, 900)).0, ServiceState::Ok, "at grace");
        assert_eq!(
            j(&older, disk(27472, 901)),
            (
                ServiceState::Warning,
                "clamd loaded 27471, not reloaded: daily 27472 on disk for 15m (grace 15m)".into()
            )
        );
        assert_eq!(j(&older, disk(27472, 1800)).0, ServiceState::Warning);
        assert_eq!(j(&older, disk(27472, 1801)).0, ServiceState::Critical);
        // However many revisions behind: the time decides.
        assert_eq!(j(&loaded(Some(27000)), disk(27472, 60)).0, ServiceState::Ok);
        // A file dated in the future has just arrived.
        assert_eq!(j(&older, disk(27472, -5000)).0, ServiceState::Ok);
        // No daily at all is behind too.
        let (state, text) = j(&loaded(None), disk(27472, 7200));
        assert_eq!(state, ServiceState::Critical);
        assert!(
            text.starts_with("clamd loaded no daily, not reloaded"),
            "{text}"
        );
        assert_eq!(judge(&loaded(None), None, NOW).unwrap().perf, None);
    }

    #[test]
    fn failures_are_critical_and_unusable_unknown() {
        assert_eq!(judge(&Seen::Absent, disk(1, 0), NOW), None);
        assert_eq!(
            j(&Seen::Failed("mail is not scanned: x".into()), disk(1, 0)).0,
            ServiceState::Critical
        );
        assert_eq!(
            j(&Seen::Unusable("x".into()), disk(1, 0)).0,
            ServiceState::Unknown
        );
        let ep = "/run/clamav/clamd.ctl".to_string();
        let f = |e| failure(&e, "clamav");
        assert_eq!(
            f(ClamdError::BadReply {
                endpoint: ep.clone(),
                reply: String::new()
            }),
            "mail is not scanned: clamd at /run/clamav/clamd.ctl not answering: closed the \
             connection without a reply"
        );
        assert_eq!(
            f(ClamdError::WrongPeer {
                endpoint: ep.clone(),
                uid: 1000,
                want: "uid 110".into()
            }),
            "mail is not scanned: /run/clamav/clamd.ctl is served by uid 1000, not by clamd's \
             User clamav (uid 110): refusing to talk to it"
        );
        assert_eq!(
            f(ClamdError::Timeout {
                endpoint: ep,
                secs: 2.0
            }),
            "mail is not scanned: clamd at /run/clamav/clamd.ctl not answering: no reply \
             within 2.0s"
        );
    }

    #[test]
    fn configuration() {
        let d = tempfile::tempdir().unwrap();
        let soon = Instant::now() + Duration::from_millis(300);
        let on = |conf: &str, socket: Option<Endpoint>| ClamdOptions::On {
            conf: d.path().join(conf),
            socket,
            grace: None,
        };
        let mut details = Vec::new();
        let mut seen = |o: &ClamdOptions| ask(o, soon, &mut details).answer(soon, &mut Vec::new());
        assert_eq!(seen(&ClamdOptions::Off), Seen::Absent);
        assert_eq!(seen(&on("missing.conf", None)), Seen::Absent);
        std::fs::write(d.path().join("nosocket.conf"), "User root\n").unwrap();
        let Seen::Unusable(why) = seen(&on("nosocket.conf", None)) else {
            panic!()
        };
        assert!(why.contains("names no LocalSocket or TCPSocket"), "{why}");
        std::fs::create_dir(d.path().join("dir.conf")).unwrap();
        assert!(matches!(seen(&on("dir.conf", None)), Seen::Unusable(_)));
        std::fs::write(
            d.path().join("nobody.conf"),
            "LocalSocket /nonexistent/clamd.ctl\nUser no-such-user-clamav-freshen\n",
        )
        .unwrap();
        let Seen::Failed(why) = seen(&on("nobody.conf", None)) else {
            panic!()
        };
        assert!(why.contains("is unknown here: refusing"), "{why}");
        // -C without clamd.conf: its defaults, and an answer or a reason within the time.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = Endpoint::Tcp(closed.local_addr().unwrap());
        drop(closed);
        let Seen::Failed(why) = seen(&on("missing.conf", Some(gone))) else {
            panic!()
        };
        assert!(why.contains("cannot connect"), "{why}");
        assert!(details.iter().any(|l| l.contains("missing.conf not found")));
    }
}
