//! The audit trail: one `key=value` line per event, to syslog via /dev/log.
//!
//! Values come from hostile callers, so every value is escaped (non-printables as `\xNN`,
//! quotes and backslashes escaped, quoted when needed) and truncated with its length noted:
//! a 1 MiB argument must not become a 1 MiB log line.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
#[cfg(test)]
use std::sync::Mutex;

/// Longest value kept verbatim, in bytes.
pub(crate) const MAX_VALUE: usize = 200;
/// Hard cap on a whole line, below common syslog datagram limits.
pub(crate) const MAX_LINE: usize = 3000;

/// Where audit lines go. `event` is the first key.
pub(crate) trait Audit {
    fn line(&self, line: &str);

    fn event(&self, event: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
        self.line(&format_line(event, fields));
    }
}

/// `event=<event> k="v" ...`, bounded by [`MAX_LINE`].
pub(crate) fn format_line(event: &str, fields: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = format!("event={}", escape(event));
    for (k, v) in fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        out.push_str(&escape(&v.to_string()));
        if out.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str(" truncated=line");
            break;
        }
    }
    out
}

/// Escapes one value; quoted when empty or holding anything beyond a plain token.
pub(crate) fn escape(v: &str) -> String {
    escape_bytes(v.as_bytes())
}

/// Same as [`escape`] for raw bytes (non-UTF-8 arguments).
pub(crate) fn escape_bytes(v: &[u8]) -> String {
    let (shown, cut) = if v.len() > MAX_VALUE {
        (&v[..MAX_VALUE], true)
    } else {
        (v, false)
    };
    let plain = !shown.is_empty()
        && !cut
        && shown
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/@+%".contains(b));
    if plain {
        return String::from_utf8_lossy(shown).into_owned();
    }
    let mut s = String::with_capacity(shown.len() + 16);
    s.push('"');
    for &b in shown {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    if cut {
        s.push_str(&format!("...(len={})", v.len()));
    }
    s
}

/// Size stderr may grow to when it is a regular file (the worker's is
/// /run/clamav-freshen/worker.log, on a tmpfs): past it, the fallback's lines are dropped,
/// with one line saying so. A syslog outage during a chatty repair must not fill /run.
pub(crate) const MAX_STDERR_FILE: u64 = 1 << 20;
const DROPPED_NOTE: &str = "clamav-freshen: stderr file is full; further audit lines dropped\n";
static STDERR_FULL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes one line to stderr, keeping a regular-file stderr within [`MAX_STDERR_FILE`]
/// (its size is taken from fstat each time, so what earlier runs left counts too).
fn stderr_line(line: &str) {
    use std::os::fd::AsFd;
    let err = std::io::stderr();
    let mut err = err.lock();
    let text = format!("{line}\n");
    let room = match nix::sys::stat::fstat(err.as_fd()) {
        Ok(st) if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG => {
            MAX_STDERR_FILE.saturating_sub(st.st_size.max(0) as u64)
        }
        _ => u64::MAX,
    };
    // Room is kept for the note, so it always fits.
    if (text.len() + DROPPED_NOTE.len()) as u64 <= room {
        let _ = err.write_all(text.as_bytes());
    } else if !STDERR_FULL.swap(true, std::sync::atomic::Ordering::SeqCst)
        && DROPPED_NOTE.len() as u64 <= room
    {
        let _ = err.write_all(DROPPED_NOTE.as_bytes());
    }
}

/// Longest wait for syslog to take one line.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

type Logger = syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>;

/// Syslog over a unix datagram socket (`/dev/log`, re-rooted in test mode).
pub(crate) struct Syslog {
    logger: RefCell<Option<Logger>>,
    /// Copy every line to stderr when syslog fails (the worker's stderr is a file).
    mirror_on_failure: bool,
    warned: RefCell<bool>,
}

impl Syslog {
    pub(crate) fn open(
        socket: &Path,
        facility: syslog::Facility,
        mirror_on_failure: bool,
    ) -> Syslog {
        let formatter = syslog::Formatter3164 {
            facility,
            hostname: None,
            process: "clamav-freshen".into(),
            pid: std::process::id(),
        };
        let s = Syslog {
            logger: RefCell::new(None),
            mirror_on_failure,
            warned: RefCell::new(false),
        };
        match syslog::unix_custom(formatter, socket) {
            Ok(l) => {
                // A syslog daemon that stopped reading leaves its queue full and a send
                // waiting forever, which in the worker would keep the freshclam daemon
                // stopped: bound every send; a timeout counts as unreachable.
                let r = match &l.backend {
                    syslog::LoggerBackend::Unix(d) => d.set_write_timeout(Some(SEND_TIMEOUT)),
                    syslog::LoggerBackend::UnixStream(w) => {
                        w.get_ref().set_write_timeout(Some(SEND_TIMEOUT))
                    }
                    _ => Ok(()),
                };
                match r {
                    Ok(()) => *s.logger.borrow_mut() = Some(l),
                    Err(e) => s.unreachable(&e.to_string()),
                }
            }
            Err(e) => s.unreachable(&e.to_string()),
        }
        s
    }

    fn unreachable(&self, why: &str) {
        if !self.warned.replace(true) {
            stderr_line(&format!(
                "clamav-freshen: syslog unreachable ({why}); audit lines {}",
                if self.mirror_on_failure {
                    "follow on stderr"
                } else {
                    "are lost"
                }
            ));
        }
    }
}

impl Audit for Syslog {
    fn line(&self, line: &str) {
        let mut logger = self.logger.borrow_mut();
        let sent = match logger.as_mut() {
            Some(l) => match l.notice(line) {
                Ok(()) => true,
                Err(e) => {
                    let why = e.to_string();
                    *logger = None;
                    self.unreachable(&why);
                    false
                }
            },
            None => false,
        };
        if !sent && self.mirror_on_failure {
            stderr_line(&format!("audit: {line}"));
        }
    }
}

/// Collects lines in memory (unit tests).
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Capture(pub Mutex<Vec<String>>);

#[cfg(test)]
impl Capture {
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub(crate) fn contains(&self, needle: &str) -> bool {
        self.lines().iter().any(|l| l.contains(needle))
    }
}

#[cfg(test)]
impl Audit for Capture {
    fn line(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_string());
    }
}

/// Who is calling: the sudo user when under sudo, else the numeric uid.
pub(crate) fn caller() -> String {
    match std::env::var_os("SUDO_USER") {
        Some(u) => format!(
            "sudo:{}",
            escape_bytes(std::os::unix::ffi::OsStrExt::as_bytes(&*u))
        ),
        None => format!("uid:{}", nix::unistd::getuid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_unquoted() {
        assert_eq!(escape("CRITICAL"), "CRITICAL");
        assert_eq!(
            format_line("decision", &[("action", &"repair")]),
            "event=decision action=repair"
        );
    }

    #[test]
    fn hostile_values_escaped() {
        assert_eq!(escape(""), "\"\"");
        assert_eq!(escape("a b"), "\"a b\"");
        assert_eq!(escape("x\"; rm -rf /"), "\"x\\\"; rm -rf /\"");
        assert_eq!(escape("a\nb\x1b"), "\"a\\x0ab\\x1b\"");
        assert_eq!(escape_bytes(b"\xff\xfe"), "\"\\xff\\xfe\"");
        assert_eq!(escape("k=v"), "\"k=v\"");
    }

    #[test]
    fn long_values_truncated_with_length() {
        let big = "A".repeat(1 << 20);
        let e = escape(&big);
        assert!(e.len() < MAX_VALUE + 40, "{}", e.len());
        assert!(e.ends_with(&format!("...(len={})", 1 << 20)));
        let many: Vec<String> = (0..100).map(|_| "B".repeat(1000)).collect();
        let fields: Vec<(&str, &dyn std::fmt::Display)> = many
            .iter()
            .map(|s| ("arg", s as &dyn std::fmt::Display))
            .collect();
        assert!(format_line("invoke", &fields).len() <= MAX_LINE + 20);
    }

    #[test]
    fn multibyte_truncation_is_safe() {
        let s = "é".repeat(500);
        assert!(escape(&s).contains("len=1000"));
    }
}
