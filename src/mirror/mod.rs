//! What a mirror serves: the header of its daily database, fetched as freshclam fetches it
//! from a private mirror (the first 512 bytes, `daily.cld` then `daily.cvd`). For sites
//! whose truth is their own mirror (PrivateMirror, `DNSDatabaseInfo no`, air-gapped
//! filters), and for when ClamAV's DNS record is stale.

pub(crate) mod http;
pub(crate) mod reply;
pub(crate) mod tls;
pub(crate) mod url;

use crate::clamav::cvd::{self, CvdHeader, HEADER_LEN, HeaderError};
use http::{Got, HttpError, Proxy};
use std::time::Instant;
use tls::Tls;
use url::MirrorUrl;

/// Mirrors asked in one run, at most (freshclam.conf may list many).
pub(crate) const MAX_MIRRORS: usize = 4;

/// The mirrors to ask, in order, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mirrors {
    pub(crate) urls: Vec<MirrorUrl>,
    pub(crate) proxy: Option<Proxy>,
}

/// A mirror's daily header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) url: MirrorUrl,
    pub(crate) file: &'static str,
    pub(crate) header: CvdHeader,
    /// The 512 bytes as served (what a cache keeps).
    pub(crate) raw: Vec<u8>,
}

/// Why one file on one mirror gave no header.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("not found")]
    NotFound,
    #[error("not a ClamAV database header ({0})")]
    Header(#[from] HeaderError),
}

/// Why no mirror told the published version: every mirror and file tried, with its reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MirrorError {
    #[error("no mirror configured")]
    NoMirror,
    #[error("{}", .0.join("; "))]
    Failed(Vec<String>),
}

/// The files to ask for: a private mirror may hold the `.cld` freshclam keeps locally
/// (a copy of a filter's database directory), ClamAV's CDN and cvdupdate serve `.cvd` only.
fn files_for(url: &MirrorUrl) -> &'static [&'static str] {
    if url.is_public_cdn() {
        &["daily.cvd"]
    } else {
        &["daily.cld", "daily.cvd"]
    }
}

/// Asks the mirrors in order (each within its share of the time left) for their daily
/// header; the first that serves a valid one answers.
pub(crate) fn daily_header(
    mirrors: &Mirrors,
    tls: &Tls,
    deadline: Instant,
    log: &mut Vec<String>,
) -> Result<Served, MirrorError> {
    let urls: Vec<&MirrorUrl> = mirrors.urls.iter().take(MAX_MIRRORS).collect();
    if urls.is_empty() {
        return Err(MirrorError::NoMirror);
    }
    let mut failures = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let share = Instant::now() + left / (urls.len() - i) as u32;
        let mut why = Vec::new();
        for file in files_for(url) {
            match one_file(url, file, mirrors.proxy.as_ref(), tls, share, log) {
                Ok((header, raw)) => {
                    return Ok(Served {
                        url: (*url).clone(),
                        file,
                        header,
                        raw,
                    });
                }
                Err(e) => {
                    let stop = matches!(e, FileError::Http(HttpError::Timeout));
                    why.push(format!("{file}: {e}"));
                    if stop {
                        break;
                    }
                }
            }
        }
        failures.push(format!("mirror {url}: {}", why.join(", ")));
    }
    Err(MirrorError::Failed(failures))
}

fn one_file(
    url: &MirrorUrl,
    file: &str,
    proxy: Option<&Proxy>,
    tls: &Tls,
    deadline: Instant,
    log: &mut Vec<String>,
) -> Result<(CvdHeader, Vec<u8>), FileError> {
    match http::first_bytes(url, file, HEADER_LEN, proxy, tls, deadline, log)? {
        Got::NotFound => Err(FileError::NotFound),
        Got::Bytes(b) => Ok((cvd::parse_header(&b)?, b)),
    }
}
