//! Last-repair record under /var/lib/clamav-freshen: drives the rate limit, the backoff and
//! `status`.
//!
//! One `key=value` a line: `started`, `finished`, `duration`, `outcome` (since the first
//! release), `failures` (consecutive failed repairs, 0 after a success) and `next_allowed`
//! (epoch seconds). A record without the last two (an older release's) still reads: a
//! failed outcome counts as one failure. `next_allowed` is for people and scripts; the
//! handler recomputes it from `finished` and `failures` with the configuration in force.

use crate::system::secure_open::{self, Access, Rules};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastRepair {
    pub(crate) started: i64,
    pub(crate) finished: i64,
    pub(crate) outcome: String,
    /// Consecutive failed repairs up to and including this one (0: it succeeded).
    pub(crate) failures: u32,
    /// When the next repair is allowed, as written (informational).
    pub(crate) next_allowed: Option<i64>,
    /// What became of clamd at the end of this repair (`reload::Sync` as text), when it
    /// is installed.
    pub(crate) clamd: Option<String>,
    /// Who started it: monitor, nrpe, timer, heal, admin (`origin::By`).
    pub(crate) by: Option<String>,
}

/// Repairs kept in the history file (newest last), for `status`.
pub(crate) const HISTORY_LEN: usize = 10;

/// A trigger label as stored: one of [`crate::handler::origin::By`]'s, else nothing.
fn label(s: &str) -> Option<String> {
    crate::handler::origin::By::parse(s).map(|b| b.as_str().to_string())
}

/// Whether an outcome text (the ladder's `Outcome` as written) is a success.
pub(crate) fn is_success(outcome: &str) -> bool {
    matches!(outcome, "updated" | "current" | "reloaded")
}

impl LastRepair {
    pub(crate) fn duration(&self) -> i64 {
        self.finished - self.started
    }

    /// Reads the record; absent or unreadable means "never" (the rate limit then allows).
    pub(crate) fn read(path: &Path) -> Option<LastRepair> {
        let euid = nix::unistd::geteuid().as_raw();
        Self::read_with(path, &Rules::own_file(euid))
    }

    /// [`Self::read`] with other rules for the file (the unprivileged check reads root's).
    pub(crate) fn read_with(path: &Path, rules: &Rules) -> Option<LastRepair> {
        let bytes = secure_open::read(path, rules, 4096).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        };
        let outcome = get("outcome")?.to_string();
        let failures = match get("failures").map(str::parse::<u32>) {
            Some(Ok(n)) => n,
            // An older record, or a damaged count: what its outcome says.
            _ => u32::from(!is_success(&outcome)),
        };
        Some(LastRepair {
            started: get("started")?.parse().ok()?,
            finished: get("finished")?.parse().ok()?,
            failures,
            next_allowed: get("next_allowed").and_then(|v| v.parse().ok()),
            clamd: get("clamd").map(str::to_string),
            by: get("by").and_then(label),
            outcome,
        })
    }

    /// Writes atomically (temp file + rename) so a crash never leaves half a record. The
    /// directory is created 0755 and must be ours and closed to others: in a directory
    /// another user can write, they could replace the record and steer the rate limit.
    pub(crate) fn write(&self, dir: &Path, path: &Path) -> std::io::Result<()> {
        crate::handler::flight::ensure_run_dir(dir)?;
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let euid = nix::unistd::geteuid().as_raw();
        let mut f = secure_open::open(&tmp, Access::CreateNew(0o644), &Rules::own_file(euid))
            .map_err(std::io::Error::other)?;
        let outcome: String = self.outcome.chars().filter(|c| !c.is_control()).collect();
        write!(
            f,
            "started={}\nfinished={}\nduration={}\noutcome={}\nfailures={}\n",
            self.started,
            self.finished,
            self.duration(),
            outcome,
            self.failures
        )?;
        if let Some(n) = self.next_allowed {
            writeln!(f, "next_allowed={n}")?;
        }
        if let Some(b) = self.by.as_deref().and_then(label) {
            writeln!(f, "by={b}")?;
        }
        if let Some(c) = &self.clamd {
            let c: String = c.chars().filter(|c| !c.is_control()).collect();
            writeln!(f, "clamd={c}")?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// One history line: `<finished> <duration> <by or -> <outcome>` (outcome last: it has
/// spaces).
fn history_line(r: &LastRepair) -> String {
    let outcome: String = r
        .outcome
        .chars()
        .filter(|c| !c.is_control())
        .take(512)
        .collect();
    format!(
        "{} {} {} {outcome}",
        r.finished,
        r.duration(),
        r.by.as_deref()
            .and_then(label)
            .unwrap_or_else(|| "-".into())
    )
}

/// The last [`HISTORY_LEN`] repairs, oldest first; absent or unreadable: none.
pub(crate) fn read_history(path: &Path, rules: &Rules) -> Vec<LastRepair> {
    let Ok(bytes) = secure_open::read(path, rules, 64 * 1024) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut v: Vec<LastRepair> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(4, ' ');
            let finished: i64 = it.next()?.parse().ok()?;
            let duration: i64 = it.next()?.parse().ok()?;
            let by = it.next()?;
            let outcome = it.next()?.to_string();
            Some(LastRepair {
                started: finished.saturating_sub(duration),
                finished,
                failures: u32::from(!is_success(&outcome)),
                outcome,
                next_allowed: None,
                clamd: None,
                by: label(by),
            })
        })
        .collect();
    let skip = v.len().saturating_sub(HISTORY_LEN);
    v.drain(..skip);
    v
}

/// Appends `rec` to the history, keeping the last [`HISTORY_LEN`] (rewritten atomically,
/// like the record).
pub(crate) fn append_history(path: &Path, rec: &LastRepair) -> std::io::Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let rules = Rules::own_file(euid);
    let mut lines: Vec<String> = read_history(path, &rules)
        .iter()
        .map(history_line)
        .collect();
    lines.push(history_line(rec));
    let skip = lines.len().saturating_sub(HISTORY_LEN);
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f =
        secure_open::open(&tmp, Access::CreateNew(0o644), &rules).map_err(std::io::Error::other)?;
    for l in &lines[skip..] {
        writeln!(f, "{l}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s/last-repair");
        assert_eq!(LastRepair::read(&p), None);
        let r = LastRepair {
            started: 10,
            finished: 25,
            outcome: "failed: x\ny".into(),
            failures: 3,
            next_allowed: Some(3625),
            clamd: None,
            by: None,
        };
        r.write(&d.path().join("s"), &p).unwrap();
        let back = LastRepair::read(&p).unwrap();
        assert_eq!((back.started, back.finished, back.duration()), (10, 25, 15));
        assert_eq!(back.outcome, "failed: xy");
        assert_eq!((back.failures, back.next_allowed), (3, Some(3625)));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "started=10\nfinished=25\nduration=15\noutcome=failed: xy\nfailures=3\nnext_allowed=3625\n"
        );
    }

    #[test]
    fn an_older_record_still_reads() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("last-repair");
        for (outcome, failures) in [
            ("updated", 0),
            ("current", 0),
            ("failed: connection", 1),
            ("cool-down", 1),
            ("forbidden", 1),
        ] {
            std::fs::write(
                &p,
                format!("started=1\nfinished=2\nduration=1\noutcome={outcome}\n"),
            )
            .unwrap();
            let r = LastRepair::read(&p).unwrap();
            assert_eq!((r.outcome.as_str(), r.failures), (outcome, failures));
            assert_eq!(r.next_allowed, None);
        }
        // A damaged count falls back the same way; a missing time is still no record.
        std::fs::write(
            &p,
            "started=1\nfinished=2\noutcome=failed: x\nfailures=-4\n",
        )
        .unwrap();
        assert_eq!(LastRepair::read(&p).unwrap().failures, 1);
        std::fs::write(&p, "started=1\noutcome=updated\n").unwrap();
        assert_eq!(LastRepair::read(&p), None);
    }

    #[test]
    fn foreign_or_open_directory_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("s");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = LastRepair {
            started: 1,
            finished: 2,
            outcome: "current".into(),
            failures: 0,
            next_allowed: None,
            clamd: None,
            by: None,
        };
        assert!(r.write(&dir, &dir.join("last-repair")).is_err());
        assert!(!dir.join("last-repair").exists());
        let link = d.path().join("link");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(r.write(&link, &link.join("last-repair")).is_err());
        r.write(&dir, &dir.join("last-repair")).unwrap();
    }

    #[test]
    fn success_is_what_the_ladder_calls_success() {
        use crate::handler::ladder::Outcome;
        for o in [
            Outcome::Updated,
            Outcome::Current,
            Outcome::Cooldown,
            Outcome::Forbidden,
            Outcome::Failed("x".into()),
            Outcome::Reloaded,
            Outcome::ClamdStale("x".into()),
        ] {
            assert_eq!(is_success(&o.to_string()), o.is_success(), "{o}");
        }
    }

    #[test]
    fn history_keeps_the_last_ten_with_who_started_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history");
        let me = nix::unistd::geteuid().as_raw();
        assert!(read_history(&p, &Rules::own_file(me)).is_empty());
        for i in 0..12 {
            let r = LastRepair {
                started: 100 * i,
                finished: 100 * i + 7,
                outcome: if i % 2 == 0 {
                    "updated".into()
                } else {
                    "failed: a b\nc".into()
                },
                failures: 0,
                next_allowed: None,
                clamd: None,
                by: Some(if i % 2 == 0 { "timer" } else { "monitor" }.into()),
            };
            append_history(&p, &r).unwrap();
        }
        let h = read_history(&p, &Rules::own_file(me));
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!((h[0].finished, h[0].duration()), (207, 7));
        assert_eq!(h[9].outcome, "failed: a bc");
        assert_eq!(h[9].by.as_deref(), Some("monitor"));
        assert_eq!(h[8].by.as_deref(), Some("timer"));
        // A bogus label is not carried.
        std::fs::write(&p, "5 1 Evil\x1b[ updated\n").unwrap();
        let h = read_history(&p, &Rules::own_file(me));
        assert_eq!(h[0].by, None);
    }
}
