//! The parts of freshclam.conf that the check and the handler need.
//!
//! freshclam.conf is `Key value` per line, `#` comments, keys case-sensitive; unknown keys are
//! ignored here (freshclam itself validates them).

use crate::system::secure_open::{self, OpenError, Rules};
use std::path::{Path, PathBuf};

/// Debian's location of freshclam.conf.
pub(crate) const DEFAULT_PATH: &str = crate::defaults::FRESHCLAM_CONF;
/// freshclam's compiled-in defaults on Debian.
pub(crate) const DEFAULT_DATABASE_DIRECTORY: &str = crate::defaults::DATABASE_DIRECTORY;
pub(crate) const DEFAULT_DATABASE_OWNER: &str = crate::defaults::DATABASE_OWNER;
pub(crate) const DEFAULT_DNS_DATABASE_INFO: &str = crate::defaults::DNS_DATABASE_INFO;
/// Longest freshclam.conf read (the shipped one is under 1 KiB).
pub(crate) const MAX_LEN: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfError {
    #[error("{0}")]
    Open(#[from] OpenError),
    #[error("{path} line {line}: {reason}")]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreshclamConf {
    pub(crate) database_directory: PathBuf,
    pub(crate) database_owner: String,
    /// Where freshclam logs; freshclam holds an fcntl lock on it while it runs.
    pub(crate) update_log_file: Option<PathBuf>,
    pub(crate) dns_database_info: String,
    pub(crate) pid_file: Option<PathBuf>,
    pub(crate) database_mirrors: Vec<String>,
    pub(crate) private_mirrors: Vec<String>,
    /// HTTPProxyServer, HTTPProxyPort, HTTPProxyUsername, HTTPProxyPassword.
    pub(crate) http_proxy_server: Option<String>,
    pub(crate) http_proxy_port: Option<u16>,
    pub(crate) http_proxy_username: Option<String>,
    pub(crate) http_proxy_password: Option<String>,
}

impl Default for FreshclamConf {
    fn default() -> Self {
        FreshclamConf {
            database_directory: DEFAULT_DATABASE_DIRECTORY.into(),
            database_owner: DEFAULT_DATABASE_OWNER.into(),
            update_log_file: None,
            dns_database_info: DEFAULT_DNS_DATABASE_INFO.into(),
            pid_file: None,
            database_mirrors: Vec::new(),
            private_mirrors: Vec::new(),
            http_proxy_server: None,
            http_proxy_port: None,
            http_proxy_username: None,
            http_proxy_password: None,
        }
    }
}

impl FreshclamConf {
    /// `DNSDatabaseInfo no`: freshclam asks no DNS and takes the mirror's word.
    pub(crate) fn dns_disabled(&self) -> bool {
        self.dns_database_info.eq_ignore_ascii_case("no")
    }

    /// Reads at most [`MAX_LEN`]: on Debian the file belongs to clamav, who could make it a
    /// huge sparse file for root to read.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfError> {
        // clamav's file: no symlink, no FIFO, bounded; any owner.
        let text = secure_open::read(path, &Rules::foreign_file(), MAX_LEN)?;
        Self::parse(&String::from_utf8_lossy(&text)).map_err(|(line, reason)| ConfError::Syntax {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// Parses the text; an error carries the 1-based line number.
    pub(crate) fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut conf = FreshclamConf::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
                Some((k, v)) => (k, unquote(v.trim())),
                None => (line, ""),
            };
            let need = |v: &str| -> Result<String, (usize, String)> {
                if v.is_empty() {
                    Err((i + 1, format!("{key} needs a value")))
                } else {
                    Ok(v.to_string())
                }
            };
            let abs = |v: &str| -> Result<PathBuf, (usize, String)> {
                let v = need(v)?;
                if !v.starts_with('/') {
                    return Err((i + 1, format!("{key} must be an absolute path")));
                }
                Ok(PathBuf::from(v))
            };
            match key {
                "DatabaseDirectory" => conf.database_directory = abs(value)?,
                "DatabaseOwner" => conf.database_owner = need(value)?,
                "UpdateLogFile" => conf.update_log_file = Some(abs(value)?),
                "DNSDatabaseInfo" => conf.dns_database_info = need(value)?,
                "PidFile" => conf.pid_file = Some(abs(value)?),
                "DatabaseMirror" => conf.database_mirrors.push(need(value)?),
                "PrivateMirror" => conf.private_mirrors.push(need(value)?),
                "HTTPProxyServer" => conf.http_proxy_server = Some(need(value)?),
                "HTTPProxyPort" => {
                    conf.http_proxy_port = Some(
                        need(value)?
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| (i + 1, format!("{key} must be a port number")))?,
                    )
                }
                "HTTPProxyUsername" => conf.http_proxy_username = Some(need(value)?),
                "HTTPProxyPassword" => conf.http_proxy_password = Some(need(value)?),
                _ => {}
            }
        }
        Ok(conf)
    }
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_file() {
        let c = FreshclamConf::parse(
            "# Automatically Generated by clamav-freshclam postinst\n\
             DatabaseOwner clamav\nUpdateLogFile /var/log/clamav/freshclam.log\n\
             LogVerbose false\nPidFile /run/clamav/freshclam.pid\n\
             DatabaseMirror db.local.clamav.net\nDatabaseMirror database.clamav.net\n",
        )
        .unwrap();
        assert_eq!(c.database_directory, Path::new("/var/lib/clamav"));
        assert_eq!(c.database_owner, "clamav");
        assert_eq!(
            c.update_log_file.as_deref(),
            Some(Path::new("/var/log/clamav/freshclam.log"))
        );
        assert_eq!(
            c.pid_file.as_deref(),
            Some(Path::new("/run/clamav/freshclam.pid"))
        );
        assert_eq!(c.dns_database_info, "current.cvd.clamav.net");
        assert_eq!(c.database_mirrors.len(), 2);
    }

    #[test]
    fn huge_file_refused_without_reading_it_all() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("freshclam.conf");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(64 << 20).unwrap();
        let e = FreshclamConf::load(&p).unwrap_err().to_string();
        assert!(e.contains("is larger than 1048576 bytes"), "{e}");
        std::fs::write(&p, "DatabaseDirectory /srv/db\n").unwrap();
        let c = FreshclamConf::load(&p).unwrap();
        assert_eq!(c.database_directory, Path::new("/srv/db"));
    }

    #[test]
    fn overrides_and_errors() {
        let c = FreshclamConf::parse("DatabaseDirectory \"/srv/db\"\nDNSDatabaseInfo x.example\n")
            .unwrap();
        assert_eq!(c.database_directory, Path::new("/srv/db"));
        assert_eq!(c.dns_database_info, "x.example");
        assert_eq!(
            FreshclamConf::parse("a\nDatabaseDirectory rel/db")
                .unwrap_err()
                .0,
            2
        );
        assert!(FreshclamConf::parse("DatabaseOwner\n").is_err());
    }
}
