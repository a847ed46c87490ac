//! A mirror's address: `http://host[:port][/path]` or `https://...`, or a bare host as
//! freshclam.conf writes it. Only that grammar: no user info, query or fragment, a host that
//! is a DNS name or an IP literal, a path of plain characters.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(crate) fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A validated mirror base URL (the directory that holds `daily.cvd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MirrorUrl {
    pub(crate) scheme: Scheme,
    /// A DNS name (lowercase) or an IP literal (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Starts with `/`, never ends with one unless it is `/`.
    pub(crate) path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mirror URL {url:?}: {reason}")]
pub(crate) struct BadUrl {
    pub(crate) url: String,
    pub(crate) reason: &'static str,
}

/// Longest URL taken (freshclam.conf is the clamav user's file).
const MAX_URL: usize = 1024;

impl MirrorUrl {
    /// Parses `s`; without a scheme, `bare` is used (freshclam: https for DatabaseMirror,
    /// http for a PrivateMirror on the local network).
    pub(crate) fn parse(s: &str, bare: Scheme) -> Result<MirrorUrl, BadUrl> {
        let bad = |reason| BadUrl {
            url: s.chars().take(120).collect(),
            reason,
        };
        if s.len() > MAX_URL {
            return Err(bad("longer than 1024 bytes"));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("not printable ASCII without spaces"));
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) => match sch.to_ascii_lowercase().as_str() {
                "http" => (Scheme::Http, rest),
                "https" => (Scheme::Https, rest),
                _ => return Err(bad("only http and https are supported")),
            },
            None => (bare, s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        if path.contains(['?', '#', '%', '\\']) || path.split('/').any(|seg| seg == "..") {
            return Err(bad(
                "the path may hold no query, fragment, escape or \"..\"",
            ));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad host or port"))?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("bad port"))?,
        };
        let host = if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            ip.to_string()
        } else if crate::dns::valid_name(host)
            && !host
                .split('.')
                .any(|l| l.starts_with('-') || l.ends_with('-'))
        {
            host.to_ascii_lowercase()
        } else {
            return Err(bad("bad host name"));
        };
        let path = match path.trim_end_matches('/') {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        Ok(MirrorUrl {
            scheme,
            host,
            port,
            path,
        })
    }

    /// The URL of `file` in this mirror's directory.
    pub(crate) fn file_path(&self, file: &str) -> String {
        if self.path == "/" {
            format!("/{file}")
        } else {
            format!("{}/{file}", self.path)
        }
    }

    /// `host[:port]` for the Host header and CONNECT: the port only when not the default.
    pub(crate) fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The same server with another path (a redirect's target path).
    pub(crate) fn with_path(&self, path: &str) -> MirrorUrl {
        MirrorUrl {
            path: path.to_string(),
            ..self.clone()
        }
    }

    /// ClamAV's public CDN (`database.clamav.net` and its other names under clamav.net):
    /// asked for a header at most once an hour.
    pub(crate) fn is_public_cdn(&self) -> bool {
        self.host == "clamav.net" || self.host.ends_with(".clamav.net")
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 literal has no port.
fn split_host_port(a: &str) -> Option<(&str, Option<&str>)> {
    if a.is_empty() {
        return None;
    }
    if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((h, None)),
            p => Some((h, Some(p.strip_prefix(':')?))),
        };
    }
    match a.matches(':').count() {
        0 => Some((a, None)),
        1 => {
            let (h, p) = a.split_once(':')?;
            (!h.is_empty()).then_some((h, Some(p)))
        }
        _ => a.parse::<std::net::Ipv6Addr>().ok().map(|_| (a, None)),
    }
}

impl fmt::Display for MirrorUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path == "/" { "" } else { &self.path };
        write!(f, "{}://{}{path}", self.scheme.as_str(), self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<MirrorUrl, BadUrl> {
        MirrorUrl::parse(s, Scheme::Http)
    }

    #[test]
    fn forms_freshclam_conf_uses() {
        let u = p("mirror.lan").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.path.as_str()),
            (Scheme::Http, "mirror.lan", 80, "/")
        );
        assert_eq!(u.to_string(), "http://mirror.lan");
        assert_eq!(u.file_path("daily.cvd"), "/daily.cvd");
        let u = MirrorUrl::parse("database.clamav.net", Scheme::Https).unwrap();
        assert_eq!(u.to_string(), "https://database.clamav.net");
        assert!(u.is_public_cdn());
        let u = p("HTTP://127.0.0.1:8001/clamav/").unwrap();
        assert_eq!(u.to_string(), "http://127.0.0.1:8001/clamav");
        assert_eq!(u.file_path("daily.cld"), "/clamav/daily.cld");
        assert!(!u.is_public_cdn());
        let u = p("https://[::1]:8443").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8443));
        assert_eq!(u.authority(), "[::1]:8443");
        assert_eq!(
            p("https://Mirror.LAN:443/").unwrap().to_string(),
            "https://mirror.lan"
        );
        assert!(!p("evilclamav.net").unwrap().is_public_cdn());
    }

    #[test]
    fn anything_else_is_refused() {
        for s in [
            "",
            "ftp://m",
            "http://",
            "http://u:p@m/",
            "http://m:0",
            "http://m:99999",
            "http://m:x",
            "http://m/a?b",
            "http://m/a#b",
            "http://m/%2e",
            "http://m/../x",
            "http://m a",
            "http://-bad-/",
            "http://[::1",
            "http://[zz]/",
            "file:///etc/passwd",
            "http://m:1:2",
            "http://m\u{e9}/",
        ] {
            assert!(p(s).is_err(), "{s:?} accepted");
        }
        assert!(p(&format!("http://m/{}", "a".repeat(2000))).is_err());
    }
}
