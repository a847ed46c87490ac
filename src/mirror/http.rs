//! The one HTTP exchange the check makes: the first bytes of a file on a mirror, asked with
//! `Range: bytes=0-511` as freshclam asks (`remote_cvdhead`), over HTTP or HTTPS, directly or
//! through freshclam's HTTP proxy, with at most [`MAX_REDIRECTS`] redirects, all within one
//! deadline. A mirror that ignores Range answers 200 with the whole file: the connection is
//! closed once the header is in hand.
//!
//! The handler's one POST goes through the same connection code ([`post`]): Icinga 2's
//! `actions/reschedule-check` over HTTPS.
//!
//! Written here rather than taken from an HTTP crate: one GET and one POST, no cookies, no
//! compression, no keep-alive; what it parses (`reply`) is fuzzed.

use super::reply::{self, BadReply, Head, MAX_HEAD};
use super::tls::{Tls, TlsError};
use super::url::{BadUrl, MirrorUrl, Scheme};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Redirects followed for one file (a CDN uses one or two).
pub(crate) const MAX_REDIRECTS: usize = 3;
/// Most addresses tried for one host name.
const MAX_ADDRS: usize = 4;

/// freshclam's HTTPProxyServer/HTTPProxyPort (and the credentials, already `user:pass`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("bad reply: {0}")]
    Reply(#[from] BadReply),
    #[error("reply header larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("connection closed before the reply")]
    NoReply,
    #[error("HTTP {status} {reason}")]
    Status { status: u16, reason: String },
    #[error("HTTP 416: the file is smaller than {0} bytes")]
    RangeNotSatisfiable(usize),
    #[error("HTTP 206 for another range than the first bytes")]
    WrongRange,
    #[error("only {got} of {want} bytes before the end of the reply")]
    Short { got: usize, want: usize },
    #[error("bad chunked body")]
    Chunked,
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect without a usable Location: {0}")]
    BadRedirect(String),
    #[error("redirect from https to http refused")]
    Downgrade,
    #[error("{0}")]
    Url(#[from] BadUrl),
    #[error("the proxy refused the tunnel: HTTP {0}")]
    Tunnel(u16),
}

impl HttpError {
    fn io(e: std::io::Error) -> HttpError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => HttpError::Timeout,
            _ => HttpError::Io(e),
        }
    }
}

/// What a mirror answered for one file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Got {
    /// The first bytes asked for (exactly that many).
    Bytes(Vec<u8>),
    /// 404 or 410: the mirror has no such file.
    NotFound,
}

/// Fetches the first `n` bytes of `file` in `base`'s directory.
pub(crate) fn first_bytes(
    base: &MirrorUrl,
    file: &str,
    n: usize,
    proxy: Option<&Proxy>,
    tls: &Tls,
    deadline: Instant,
    log: &mut Vec<String>,
) -> Result<Got, HttpError> {
    let mut url = base.clone();
    let mut path = base.file_path(file);
    for hop in 0..=MAX_REDIRECTS {
        let head_and_body = exchange(&url, &path, n, proxy, tls, deadline)?;
        let (head, body) = head_and_body;
        log.push(format!(
            "GET {url}{} Range bytes=0-{}: HTTP {} {}",
            path.strip_prefix(&url.path)
                .filter(|_| url.path != "/")
                .unwrap_or(&path),
            n - 1,
            head.status,
            head.reason
        ));
        match head.status {
            206 if head.range_start == Some(0) => return complete(body, n),
            206 => return Err(HttpError::WrongRange),
            200 => return complete(body, n),
            404 | 410 => return Ok(Got::NotFound),
            416 => return Err(HttpError::RangeNotSatisfiable(n)),
            301 | 302 | 303 | 307 | 308 if hop < MAX_REDIRECTS => {
                let loc = head.location.unwrap_or_default();
                let (next, next_path) = redirect(&url, &loc)?;
                url = next;
                path = next_path;
            }
            301 | 302 | 303 | 307 | 308 => return Err(HttpError::TooManyRedirects),
            status => {
                return Err(HttpError::Status {
                    status,
                    reason: head.reason,
                });
            }
        }
    }
    Err(HttpError::TooManyRedirects)
}

fn complete(body: Vec<u8>, n: usize) -> Result<Got, HttpError> {
    if body.len() < n {
        return Err(HttpError::Short {
            got: body.len(),
            want: n,
        });
    }
    Ok(Got::Bytes(body[..n].to_vec()))
}

/// Where a redirect goes: an absolute http(s) URL, or an absolute path on the same server.
fn redirect(from: &MirrorUrl, loc: &str) -> Result<(MirrorUrl, String), HttpError> {
    if let Some(path) = loc.strip_prefix('/').filter(|p| !p.starts_with('/')) {
        let path = format!("/{path}");
        let probe = from.with_path(&path);
        // The same grammar as a configured URL: checked by parsing it back.
        MirrorUrl::parse(&probe.to_string(), from.scheme)?;
        return Ok((from.with_path("/"), path));
    }
    if !(loc.starts_with("http://") || loc.starts_with("https://")) {
        return Err(HttpError::BadRedirect(loc.chars().take(80).collect()));
    }
    let to = MirrorUrl::parse(loc, from.scheme)?;
    if from.scheme == Scheme::Https && to.scheme == Scheme::Http {
        return Err(HttpError::Downgrade);
    }
    let path = to.path.clone();
    Ok((to.with_path("/"), path))
}

/// A connection, plain or TLS, whose every read and write is bounded by the deadline.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
    fn arm(&self, deadline: Instant) -> std::io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.tcp().set_read_timeout(Some(left))?;
        self.tcp().set_write_timeout(Some(left))
    }
    fn send(&mut self, data: &[u8], deadline: Instant) -> Result<(), HttpError> {
        self.arm(deadline).map_err(HttpError::io)?;
        match self {
            Conn::Plain(s) => s.write_all(data).and_then(|()| s.flush()),
            Conn::Tls(s) => s.write_all(data).and_then(|()| s.flush()),
        }
        .map_err(|e| match e.kind() {
            // rustls reports a failed handshake (a certificate not trusted) this way.
            std::io::ErrorKind::InvalidData => HttpError::Tls(TlsError::Handshake(e.to_string())),
            _ => HttpError::io(e),
        })
    }
    /// One read; 0 at the end. A TLS peer that closes without close_notify ends the reply
    /// too (what was read is still checked for length).
    fn recv(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, HttpError> {
        self.arm(deadline).map_err(HttpError::io)?;
        let r = match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        };
        match r {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(HttpError::Tls(TlsError::Handshake(e.to_string())))
            }
            Err(e) => Err(HttpError::io(e)),
        }
    }
}

/// One request on a new connection: the head, and up to `n` bytes of body.
fn exchange(
    url: &MirrorUrl,
    path: &str,
    n: usize,
    proxy: Option<&Proxy>,
    tls: &Tls,
    deadline: Instant,
) -> Result<(Head, Vec<u8>), HttpError> {
    let (host, port) = match proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (url.host.as_str(), url.port),
    };
    let tcp = connect(host, port, deadline)?;
    let mut conn = Conn::Plain(tcp);
    let auth = proxy
        .and_then(|p| p.credentials.as_deref())
        .map(|c| format!("Proxy-Authorization: Basic {}\r\n", base64(c.as_bytes())))
        .unwrap_or_default();
    let target = match (proxy, url.scheme) {
        (Some(_), Scheme::Http) => format!("{url}{path}", url = url.with_path("/")),
        _ => path.to_string(),
    };
    if url.scheme == Scheme::Https {
        if proxy.is_some() {
            let connect = format!(
                "CONNECT {a} HTTP/1.1\r\nHost: {a}\r\n{auth}\r\n",
                a = with_port(url)
            );
            conn.send(connect.as_bytes(), deadline)?;
            let (head, _) = read_head(&mut conn, deadline)?;
            if head.status != 200 {
                return Err(HttpError::Tunnel(head.status));
            }
        }
        let Conn::Plain(tcp) = conn else {
            unreachable!("a new connection is plain")
        };
        conn = Conn::Tls(Box::new(tls.wrap(&url.host, tcp)?));
    }
    let proxy_auth = if url.scheme == Scheme::Http {
        auth.as_str()
    } else {
        ""
    };
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: check_clamav_freshness/{v}\r\n\
         Range: bytes=0-{last}\r\nAccept-Encoding: identity\r\nConnection: close\r\n{proxy_auth}\r\n",
        host = url.authority(),
        v = env!("CARGO_PKG_VERSION"),
        last = n - 1,
    );
    conn.send(request.as_bytes(), deadline)?;
    let (head, rest) = read_head(&mut conn, deadline)?;
    if !matches!(head.status, 200 | 206) {
        return Ok((head, Vec::new()));
    }
    let body = read_body(&mut conn, &head, rest, n, deadline)?;
    Ok((head, body))
}

/// Most bytes of a POST's reply body kept (Icinga's answers are a few hundred).
pub(crate) const MAX_POST_REPLY: usize = 4096;

/// One POST of `body` to `path` on the HTTPS server `url` (no proxy: the server is on the
/// site's own network), its certificate checked for `server_name`; `headers` are extra
/// header lines, each ending in CRLF. Returns the status and up to [`MAX_POST_REPLY`] bytes
/// of the reply's body. Redirects are not followed.
pub(crate) fn post(
    url: &MirrorUrl,
    server_name: &str,
    path: &str,
    headers: &str,
    body: &[u8],
    tls: &Tls,
    deadline: Instant,
) -> Result<(Head, Vec<u8>), HttpError> {
    let tcp = connect(&url.host, url.port, deadline)?;
    let mut conn = match url.scheme {
        Scheme::Https => Conn::Tls(Box::new(tls.wrap(server_name, tcp)?)),
        Scheme::Http => Conn::Plain(tcp),
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: clamav-freshen/{v}\r\n\
         Content-Length: {len}\r\nAccept-Encoding: identity\r\nConnection: close\r\n{headers}\r\n",
        host = url.authority(),
        v = env!("CARGO_PKG_VERSION"),
        len = body.len(),
    );
    let mut all = request.into_bytes();
    all.extend_from_slice(body);
    conn.send(&all, deadline)?;
    let (head, rest) = read_head(&mut conn, deadline)?;
    let body = read_body(&mut conn, &head, rest, MAX_POST_REPLY, deadline)?;
    Ok((head, body))
}

/// `host:port` always (CONNECT's form).
fn with_port(url: &MirrorUrl) -> String {
    if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    }
}

/// Reads up to the blank line; returns the parsed head and the body bytes read with it.
fn read_head(conn: &mut Conn, deadline: Instant) -> Result<(Head, Vec<u8>), HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some((end, len)) = reply::head_end(&buf) {
            let head = reply::parse_head(&buf[..len])?;
            // 1xx interim replies are not expected from a GET without Expect: refused.
            return Ok((head, buf[end..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let got = conn.recv(&mut chunk, deadline)?;
        if got == 0 {
            return Err(if buf.is_empty() {
                HttpError::NoReply
            } else {
                HttpError::Reply(BadReply::StatusLine)
            });
        }
        buf.extend_from_slice(&chunk[..got]);
    }
}

/// The first `n` bytes of the body (fewer when it ends first), de-chunked when chunked.
fn read_body(
    conn: &mut Conn,
    head: &Head,
    mut raw: Vec<u8>,
    n: usize,
    deadline: Instant,
) -> Result<Vec<u8>, HttpError> {
    let limit = head
        .content_length
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    // A chunked body carries its sizes: bounded all the same.
    let raw_cap = n * 4 + 4096;
    let mut chunk = [0u8; 2048];
    loop {
        let decoded = if head.chunked {
            dechunk(&raw, n)?
        } else {
            Decoded {
                data: raw[..raw.len().min(limit)].to_vec(),
                ended: raw.len() >= limit,
            }
        };
        if decoded.data.len() >= n || decoded.ended || raw.len() > raw_cap {
            return Ok(decoded.data);
        }
        let got = conn.recv(&mut chunk, deadline)?;
        if got == 0 {
            return Ok(decoded.data);
        }
        raw.extend_from_slice(&chunk[..got]);
    }
}

struct Decoded {
    data: Vec<u8>,
    /// The last chunk was seen.
    ended: bool,
}

/// [`dechunk`] for the fuzz target: the data decoded.
#[cfg(feature = "fuzzing")]
pub(crate) fn dechunk_for_fuzzing(raw: &[u8], n: usize) -> Result<Vec<u8>, HttpError> {
    dechunk(raw, n).map(|d| d.data)
}

/// Decodes as much of a chunked body as `raw` holds, up to `n` bytes.
fn dechunk(raw: &[u8], n: usize) -> Result<Decoded, HttpError> {
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        let Some(nl) = raw[at..].iter().position(|b| *b == b'\n') else {
            if raw.len() - at > 64 {
                return Err(HttpError::Chunked);
            }
            return Ok(Decoded { data, ended: false });
        };
        let size = reply::chunk_size(&raw[at..at + nl]).ok_or(HttpError::Chunked)?;
        at += nl + 1;
        if size == 0 {
            return Ok(Decoded { data, ended: true });
        }
        let size = usize::try_from(size).map_err(|_| HttpError::Chunked)?;
        let avail = (raw.len() - at).min(size);
        data.extend_from_slice(&raw[at..at + avail]);
        if data.len() >= n || avail < size {
            return Ok(Decoded { data, ended: false });
        }
        at += size;
        // The CRLF (or a bare LF) after the chunk's data.
        match (raw.get(at), raw.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => at += 2,
            (Some(b'\n'), _) => at += 1,
            (None, _) | (Some(b'\r'), None) => return Ok(Decoded { data, ended: false }),
            _ => return Err(HttpError::Chunked),
        }
    }
}

/// Resolves (in a thread, so that a hung resolver cannot outlast the deadline) and connects
/// to the first address that answers.
fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, HttpError> {
    let addrs: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolve(host, port, deadline)?,
    };
    let mut last = None;
    for addr in addrs.iter().take(MAX_ADDRS) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout);
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(HttpError::Timeout),
            Err(e) => {
                last = Some(HttpError::Connect {
                    addr: addr.to_string(),
                    source: e,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| HttpError::Resolve {
        host: host.to_string(),
        reason: "no address".into(),
    }))
}

fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, HttpError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.take(MAX_ADDRS).collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(HttpError::Io)?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left.max(Duration::from_millis(1))) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err(HttpError::Resolve {
            host: host.into(),
            reason: "no address".into(),
        }),
        Ok(Err(e)) => Err(HttpError::Resolve {
            host: host.into(),
            reason: e.to_string(),
        }),
        Err(_) => Err(HttpError::Timeout),
    }
}

/// RFC 4648 base64, for Proxy-Authorization.
pub(crate) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("user:pa ss", "dXNlcjpwYSBzcw=="),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn chunked_bodies() {
        let d = dechunk(b"3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n", 100).unwrap();
        assert_eq!((d.data.as_slice(), d.ended), (&b"abcde"[..], true));
        let d = dechunk(b"5\r\nab", 100).unwrap();
        assert_eq!((d.data.as_slice(), d.ended), (&b"ab"[..], false));
        let d = dechunk(b"a\r\n0123456789\r\n", 4).unwrap();
        assert_eq!(d.data.len(), 10);
        assert!(dechunk(b"zz\r\n", 4).is_err());
        assert!(dechunk(b"3\r\nabcX", 100).is_err());
        assert!(dechunk(&[b'1'; 100], 4).is_err());
    }

    #[test]
    fn redirect_targets() {
        let from = MirrorUrl::parse("https://m1:8443/db", Scheme::Http).unwrap();
        let (u, p) = redirect(&from, "/other/daily.cvd").unwrap();
        assert_eq!(
            (u.to_string(), p.as_str()),
            ("https://m1:8443".into(), "/other/daily.cvd")
        );
        let (u, p) = redirect(&from, "https://m2/x/daily.cvd").unwrap();
        assert_eq!(
            (u.to_string(), p.as_str()),
            ("https://m2".into(), "/x/daily.cvd")
        );
        assert!(matches!(
            redirect(&from, "http://m2/daily.cvd"),
            Err(HttpError::Downgrade)
        ));
        assert!(redirect(&from, "daily.cvd").is_err());
        assert!(redirect(&from, "//evil/daily.cvd").is_err());
        assert!(redirect(&from, "ftp://m/daily.cvd").is_err());
        assert!(redirect(&from, "/a/../b").is_err());
    }
}
