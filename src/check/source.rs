//! Where the published version comes from, decided from freshclam.conf as freshclam
//! decides: ClamAV's DNS TXT record by default; the mirror's own daily header with
//! `PrivateMirror`, with `DNSDatabaseInfo no`, or with `-m URL`.

use crate::clamav::freshclam_conf::FreshclamConf;
use crate::mirror::Mirrors;
use crate::mirror::http::Proxy;
use crate::mirror::url::{BadUrl, MirrorUrl, Scheme};

/// freshclam's DatabaseMirror when freshclam.conf names none.
pub(crate) const DEFAULT_DATABASE_MIRROR: &str = "database.clamav.net";
/// curl's port for an HTTP proxy named without one (freshclam leaves it to curl).
pub(crate) const DEFAULT_PROXY_PORT: u16 = 1080;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The TXT record of this name; `fallback`: the mirrors to ask when it is stale
    /// (freshclam.conf's DatabaseMirror lines, when it has any).
    Dns {
        name: String,
        fallback: Option<Mirrors>,
    },
    /// The mirrors' headers; `compare`: the TXT name to compare the mirror with.
    Mirror {
        mirrors: Mirrors,
        why: Why,
        compare: Option<String>,
    },
}

/// Why the mirror is the truth (for `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Option,
    PrivateMirror,
    DnsDisabled,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Option => "-m names the mirror",
            Why::PrivateMirror => "freshclam.conf sets PrivateMirror",
            Why::DnsDisabled => "freshclam.conf sets DNSDatabaseInfo no",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SourceError {
    #[error("freshclam.conf: {0}")]
    Url(#[from] BadUrl),
    #[error("freshclam.conf: HTTPProxyServer {0:?} is not an http:// proxy host")]
    Proxy(String),
}

/// What the options and freshclam.conf (`conf`, None when -d made it unnecessary and it is
/// absent) say. `dns_name`: `-H`. `compare`: `--compare-dns`.
pub(crate) fn choose(
    mirror: Option<&MirrorUrl>,
    dns_name: Option<&str>,
    conf: Option<&FreshclamConf>,
    compare: bool,
) -> Result<Source, SourceError> {
    let defaults = FreshclamConf::default();
    let c = conf.unwrap_or(&defaults);
    let proxy = proxy(c)?;
    let txt_name = || {
        dns_name
            .map(str::to_string)
            .or_else(|| (!c.dns_disabled()).then(|| c.dns_database_info.clone()))
            .unwrap_or_else(|| crate::defaults::DNS_DATABASE_INFO.to_string())
    };
    let mirror_source = |urls: Vec<MirrorUrl>, why| Source::Mirror {
        mirrors: Mirrors {
            urls,
            proxy: proxy.clone(),
        },
        why,
        compare: compare.then(txt_name),
    };
    if let Some(m) = mirror {
        return Ok(mirror_source(vec![m.clone()], Why::Option));
    }
    // -H asks for DNS whatever freshclam.conf says.
    if dns_name.is_none() {
        if !c.private_mirrors.is_empty() {
            let urls = parse_all(&c.private_mirrors, Scheme::Http)?;
            return Ok(mirror_source(urls, Why::PrivateMirror));
        }
        if c.dns_disabled() {
            return Ok(mirror_source(database_mirrors(c)?, Why::DnsDisabled));
        }
    }
    let fallback = match conf {
        Some(c) if !c.database_mirrors.is_empty() => Some(Mirrors {
            urls: database_mirrors(c)?,
            proxy,
        }),
        _ => None,
    };
    Ok(Source::Dns {
        name: txt_name(),
        fallback,
    })
}

fn parse_all(list: &[String], bare: Scheme) -> Result<Vec<MirrorUrl>, SourceError> {
    list.iter()
        .take(crate::mirror::MAX_MIRRORS)
        .map(|m| MirrorUrl::parse(m, bare).map_err(SourceError::from))
        .collect()
}

/// DatabaseMirror lines (https when bare, as freshclam uses ClamAV's CDN), or the default.
fn database_mirrors(c: &FreshclamConf) -> Result<Vec<MirrorUrl>, SourceError> {
    if c.database_mirrors.is_empty() {
        return parse_all(&[DEFAULT_DATABASE_MIRROR.to_string()], Scheme::Https);
    }
    parse_all(&c.database_mirrors, Scheme::Https)
}

fn proxy(c: &FreshclamConf) -> Result<Option<Proxy>, SourceError> {
    let Some(server) = &c.http_proxy_server else {
        return Ok(None);
    };
    let bad = || SourceError::Proxy(server.chars().take(80).collect());
    let host = server
        .strip_prefix("http://")
        .unwrap_or(server)
        .trim_end_matches('/');
    let url = MirrorUrl::parse(&format!("http://{host}"), Scheme::Http).map_err(|_| bad())?;
    if url.path != "/" {
        return Err(bad());
    }
    let port = c.http_proxy_port.unwrap_or(if host.contains(':') {
        url.port
    } else {
        DEFAULT_PROXY_PORT
    });
    let credentials = c
        .http_proxy_username
        .as_ref()
        .map(|u| format!("{u}:{}", c.http_proxy_password.as_deref().unwrap_or("")));
    Ok(Some(Proxy {
        host: url.host,
        port,
        credentials,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> FreshclamConf {
        FreshclamConf::parse(text).unwrap()
    }

    #[test]
    fn dns_by_default_with_the_mirrors_as_fallback() {
        let c = conf("DatabaseMirror database.clamav.net\n");
        let Source::Dns { name, fallback } = choose(None, None, Some(&c), false).unwrap() else {
            panic!()
        };
        assert_eq!(name, "current.cvd.clamav.net");
        assert_eq!(
            fallback.unwrap().urls[0].to_string(),
            "https://database.clamav.net"
        );
        // Without freshclam.conf (-d), no mirror is asked behind the admin's back.
        assert!(matches!(
            choose(None, None, None, false).unwrap(),
            Source::Dns { fallback: None, .. }
        ));
    }

    #[test]
    fn private_mirror_dns_off_and_the_option() {
        let c = conf(
            "PrivateMirror mirror.lan\nPrivateMirror https://m2:8443/clamav\nDatabaseMirror x\n",
        );
        let s = choose(None, None, Some(&c), true).unwrap();
        let Source::Mirror {
            mirrors,
            why,
            compare,
        } = s
        else {
            panic!()
        };
        assert_eq!(why, Why::PrivateMirror);
        let urls: Vec<String> = mirrors.urls.iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["http://mirror.lan", "https://m2:8443/clamav"]);
        assert_eq!(compare.as_deref(), Some("current.cvd.clamav.net"));

        let c = conf("DNSDatabaseInfo no\n");
        let Source::Mirror {
            mirrors,
            why,
            compare,
        } = choose(None, None, Some(&c), false).unwrap()
        else {
            panic!()
        };
        assert_eq!((why, compare), (Why::DnsDisabled, None));
        assert_eq!(mirrors.urls[0].to_string(), "https://database.clamav.net");

        let m = MirrorUrl::parse("http://10.0.0.5:8080", Scheme::Http).unwrap();
        let Source::Mirror { why, .. } = choose(Some(&m), None, Some(&c), false).unwrap() else {
            panic!()
        };
        assert_eq!(why, Why::Option);
        // -H: DNS, whatever freshclam.conf says.
        assert!(matches!(
            choose(None, Some("current.example"), Some(&c), false).unwrap(),
            Source::Dns { .. }
        ));
    }

    #[test]
    fn proxies() {
        let c = conf(
            "PrivateMirror m\nHTTPProxyServer http://proxy.lan\nHTTPProxyPort 3128\nHTTPProxyUsername u\nHTTPProxyPassword p w\n",
        );
        let Source::Mirror { mirrors, .. } = choose(None, None, Some(&c), false).unwrap() else {
            panic!()
        };
        let p = mirrors.proxy.unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.credentials.as_deref()),
            ("proxy.lan", 3128, Some("u:p w"))
        );
        let c = conf("PrivateMirror m\nHTTPProxyServer proxy.lan\n");
        let Source::Mirror { mirrors, .. } = choose(None, None, Some(&c), false).unwrap() else {
            panic!()
        };
        assert_eq!(mirrors.proxy.unwrap().port, DEFAULT_PROXY_PORT);
        for bad in ["https://proxy", "proxy/x", "u@proxy", "socks5://p"] {
            let c = conf(&format!("PrivateMirror m\nHTTPProxyServer {bad}\n"));
            assert!(choose(None, None, Some(&c), false).is_err(), "{bad}");
        }
        let c = conf("PrivateMirror ftp://m\n");
        assert!(choose(None, None, Some(&c), false).is_err());
    }
}
