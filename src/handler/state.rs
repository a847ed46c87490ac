//! Last-repair record under /var/lib/clamav-freshen: drives the rate limit and `status`.

use crate::system::secure_open::{self, Access, Rules};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastRepair {
    pub(crate) started: i64,
    pub(crate) finished: i64,
    pub(crate) outcome: String,
}

impl LastRepair {
    pub(crate) fn duration(&self) -> i64 {
        self.finished - self.started
    }

    /// Reads the record; absent or unreadable means "never" (the rate limit then allows).
    pub(crate) fn read(path: &Path) -> Option<LastRepair> {
        let euid = nix::unistd::geteuid().as_raw();
        let bytes = secure_open::read(path, &Rules::own_file(euid), 4096).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        };
        Some(LastRepair {
            started: get("started")?.parse().ok()?,
            finished: get("finished")?.parse().ok()?,
            outcome: get("outcome")?.to_string(),
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
            "started={}\nfinished={}\nduration={}\noutcome={}\n",
            self.started,
            self.finished,
            self.duration(),
            outcome
        )?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
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
        };
        r.write(&d.path().join("s"), &p).unwrap();
        let back = LastRepair::read(&p).unwrap();
        assert_eq!((back.started, back.finished, back.duration()), (10, 25, 15));
        assert_eq!(back.outcome, "failed: xy");
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
        };
        assert!(r.write(&dir, &dir.join("last-repair")).is_err());
        assert!(!dir.join("last-repair").exists());
        let link = d.path().join("link");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(r.write(&link, &link.join("last-repair")).is_err());
        r.write(&dir, &dir.join("last-repair")).unwrap();
    }
}
