//! The handler's configuration (/etc/clamav-freshen/clamav-freshen.toml).
//!
//! The file decides which programs root runs, so it must be owned by root (test mode: by
//! the effective uid) and not writable by group or others; it is opened with O_NOFOLLOW and
//! checked with fstat on that very fd, so no rename race can swap it. Unknown keys are
//! refused: a typo must not silently fall back to a default.

use crate::clamav::freshclam_conf::{DEFAULT_DATABASE_DIRECTORY, DEFAULT_DATABASE_OWNER};
use crate::system::secure_open::{self, OpenError, Rules};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    pub(crate) soft_attempt: u32,
    pub(crate) rate_limit_secs: u64,
    pub(crate) respect_cooldown: bool,
    pub(crate) freshclam: PathBuf,
    pub(crate) freshclam_conf: PathBuf,
    pub(crate) freshclam_timeout_secs: u64,
    pub(crate) kill_grace_secs: u64,
    pub(crate) stop_timeout_secs: u64,
    /// Where root acts (chowns, removes temp dirs, reads versions): never freshclam.conf's
    /// DatabaseDirectory, which clamav can rewrite; that is only compared with this.
    pub(crate) database_directory: PathBuf,
    /// The user freshclam runs as and the database belongs to. `None`: `clamav` (in test
    /// mode: the caller, who stands in for every account there). See [`Config::database_owner`].
    pub(crate) database_owner: Option<String>,
    /// freshclam's log (lock holders are found through it, a dead daemon's last words
    /// read from it); empty: freshclam.conf must have no UpdateLogFile.
    pub(crate) update_log_file: PathBuf,
    /// The SysV daemon's pid file, passed to start-stop-daemon and freshclam.
    pub(crate) pid_file: PathBuf,
    /// Bound on a whole repair; past it the ladder stops and starts the daemon again.
    pub(crate) repair_timeout_secs: u64,
    /// How long a started daemon must stay up to count as started.
    pub(crate) start_verify_secs: u64,
    pub(crate) syslog_facility: String,
    pub(crate) nagios_command_file: PathBuf,
    pub(crate) nagios_host: String,
    pub(crate) nagios_service: String,
    pub(crate) check_timeout_secs: u64,
    pub(crate) check_dns_server: String,
    pub(crate) warning_lag: u32,
    pub(crate) critical_lag: u32,
    pub(crate) max_age_hours: u64,
    /// When the published version comes from a mirror (PrivateMirror, `DNSDatabaseInfo
    /// no`), also ask DNS: a mirror behind it is the mirror's fault, and no repair starts.
    pub(crate) check_compare_dns: bool,
    pub(crate) backoff_max_secs: u64,
    pub(crate) heal_wait_secs: u64,
    /// clamd.conf: when it exists, clamd is installed and is made to load the files.
    pub(crate) clamd_conf: PathBuf,
    /// Where root talks to clamd: a Unix socket path or `IP:PORT`; empty: never. clamd.conf
    /// (which the clamav user may be able to write) must name the same endpoint.
    pub(crate) clamd_socket: String,
    /// Bound on clamd's reload after a repair.
    pub(crate) clamd_reload_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            soft_attempt: 1,
            rate_limit_secs: 900,
            respect_cooldown: true,
            freshclam: crate::defaults::FRESHCLAM.into(),
            freshclam_conf: crate::defaults::FRESHCLAM_CONF.into(),
            freshclam_timeout_secs: 600,
            kill_grace_secs: 10,
            stop_timeout_secs: 30,
            database_directory: DEFAULT_DATABASE_DIRECTORY.into(),
            database_owner: None,
            update_log_file: "/var/log/clamav/freshclam.log".into(),
            pid_file: "/run/clamav/freshclam.pid".into(),
            repair_timeout_secs: 1800,
            start_verify_secs: 3,
            syslog_facility: "daemon".into(),
            nagios_command_file: crate::defaults::NAGIOS_COMMAND_FILE.into(),
            nagios_host: "localhost".into(),
            nagios_service: "ClamAV signatures".into(),
            check_timeout_secs: 5,
            check_dns_server: String::new(),
            warning_lag: 1,
            critical_lag: 2,
            max_age_hours: 48,
            check_compare_dns: false,
            backoff_max_secs: 6 * 3600,
            heal_wait_secs: 7,
            clamd_conf: crate::defaults::CLAMD_CONF.into(),
            clamd_socket: crate::defaults::CLAMD_SOCKET.into(),
            clamd_reload_secs: 120,
        }
    }
}

/// Longest configuration file read (the shipped one is 6 KiB).
const MAX_LEN: u64 = 1 << 20;

/// Longest duration any key may set: one year.
pub(crate) const MAX_SECS: u64 = 366 * 86400;
/// Longest `start_verify_secs`: it delays every daemon start.
pub(crate) const MAX_START_VERIFY_SECS: u64 = 300;

/// Longest `heal` may wait for its repair before answering.
const MAX_HEAL_WAIT_SECS: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// Missing is fine (defaults); anything else the secure open refused is not.
    #[error("{0}")]
    Open(OpenError),
    #[error("{path}: {reason}", path = path.display())]
    Invalid { path: PathBuf, reason: Invalid },
}

/// What is wrong with the configuration's text; the key is named where a rule has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("not UTF-8")]
    NotUtf8,
    /// TOML's own message (a syntax error, an unknown key, a wrong type), on one line.
    #[error("{0}")]
    Toml(String),
    #[error("{0} must be an absolute path")]
    NotAbsolute(&'static str),
    #[error("{0} must be an absolute path without . or .. or //")]
    NotPlain(&'static str),
    #[error("{0} must be in a directory below /")]
    NotBelowRoot(&'static str),
    #[error("database_directory must not be the system directory {0}")]
    SystemDirectory(&'static str),
    #[error("database_owner must be a user name (letters, digits, . _ -)")]
    OwnerName,
    #[error("soft_attempt must be 1..999")]
    SoftAttempt,
    #[error("timeouts must be at least 1 second")]
    ZeroTimeout,
    #[error("{0} must not exceed one year")]
    OverOneYear(&'static str),
    #[error("start_verify_secs must not exceed {MAX_START_VERIFY_SECS}")]
    StartVerify,
    #[error("warning_lag must be at least 1")]
    WarningLag,
    #[error("critical_lag must not be below warning_lag")]
    CriticalLag,
    #[error("{0} must be non-empty without ';' or control characters")]
    CommandField(&'static str),
    #[error("unknown syslog_facility {0:?}")]
    Facility(String),
    #[error("check_dns_server {0:?} is not IP or IP:PORT")]
    DnsServer(String),
    #[error("heal_wait_secs must not exceed {MAX_HEAL_WAIT_SECS} (an NRPE answer waits for it)")]
    HealWait,
    #[error(
        "clamd_socket {0:?} must be empty, IP:PORT or a plain absolute path (at most 107 bytes)"
    )]
    ClamdSocket(String),
    #[error("clamd_reload_secs must be 1..3600")]
    ClamdReload,
}

/// How the config was obtained, for the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    File,
    /// The file does not exist: built-in defaults.
    Defaults,
}

impl Config {
    /// Loads `path`, requiring it to be owned by `owner_uid`. A missing file gives defaults.
    pub(crate) fn load(path: &Path, owner_uid: u32) -> Result<(Config, Source), ConfigError> {
        // Root's file: no symlink, a regular file of `owner_uid`, closed to others, bounded.
        let bytes = match secure_open::read(path, &Rules::own_file(owner_uid), MAX_LEN) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok((Config::default(), Source::Defaults)),
            Err(e) => return Err(ConfigError::Open(e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Invalid {
            path: path.into(),
            reason: Invalid::NotUtf8,
        })?;
        let cfg = Self::parse(&text).map_err(|reason| ConfigError::Invalid {
            path: path.into(),
            reason,
        })?;
        Ok((cfg, Source::File))
    }

    pub(crate) fn parse(text: &str) -> Result<Config, Invalid> {
        let cfg: Config =
            toml::from_str(text).map_err(|e| Invalid::Toml(one_line(&e.to_string())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), Invalid> {
        for (k, p) in [
            ("freshclam", &self.freshclam),
            ("freshclam_conf", &self.freshclam_conf),
            ("nagios_command_file", &self.nagios_command_file),
            ("clamd_conf", &self.clamd_conf),
        ] {
            if !p.is_absolute() {
                return Err(Invalid::NotAbsolute(k));
            }
        }
        self.validate_scope()?;
        if self.soft_attempt == 0 || self.soft_attempt > crate::nagios::state::MAX_ATTEMPT {
            return Err(Invalid::SoftAttempt);
        }
        if self.freshclam_timeout_secs == 0
            || self.check_timeout_secs == 0
            || self.repair_timeout_secs == 0
        {
            return Err(Invalid::ZeroTimeout);
        }
        // Bounded so `now + duration` can neither overflow (a panic) nor wrap when cast to
        // a signed time (rate_limit_secs = u64::MAX would have meant "no rate limit").
        for (k, v) in [
            ("rate_limit_secs", self.rate_limit_secs),
            ("freshclam_timeout_secs", self.freshclam_timeout_secs),
            ("kill_grace_secs", self.kill_grace_secs),
            ("stop_timeout_secs", self.stop_timeout_secs),
            ("repair_timeout_secs", self.repair_timeout_secs),
            ("check_timeout_secs", self.check_timeout_secs),
            ("max_age_hours", self.max_age_hours.saturating_mul(3600)),
        ] {
            if v > MAX_SECS {
                return Err(Invalid::OverOneYear(k));
            }
        }
        if self.start_verify_secs > MAX_START_VERIFY_SECS {
            return Err(Invalid::StartVerify);
        }
        if self.warning_lag == 0 {
            return Err(Invalid::WarningLag);
        }
        if self.critical_lag < self.warning_lag {
            return Err(Invalid::CriticalLag);
        }
        for (k, v) in [
            ("nagios_host", &self.nagios_host),
            ("nagios_service", &self.nagios_service),
        ] {
            // These go into a Nagios external command line: no separators, no newlines.
            if v.is_empty() || v.chars().any(|c| c == ';' || c.is_control()) {
                return Err(Invalid::CommandField(k));
            }
        }
        self.facility()?;
        self.dns_server()?;
        self.clamd_endpoint()?;
        if self.clamd_reload_secs == 0 || self.clamd_reload_secs > 3600 {
            return Err(Invalid::ClamdReload);
        }
        if self.backoff_max_secs > MAX_SECS {
            return Err(Invalid::OverOneYear("backoff_max_secs"));
        }
        if self.heal_wait_secs > MAX_HEAL_WAIT_SECS {
            return Err(Invalid::HealWait);
        }
        Ok(())
    }

    /// The paths and the user root acts on must be plain: absolute, no `.`/`..`, no
    /// trailing file name missing; the database directory no system directory.
    fn validate_scope(&self) -> Result<(), Invalid> {
        let plain = |k: &'static str, p: &Path| -> Result<(), Invalid> {
            // Byte-wise: Path::components() would hide a `.` or a doubled `/`.
            let b = p.as_os_str().as_encoded_bytes();
            let ok = b.len() > 1
                && b[0] == b'/'
                && b[1..]
                    .split(|c| *c == b'/')
                    .all(|seg| !seg.is_empty() && seg != b"." && seg != b"..");
            if ok {
                Ok(())
            } else {
                Err(Invalid::NotPlain(k))
            }
        };
        plain("database_directory", &self.database_directory)?;
        plain("pid_file", &self.pid_file)?;
        if !self.update_log_file.as_os_str().is_empty() {
            plain("update_log_file", &self.update_log_file)?;
        }
        for (k, p) in [
            ("pid_file", &self.pid_file),
            ("update_log_file", &self.update_log_file),
        ] {
            if p.parent().is_none_or(|d| d == Path::new("/")) && !p.as_os_str().is_empty() {
                return Err(Invalid::NotBelowRoot(k));
            }
        }
        if let Some(shared) = crate::handler::scope::SHARED_DIRS
            .iter()
            .find(|d| Path::new(d) == self.database_directory)
        {
            return Err(Invalid::SystemDirectory(shared));
        }
        if let Some(owner) = &self.database_owner {
            // Passed to start-stop-daemon --chuid: `user:group` or an option would change it.
            let ok = !owner.is_empty()
                && owner.len() <= 32
                && !owner.starts_with('-')
                && owner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                return Err(Invalid::OwnerName);
            }
        }
        Ok(())
    }

    /// `database_owner`, or its default: `clamav`, or in test mode (`test_mode_caller`
    /// given) the caller, who owns everything under the test root.
    pub(crate) fn database_owner(&self, test_mode_caller: Option<&str>) -> String {
        match (&self.database_owner, test_mode_caller) {
            (Some(o), _) => o.clone(),
            (None, Some(me)) => me.to_string(),
            (None, None) => DEFAULT_DATABASE_OWNER.to_string(),
        }
    }

    /// `update_log_file`; `None` when set empty.
    pub(crate) fn update_log_file(&self) -> Option<&Path> {
        (!self.update_log_file.as_os_str().is_empty()).then_some(self.update_log_file.as_path())
    }

    /// `check_dns_server`: empty for the resolvers in /etc/resolv.conf, else `IP` or
    /// `IP:PORT` (port 53 by default).
    pub(crate) fn dns_server(&self) -> Result<Option<std::net::SocketAddr>, Invalid> {
        let s = self.check_dns_server.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if let Ok(a) = s.parse::<std::net::SocketAddr>() {
            return Ok(Some(a));
        }
        s.parse::<std::net::IpAddr>()
            .map(|ip| Some(std::net::SocketAddr::new(ip, 53)))
            .map_err(|_| Invalid::DnsServer(s.to_string()))
    }

    /// `clamd_socket` as an endpoint; `None` when empty (root never talks to clamd).
    pub(crate) fn clamd_endpoint(&self) -> Result<Option<crate::clamav::clamd::Endpoint>, Invalid> {
        use crate::clamav::clamd::Endpoint;
        let s = self.clamd_socket.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.starts_with('/') {
            let p = Path::new(s);
            if p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
                || s.len() > 107
            {
                return Err(Invalid::ClamdSocket(s.to_string()));
            }
            return Ok(Some(Endpoint::Unix(p.into())));
        }
        s.parse::<std::net::SocketAddr>()
            .map(|a| Some(Endpoint::Tcp(a)))
            .map_err(|_| Invalid::ClamdSocket(s.to_string()))
    }

    pub(crate) fn facility(&self) -> Result<syslog::Facility, Invalid> {
        self.syslog_facility
            .parse()
            .map_err(|_| Invalid::Facility(self.syslog_facility.clone()))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn shipped_file_is_the_defaults() {
        let text = include_str!("../../etc/clamav-freshen/clamav-freshen.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
        assert_eq!(Config::default().database_owner(None), "clamav");
        // Every key is present (commented) in the shipped file.
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix('#').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let all: toml::Table = toml::from_str(
            &uncommented
                .lines()
                .filter(|l| l.contains(" = "))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
        // database_owner is unset by default (so test mode can default it to the caller);
        // the shipped file shows its effective default.
        let explicit = Config::parse(&toml::to_string(&all).unwrap()).unwrap();
        assert_eq!(
            explicit.database_owner(None),
            Config::default().database_owner(None)
        );
        assert_eq!(
            Config {
                database_owner: None,
                ..explicit
            },
            Config::default()
        );
        assert_eq!(all.len(), 29);
    }

    #[test]
    fn absurd_durations_refused() {
        for bad in [
            "rate_limit_secs = 18446744073709551615\n",
            "freshclam_timeout_secs = 1000000000000\n",
            "kill_grace_secs = 9223372036854775807\n",
            "stop_timeout_secs = 40000000\n",
            "repair_timeout_secs = 40000000\n",
            "check_timeout_secs = 40000000\n",
            "max_age_hours = 9000\n",
        ] {
            let e = Config::parse(bad).unwrap_err().to_string();
            assert!(e.contains("must not exceed one year"), "{bad}: {e}");
        }
        assert!(Config::parse("rate_limit_secs = 86400\nmax_age_hours = 8760\n").is_ok());
    }

    #[test]
    fn scope_keys_validated() {
        for bad in [
            "database_directory = \"var/lib/clamav\"\n",
            "database_directory = \"/var/lib/../tmp\"\n",
            "database_directory = \"/var/lib/clamav/\"\n",
            "database_directory = \"/var//lib\"\n",
            "database_directory = \"/tmp\"\n",
            "database_directory = \"/\"\n",
            "database_directory = \"/var/lib\"\n",
            "pid_file = \"/freshclam.pid\"\n",
            "pid_file = \"\"\n",
            "update_log_file = \"/var/log/./x\"\n",
            "database_owner = \"\"\n",
            "database_owner = \"clamav:root\"\n",
            "database_owner = \"--help\"\n",
            "database_owner = \"a b\"\n",
            "repair_timeout_secs = 0\n",
            "start_verify_secs = 301\n",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
        let c = Config::parse(
            "database_directory = \"/srv/clamav/db\"\ndatabase_owner = \"clam-av_1\"\n\
             update_log_file = \"\"\nstart_verify_secs = 0\n",
        )
        .unwrap();
        assert_eq!(c.database_owner(Some("me")), "clam-av_1");
        assert_eq!(c.update_log_file(), None);
        assert_eq!(Config::default().database_owner(Some("me")), "me");
        assert_eq!(
            Config::default().update_log_file(),
            Some(Path::new("/var/log/clamav/freshclam.log"))
        );
    }

    #[test]
    fn unknown_key_refused() {
        let e = Config::parse("rate_limit = 5\n").unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn relative_program_refused() {
        assert!(Config::parse("freshclam = \"freshclam\"\n").is_err());
        assert!(Config::parse("nagios_host = \"a;b\"\n").is_err());
        assert!(Config::parse("syslog_facility = \"nope\"\n").is_err());
        assert!(Config::parse("check_dns_server = \"dns.example\"\n").is_err());
        let c = Config::parse("check_dns_server = \"127.0.0.1:5353\"\n").unwrap();
        assert_eq!(
            c.dns_server().unwrap(),
            Some("127.0.0.1:5353".parse().unwrap())
        );
        let c = Config::parse("check_dns_server = \"::1\"\n").unwrap();
        assert_eq!(c.dns_server().unwrap(), Some("[::1]:53".parse().unwrap()));
    }

    #[test]
    fn ownership_and_mode_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.toml");
        std::fs::write(&p, "soft_attempt = 2\n").unwrap();
        let me = nix::unistd::geteuid().as_raw();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(Config::load(&p, me).unwrap().0.soft_attempt, 2);
        assert!(matches!(
            Config::load(&p, me + 1),
            Err(ConfigError::Open(OpenError::Owner { .. }))
        ));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(matches!(
            Config::load(&p, me),
            Err(ConfigError::Open(OpenError::Writable { .. }))
        ));
        let l = d.path().join("link.toml");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(matches!(
            Config::load(&l, me),
            Err(ConfigError::Open { .. })
        ));
        let (c, src) = Config::load(&d.path().join("missing"), me).unwrap();
        assert_eq!((c, src), (Config::default(), Source::Defaults));
    }

    #[test]
    fn backoff_and_heal_wait_bounded() {
        let e = Config::parse("backoff_max_secs = 40000000\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not exceed one year"), "{e}");
        let e = Config::parse("heal_wait_secs = 301\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("heal_wait_secs must not exceed 300"), "{e}");
        let c = Config::parse("heal_wait_secs = 0\nbackoff_max_secs = 0\n").unwrap();
        assert_eq!((c.heal_wait_secs, c.backoff_max_secs), (0, 0));
    }

    #[test]
    fn clamd_endpoint_is_a_plain_path_or_ip_port_or_nothing() {
        use crate::clamav::clamd::Endpoint;
        let c = Config::default();
        assert_eq!(
            c.clamd_endpoint().unwrap(),
            Some(Endpoint::Unix("/run/clamav/clamd.ctl".into()))
        );
        let c = Config::parse("clamd_socket = \"127.0.0.1:3310\"\n").unwrap();
        assert_eq!(
            c.clamd_endpoint().unwrap(),
            Some(Endpoint::Tcp("127.0.0.1:3310".parse().unwrap()))
        );
        assert_eq!(
            Config::parse("clamd_socket = \"\"\n")
                .unwrap()
                .clamd_endpoint()
                .unwrap(),
            None
        );
        for bad in [
            "run/clamd.ctl",
            "/run/../etc/x",
            "localhost:3310",
            "127.0.0.1",
        ] {
            let e = Config::parse(&format!("clamd_socket = \"{bad}\"\n")).unwrap_err();
            assert!(e.to_string().contains("clamd_socket"), "{bad}: {e}");
        }
        assert!(Config::parse("clamd_reload_secs = 0\n").is_err());
        assert!(Config::parse("clamd_conf = \"clamd.conf\"\n").is_err());
    }
}
