//! Where root acts, from root's own configuration: the database directory, its owner,
//! freshclam's log and the SysV pid file.
//!
//! On Debian the `clamav` user owns /etc/clamav/freshclam.conf, so nothing in it may steer
//! root. Its DatabaseDirectory, DatabaseOwner, UpdateLogFile and PidFile are only compared
//! with these (an absent key counts as freshclam's built-in default); a mismatch refuses the
//! repair before the daemon is touched.

use crate::clamav::freshclam_conf::FreshclamConf;
use crate::handler::config::Config;
use crate::handler::paths::Paths;
use std::path::{Path, PathBuf};

/// Directories other accounts share or the system needs: never a database directory, even
/// when owned by the configured owner (or when that owner is root).
pub(crate) const SHARED_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/dev/shm",
    "/etc",
    "/etc/clamav",
    "/home",
    "/lib",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/run/clamav",
    "/run/clamav-freshen",
    "/run/lock",
    "/run/user",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/lib/clamav-freshen",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/log/clamav",
    "/var/mail",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// Longest value of freshclam.conf shown in an outcome (the audit line escapes and bounds
/// values itself).
const MAX_SHOWN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Re-rooted in test mode, like every path the handler uses.
    pub(crate) database_directory: PathBuf,
    pub(crate) database_owner: String,
    pub(crate) update_log_file: Option<PathBuf>,
    pub(crate) pid_file: PathBuf,
    /// [`SHARED_DIRS`], re-rooted in test mode.
    pub(crate) shared_dirs: Vec<PathBuf>,
    /// Test mode only: the caller (root in CI) may be the owner. Otherwise an owner with
    /// uid 0 is refused: freshclam as root would run clamav's freshclam.conf hooks as root.
    pub(crate) root_owner_allowed: bool,
}

/// freshclam.conf disagrees with root's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("freshclam.conf {field} {value} is not the configured {expected}")]
pub(crate) struct Mismatch {
    /// The freshclam.conf key.
    pub(crate) field: &'static str,
    /// Its value there (printable, bounded), `none` when absent.
    pub(crate) value: String,
    pub(crate) expected: String,
}

/// A user's ids, looked up when the repair runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Scope {
    pub(crate) fn new(cfg: &Config, paths: &Paths) -> Scope {
        let caller = paths.test_mode_caller();
        Scope {
            database_directory: paths.map(&cfg.database_directory),
            database_owner: cfg.database_owner(caller.as_deref()),
            update_log_file: cfg.update_log_file().map(|p| paths.map(p)),
            pid_file: paths.map(&cfg.pid_file),
            shared_dirs: SHARED_DIRS
                .iter()
                .map(|d| paths.map(Path::new(d)))
                .collect(),
            root_owner_allowed: paths.root.is_some(),
        }
    }

    /// Compares the four keys in a fixed order; the first difference is the answer.
    /// `PidFile` only when freshclam.conf sets it: Debian's generated freshclam.conf has
    /// none, the systemd unit uses none, and the SysV start passes ours on the command line.
    pub(crate) fn check(&self, conf: &FreshclamConf) -> Result<(), Mismatch> {
        let path = |p: &Path| p.display().to_string();
        let opt = |p: Option<&Path>| p.map_or_else(|| "none".to_string(), path);
        if conf.database_directory != self.database_directory {
            return Err(mismatch(
                "DatabaseDirectory",
                &path(&conf.database_directory),
                &path(&self.database_directory),
            ));
        }
        if conf.database_owner != self.database_owner {
            return Err(mismatch(
                "DatabaseOwner",
                &conf.database_owner,
                &self.database_owner,
            ));
        }
        if conf.update_log_file != self.update_log_file {
            return Err(mismatch(
                "UpdateLogFile",
                &opt(conf.update_log_file.as_deref()),
                &opt(self.update_log_file.as_deref()),
            ));
        }
        if let Some(pid) = &conf.pid_file
            && *pid != self.pid_file
        {
            return Err(mismatch("PidFile", &path(pid), &path(&self.pid_file)));
        }
        Ok(())
    }
}

fn mismatch(field: &'static str, value: &str, expected: &str) -> Mismatch {
    Mismatch {
        field,
        value: shown(value),
        expected: shown(expected),
    }
}

/// Control characters become `?`, and long values are cut: the value is clamav's.
fn shown(v: &str) -> String {
    let mut s: String = v
        .chars()
        .take(MAX_SHOWN)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if v.chars().count() > MAX_SHOWN {
        s.push_str("...");
    }
    s
}

/// The owner's uid and primary gid, `None` for an unknown user.
pub(crate) fn resolve_owner(name: &str) -> Option<Owner> {
    uzers::get_user_by_name(name).map(|u| Owner {
        uid: u.uid(),
        gid: u.primary_group_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new(&Config::default(), &Paths::system())
    }

    fn conf(text: &str) -> FreshclamConf {
        FreshclamConf::parse(text).unwrap()
    }

    #[test]
    fn debian_generated_freshclam_conf_matches_the_defaults() {
        // What clamav-freshclam 1.4.6's postinst writes on Debian 12 (no PidFile).
        let c = conf(
            "DatabaseOwner clamav\nUpdateLogFile /var/log/clamav/freshclam.log\n\
             LogVerbose false\nDatabaseDirectory /var/lib/clamav\n\
             DatabaseMirror db.local.clamav.net\n",
        );
        assert_eq!(scope().check(&c), Ok(()));
        let c = conf(
            "UpdateLogFile /var/log/clamav/freshclam.log\nPidFile /run/clamav/freshclam.pid\n\
             DatabaseDirectory /var/lib/clamav/\n",
        );
        assert_eq!(
            scope().check(&c),
            Ok(()),
            "absent owner is clamav; trailing /"
        );
    }

    #[test]
    fn each_key_compared() {
        let log = "UpdateLogFile /var/log/clamav/freshclam.log\n";
        for (text, field, value) in [
            (
                format!("DatabaseDirectory /tmp\n{log}"),
                "DatabaseDirectory",
                "/tmp",
            ),
            (
                format!("DatabaseDirectory /var/lib/clamav/../../etc\n{log}"),
                "DatabaseDirectory",
                "/var/lib/clamav/../../etc",
            ),
            (
                format!("DatabaseOwner root\n{log}"),
                "DatabaseOwner",
                "root",
            ),
            ("".to_string(), "UpdateLogFile", "none"),
            (
                "UpdateLogFile /etc/shadow\n".to_string(),
                "UpdateLogFile",
                "/etc/shadow",
            ),
            (
                format!("PidFile /etc/passwd\n{log}"),
                "PidFile",
                "/etc/passwd",
            ),
        ] {
            let m = scope().check(&conf(&text)).unwrap_err();
            assert_eq!((m.field, m.value.as_str()), (field, value), "{text}");
        }
        let m = scope().check(&conf("DatabaseOwner root\n")).unwrap_err();
        assert_eq!(
            m.to_string(),
            "freshclam.conf DatabaseOwner root is not the configured clamav"
        );
    }

    #[test]
    fn empty_log_setting_expects_no_update_log_file() {
        let cfg = Config::parse("update_log_file = \"\"\n").unwrap();
        let s = Scope::new(&cfg, &Paths::system());
        assert_eq!(s.check(&conf("")), Ok(()));
        let m = s
            .check(&conf("UpdateLogFile /var/log/clamav/freshclam.log\n"))
            .unwrap_err();
        assert_eq!(m.expected, "none");
    }

    #[test]
    fn shown_values_are_printable_and_bounded() {
        let m = mismatch(
            "DatabaseOwner",
            &format!("a\x1b]2;x\x07{}", "b".repeat(500)),
            "c",
        );
        assert!(!m.value.chars().any(char::is_control));
        assert!(m.value.len() <= MAX_SHOWN + 3, "{}", m.value.len());
    }

    #[test]
    fn test_mode_reroots_and_defaults_the_owner_to_the_caller() {
        let p = Paths::under(Path::new("/tmp/r"), "/x".into());
        let s = Scope::new(&Config::default(), &p);
        assert_eq!(s.database_directory, Path::new("/tmp/r/var/lib/clamav"));
        assert_eq!(s.pid_file, Path::new("/tmp/r/run/clamav/freshclam.pid"));
        assert!(s.shared_dirs.contains(&PathBuf::from("/tmp/r/tmp")));
        let me = uzers::get_effective_username().map(|n| n.to_string_lossy().into_owned());
        assert_eq!(Some(s.database_owner), me);
    }

    #[test]
    fn owners_resolve() {
        assert_eq!(resolve_owner("root"), Some(Owner { uid: 0, gid: 0 }));
        assert_eq!(resolve_owner("no-such-user-clamav-freshen"), None);
    }
}
