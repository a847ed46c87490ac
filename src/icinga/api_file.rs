//! `/etc/clamav-freshen/icinga2-api.toml`: where the handler asks Icinga 2 for the re-check
//! after a repair, and as whom. Root's file, and a secret: it must be owned by root (test
//! mode: by the effective uid), mode 0600 or stricter, a regular file, no symlink, checked
//! on the descriptor. On a standalone node the package writes it with the ApiUser it made;
//! on an agent the admin writes it for the master's API (README).
//!
//! ```toml
//! url = "https://192.0.2.1:5665"      # https only; the port is Icinga's 5665 unless said
//! user = "clamav-freshen"
//! password = "..."
//! ca_file = "/var/lib/icinga2/certs/ca.crt"
//! server_name = "master1.example.org" # the name in the API's certificate (default: url's host)
//! host = "mailfilter1"                # the Icinga host object (default: nagios_host)
//! service = "ClamAV signatures"       # (default: nagios_service)
//! timeout_secs = 10
//! ```

use crate::mirror::url::{MirrorUrl, Scheme};
use crate::system::secure_open::{self, Access, OpenError, Rules};
use serde::Deserialize;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Icinga 2's API port.
pub(crate) const ICINGA_API_PORT: u16 = 5665;
/// Longest file read.
const MAX_LEN: u64 = 16 * 1024;
/// Longest text value (user, password, names).
const MAX_FIELD: usize = 255;
/// Longest bound on one request.
const MAX_TIMEOUT_SECS: u64 = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    user: String,
    password: String,
    ca_file: PathBuf,
    server_name: Option<String>,
    host: Option<String>,
    service: Option<String>,
    timeout_secs: Option<u64>,
}

/// The validated file.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiFile {
    pub(crate) url: MirrorUrl,
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) ca_file: PathBuf,
    pub(crate) server_name: String,
    pub(crate) host: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) timeout_secs: u64,
}

impl std::fmt::Debug for ApiFile {
    // Never the password: a Debug print may end up in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiFile")
            .field("url", &self.url.to_string())
            .field("user", &self.user)
            .field("ca_file", &self.ca_file)
            .field("server_name", &self.server_name)
            .field("host", &self.host)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiFileError {
    #[error("{0}")]
    Open(OpenError),
    #[error("{} is readable by group or others (mode {mode:o}): it holds a password", path.display())]
    Readable { path: PathBuf, mode: u32 },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl ApiFile {
    /// Loads `path`, owned by `owner_uid`. `Ok(None)`: there is no such file (the command
    /// pipe is the way, if any).
    pub(crate) fn load(path: &Path, owner_uid: u32) -> Result<Option<ApiFile>, ApiFileError> {
        let file = match secure_open::open(path, Access::Read, &Rules::own_file(owner_uid)) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(ApiFileError::Open(e)),
        };
        let invalid = |reason: String| ApiFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let meta = file.metadata().map_err(|e| invalid(e.to_string()))?;
        if meta.mode() & 0o077 != 0 {
            return Err(ApiFileError::Readable {
                path: path.to_path_buf(),
                mode: meta.mode() & 0o7777,
            });
        }
        let mut bytes = Vec::new();
        (&file)
            .take(MAX_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| invalid(e.to_string()))?;
        if bytes.len() as u64 > MAX_LEN {
            return Err(invalid(format!("larger than {MAX_LEN} bytes")));
        }
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
        Self::parse(&text).map(Some).map_err(invalid)
    }

    pub(crate) fn parse(text: &str) -> Result<ApiFile, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            e.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        let url = MirrorUrl::parse(&raw.url, Scheme::Https).map_err(|e| e.to_string())?;
        if url.scheme != Scheme::Https {
            return Err("url must be https:// (the password crosses it)".into());
        }
        if url.path != "/" {
            return Err("url must have no path (the API is at /v1)".into());
        }
        // A bare `https://host` means Icinga's port, not 443.
        let url = MirrorUrl {
            port: if port_given(&raw.url) {
                url.port
            } else {
                ICINGA_API_PORT
            },
            ..url
        };
        let user = field("user", raw.user)?;
        if user.contains(':') {
            return Err("user must not contain ':'".into());
        }
        let password = field("password", raw.password)?;
        if !raw.ca_file.is_absolute() {
            return Err("ca_file must be an absolute path".into());
        }
        let server_name = match raw.server_name {
            Some(n) => field("server_name", n)?,
            None => url.host.clone(),
        };
        rustls::pki_types::ServerName::try_from(server_name.clone())
            .map_err(|_| format!("server_name {server_name:?} is not a DNS name or an IP"))?;
        let timeout_secs = raw.timeout_secs.unwrap_or(10);
        if timeout_secs == 0 || timeout_secs > MAX_TIMEOUT_SECS {
            return Err(format!("timeout_secs must be 1..{MAX_TIMEOUT_SECS}"));
        }
        Ok(ApiFile {
            url,
            user,
            password,
            ca_file: raw.ca_file,
            server_name,
            host: raw.host.map(|h| field("host", h)).transpose()?,
            service: raw.service.map(|s| field("service", s)).transpose()?,
            timeout_secs,
        })
    }
}

/// Whether the URL's authority names a port (`host:N`, `[v6]:N`).
fn port_given(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rfind(']') {
        Some(i) => authority[i..].contains(':'),
        None => authority.contains(':'),
    }
}

/// A text value: non-empty, at most [`MAX_FIELD`] bytes, no control characters.
fn field(key: &str, v: String) -> Result<String, String> {
    if v.is_empty() || v.len() > MAX_FIELD || v.chars().any(char::is_control) {
        return Err(format!(
            "{key} must be 1..{MAX_FIELD} bytes without control characters"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const GOOD: &str = r#"
url = "https://192.0.2.1:5665"
user = "clamav-freshen"
password = "s3cret"
ca_file = "/var/lib/icinga2/certs/ca.crt"
server_name = "master1"
host = "mailfilter1"
"#;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn good_file_parses() {
        let a = ApiFile::parse(GOOD).unwrap();
        assert_eq!(a.url.to_string(), "https://192.0.2.1:5665");
        assert_eq!(a.url.port, 5665);
        assert_eq!(a.server_name, "master1");
        assert_eq!(a.host.as_deref(), Some("mailfilter1"));
        assert_eq!(a.service, None);
        assert_eq!(a.timeout_secs, 10);
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn bare_host_means_icinga_port_and_own_name() {
        let t = GOOD
            .replace("https://192.0.2.1:5665", "https://icinga.example.org")
            .replace("server_name = \"master1\"\n", "");
        let a = ApiFile::parse(&t).unwrap();
        assert_eq!(a.url.port, ICINGA_API_PORT);
        assert_eq!(a.server_name, "icinga.example.org");
        let t = GOOD.replace(":5665", ":8443");
        assert_eq!(ApiFile::parse(&t).unwrap().url.port, 8443);
        let t = GOOD.replace("192.0.2.1:5665", "[2001:db8::1]");
        assert_eq!(ApiFile::parse(&t).unwrap().url.port, ICINGA_API_PORT);
        let t = GOOD.replace("192.0.2.1:5665", "[2001:db8::1]:443");
        assert_eq!(ApiFile::parse(&t).unwrap().url.port, 443);
    }

    #[test]
    fn refusals() {
        for (from, to, why) in [
            ("https://192.0.2.1:5665", "http://192.0.2.1:5665", "https"),
            (
                "https://192.0.2.1:5665",
                "https://192.0.2.1:5665/v1",
                "no path",
            ),
            ("\"clamav-freshen\"", "\"a:b\"", "':'"),
            ("\"s3cret\"", "\"\"", "password must"),
            ("\"s3cret\"", "\"a\\nb\"", "password must"),
            ("/var/lib/icinga2/certs/ca.crt", "ca.crt", "absolute"),
            ("\"master1\"", "\"bad name!\"", "server_name"),
            ("host =", "hots =", "unknown field"),
        ] {
            let t = GOOD.replace(from, to);
            let e = ApiFile::parse(&t).unwrap_err();
            assert!(e.contains(why), "{from} -> {to}: {e}");
        }
        let t = format!("{GOOD}timeout_secs = 0\n");
        assert!(ApiFile::parse(&t).unwrap_err().contains("timeout_secs"));
        let t = format!("{GOOD}timeout_secs = 61\n");
        assert!(ApiFile::parse(&t).unwrap_err().contains("timeout_secs"));
    }

    #[test]
    fn load_requires_a_closed_file_of_the_owner() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("icinga2-api.toml");
        assert!(ApiFile::load(&p, me()).unwrap().is_none());
        std::fs::write(&p, GOOD).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(ApiFile::load(&p, me()).unwrap().is_some());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            ApiFile::load(&p, me()),
            Err(ApiFileError::Readable { .. })
        ));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            ApiFile::load(&p, me() + 1),
            Err(ApiFileError::Open(OpenError::Owner { .. }))
        ));
        let l = d.path().join("link.toml");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(matches!(
            ApiFile::load(&l, me()),
            Err(ApiFileError::Open(OpenError::Symlink { .. }))
        ));
        std::fs::write(&p, "url = 1\n").unwrap();
        assert!(matches!(
            ApiFile::load(&p, me()),
            Err(ApiFileError::Invalid { .. })
        ));
    }
}
