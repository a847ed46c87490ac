//! The check's memory of ClamAV's public CDN: the daily header it served and when, so that
//! the CDN is asked at most once an hour per filter (ClamAV rate-limits and blocks
//! addresses that ask too often). Private mirrors are the site's own and asked every run.
//!
//! One line in `cdn-header` in the cache directory (see `verified_cache` for the rules the
//! directory and file follow; a file that breaks them is ignored and replaced):
//!
//! ```text
//! clamav-freshen cdn-header 1
//! <fetched epoch> <url> <the header's text, as served>
//! ```

use super::verified_cache::{self, Ignored};
use crate::clamav::cvd::{self, CvdHeader};
use std::fs::File;

const FILE_NAME: &str = "cdn-header";
const MAGIC: &str = "clamav-freshen cdn-header 1";
const MAX_LEN: u64 = 2048;
/// How long a header from the CDN is used without asking again.
pub(crate) const MAX_AGE_SECS: i64 = 3600;

/// A header the CDN served, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cached {
    pub(crate) fetched: i64,
    pub(crate) url: String,
    pub(crate) header: CvdHeader,
}

/// The header cached for `url` when it was fetched under an hour before `now` (and not in
/// the future: a clock set back must not freeze the cache).
pub(crate) fn get(dir: &File, url: &str, now: i64) -> Result<Option<Cached>, Ignored> {
    let Some(bytes) = verified_cache::read_in(dir, FILE_NAME, MAX_LEN)? else {
        return Ok(None);
    };
    let c = std::str::from_utf8(&bytes)
        .ok()
        .and_then(parse)
        .ok_or(Ignored::Format)?;
    let age = now - c.fetched;
    Ok((c.url == url && (0..MAX_AGE_SECS).contains(&age)).then_some(c))
}

/// Remembers what `url` served at `now`.
pub(crate) fn put(dir: &File, url: &str, now: i64, raw_header: &[u8]) -> std::io::Result<()> {
    let text = String::from_utf8_lossy(raw_header);
    let text = text.trim_end_matches([' ', '\0', '\n', '\r']);
    if text.contains('\n') || url.contains([' ', '\n']) {
        return Err(std::io::Error::other("not cacheable"));
    }
    write(dir, &format!("{MAGIC}\n{now} {url} {text}\n"))
}

fn write(dir: &File, text: &str) -> std::io::Result<()> {
    verified_cache::write_in(dir, FILE_NAME, text.as_bytes())
}

fn parse(text: &str) -> Option<Cached> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let line = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    let mut parts = line.splitn(3, ' ');
    let fetched = parts.next()?.parse::<i64>().ok()?;
    let url = parts.next()?.to_string();
    let header = cvd::parse_header(parts.next()?.as_bytes()).ok()?;
    Some(Cached {
        fetched,
        url,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const HEADER: &[u8] = b"ClamAV-VDB:01 Dec 2026 10-00 +0000:27472:2090000:90:0123456789abcdef0123456789abcdef:sig:builder:1796119200";

    #[test]
    fn an_hour_then_asked_again() {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = verified_cache::open_dir(d.path()).unwrap();
        let url = "https://database.clamav.net";
        assert_eq!(get(&dir, url, 1000).unwrap(), None);
        let mut padded = HEADER.to_vec();
        padded.resize(512, b' ');
        put(&dir, url, 1000, &padded).unwrap();
        let c = get(&dir, url, 1000 + MAX_AGE_SECS - 1).unwrap().unwrap();
        assert_eq!((c.fetched, c.header.version), (1000, 27472));
        assert_eq!(get(&dir, url, 1000 + MAX_AGE_SECS).unwrap(), None);
        assert_eq!(get(&dir, url, 999).unwrap(), None, "from the future");
        assert_eq!(get(&dir, "https://other.clamav.net", 1001).unwrap(), None);
        std::fs::write(d.path().join(FILE_NAME), "junk\n").unwrap();
        assert!(matches!(get(&dir, url, 1001), Err(Ignored::Format)));
    }
}
