//! The head of an HTTP/1.x response, as a mirror sends it: status line and headers, up to
//! the blank line. Only what fetching a database header needs is kept: the status, the
//! length, the transfer coding, a redirect's target and Content-Range. Everything is
//! bounded: the head's size by the reader, the header count here.

/// Most header lines taken in one response.
pub(crate) const MAX_HEADERS: usize = 100;
/// Longest head read (status line and headers).
pub(crate) const MAX_HEAD: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    /// The reason phrase, printable ASCII only, at most 80 characters.
    pub(crate) reason: String,
    pub(crate) content_length: Option<u64>,
    pub(crate) chunked: bool,
    pub(crate) location: Option<String>,
    /// `Content-Range: bytes FIRST-LAST/LEN`: the first byte sent.
    pub(crate) range_start: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadReply {
    #[error("not an HTTP/1.x status line")]
    StatusLine,
    #[error("the header is not text")]
    NotText,
    #[error("malformed header line")]
    HeaderLine,
    #[error("more than {MAX_HEADERS} header lines")]
    TooManyHeaders,
    #[error("bad Content-Length")]
    ContentLength,
    #[error("conflicting Content-Length headers")]
    ConflictingLength,
    #[error("unsupported Transfer-Encoding {0:?}")]
    TransferEncoding(String),
    #[error("bad Content-Range")]
    ContentRange,
}

/// Parses `head`: the bytes before the blank line (`\r\n\r\n`, or `\n\n` from a sloppy
/// server), without it.
pub(crate) fn parse_head(head: &[u8]) -> Result<Head, BadReply> {
    let text = std::str::from_utf8(head).map_err(|_| BadReply::NotText)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().ok_or(BadReply::StatusLine)?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or(BadReply::StatusLine)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadReply::StatusLine);
    }
    let status: u16 = code.parse().map_err(|_| BadReply::StatusLine)?;
    if !(100..=599).contains(&status) {
        return Err(BadReply::StatusLine);
    }
    let mut h = Head {
        status,
        reason: reason
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(80)
            .collect(),
        content_length: None,
        chunked: false,
        location: None,
        range_start: None,
    };
    for (n, line) in lines.filter(|l| !l.is_empty()).enumerate() {
        if n >= MAX_HEADERS {
            return Err(BadReply::TooManyHeaders);
        }
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding (RFC 9112 5.2): refused, as a proxy must.
            return Err(BadReply::HeaderLine);
        }
        let (name, value) = line.split_once(':').ok_or(BadReply::HeaderLine)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadReply::HeaderLine);
        }
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                if value.is_empty()
                    || value.len() > 19
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(BadReply::ContentLength);
                }
                let v: u64 = value.parse().map_err(|_| BadReply::ContentLength)?;
                if h.content_length.is_some_and(|old| old != v) {
                    return Err(BadReply::ConflictingLength);
                }
                h.content_length = Some(v);
            }
            "transfer-encoding" => {
                let codings: Vec<String> = value
                    .split(',')
                    .map(|c| c.trim().to_ascii_lowercase())
                    .filter(|c| !c.is_empty())
                    .collect();
                match codings.as_slice() {
                    [] => {}
                    [c] if c == "chunked" => h.chunked = true,
                    [c] if c == "identity" => {}
                    _ => {
                        return Err(BadReply::TransferEncoding(value.chars().take(40).collect()));
                    }
                }
            }
            "location" => h.location = Some(value.chars().take(1100).collect()),
            "content-range" => h.range_start = Some(content_range_start(value)?),
            _ => {}
        }
    }
    // Both: the length is not to be trusted (RFC 9112 6.3); chunked rules.
    if h.chunked {
        h.content_length = None;
    }
    Ok(h)
}

/// `bytes 0-511/1234` → 0; `bytes */1234` (with 416) → the reply carries no range.
fn content_range_start(v: &str) -> Result<u64, BadReply> {
    let spec = v.strip_prefix("bytes ").ok_or(BadReply::ContentRange)?;
    let (range, _len) = spec.split_once('/').ok_or(BadReply::ContentRange)?;
    if range == "*" {
        return Err(BadReply::ContentRange);
    }
    let (first, last) = range.split_once('-').ok_or(BadReply::ContentRange)?;
    let num = |s: &str| {
        (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .ok_or(BadReply::ContentRange)
    };
    let (first, last) = (num(first)?, num(last)?);
    if last < first {
        return Err(BadReply::ContentRange);
    }
    Ok(first)
}

/// Where the head ends in `buf`: the index just past the blank line, and the head's own
/// length. `None`: not yet.
pub(crate) fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i + 4, i));
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i + 2, i));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.1 <= b.1 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// One chunk-size line of a chunked body (`1ff;ext=x`): the size. Bounded to 16 hex digits.
pub(crate) fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let hex = line.split(|b| *b == b';').next()?;
    let hex = std::str::from_utf8(hex).ok()?.trim_matches([' ', '\t']);
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_reply() {
        let h = parse_head(
            b"HTTP/1.1 206 Partial Content\r\nServer: nginx\r\nContent-Length: 512\r\n\
              Content-Range: bytes 0-511/123456\r\nAccept-Ranges: bytes",
        )
        .unwrap();
        assert_eq!(h.status, 206);
        assert_eq!(h.reason, "Partial Content");
        assert_eq!(h.content_length, Some(512));
        assert_eq!(h.range_start, Some(0));
        assert!(!h.chunked);
    }

    #[test]
    fn redirects_chunks_and_old_servers() {
        let h = parse_head(b"HTTP/1.0 302 Found\nLocation:  https://m2/daily.cvd \n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.location.as_deref(), Some("https://m2/daily.cvd"));
        let h = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9")
            .unwrap();
        assert!(h.chunked);
        assert_eq!(h.content_length, None);
        assert_eq!(parse_head(b"HTTP/1.1 404").unwrap().status, 404);
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            &b""[..],
            b"SSH-2.0-OpenSSH_9.2",
            b"HTTP/2 200",
            b"HTTP/1.1 2000 OK",
            b"HTTP/1.1 099 x",
            b"HTTP/1.1 200 OK\r\nno colon",
            b"HTTP/1.1 200 OK\r\n folded: x",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
            b"HTTP/1.1 206 OK\r\nContent-Range: bytes 9-1/10",
            b"HTTP/1.1 200 \xff",
        ] {
            assert!(
                parse_head(bad).is_err(),
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
        let many = format!("HTTP/1.1 200 OK{}", "\r\nX: y".repeat(MAX_HEADERS + 1));
        assert_eq!(parse_head(many.as_bytes()), Err(BadReply::TooManyHeaders));
    }

    #[test]
    fn head_boundaries() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nbody"), Some((19, 15)));
        assert_eq!(head_end(b"HTTP/1.0 200 OK\n\nbody"), Some((17, 15)));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(chunk_size(b"1ff;x=y\r"), Some(511));
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"11111111111111111"), None);
    }
}
