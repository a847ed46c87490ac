//! The published signature versions: the TXT record `current.cvd.clamav.net`, asked of the
//! system's nameservers directly (UDP, TCP when truncated), within a hard deadline.
//!
//! A small stub resolver rather than getaddrinfo: libc has no TXT lookup, and the check must
//! bound its whole run and say exactly which server failed how.

mod record;

pub(crate) use record::{DnsInfo, TxtError, parse_txt};

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, PacketFlag, QCLASS, QTYPE, Question, RCODE, TYPE};
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Instant;

pub(crate) const DNS_PORT: u16 = 53;
/// Header length of a DNS message (RFC 1035 4.1.1).
const HEADER_LEN: usize = 12;
/// Largest UDP answer read; without EDNS0 servers send at most 512 bytes, this is slack.
const UDP_BUF: usize = 4096;
/// Answers a TCP server may send us; the TXT record is ~40 bytes, so this is generous.
const TCP_MAX: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum DnsError {
    #[error("invalid DNS name {0:?}")]
    InvalidName(String),
    #[error("no nameserver to ask")]
    NoServers,
    #[error("cannot read {path}: {reason}")]
    ResolvConf { path: String, reason: String },
    #[error("{name} does not exist (NXDOMAIN from {server})")]
    NxDomain { name: String, server: SocketAddr },
    #[error("{name} has no TXT record (answer from {server})")]
    NoTxt { name: String, server: SocketAddr },
    #[error("nameserver {server} answered {rcode}")]
    ServerFailure { server: SocketAddr, rcode: String },
    #[error("nameserver {server}: {reason}")]
    Network { server: SocketAddr, reason: String },
    #[error("no answer for {name} within {secs:.1}s{ignored}")]
    Timeout {
        name: String,
        secs: f64,
        ignored: String,
    },
}

/// A TXT answer and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxtAnswer {
    /// The character-strings of the first TXT record, concatenated.
    pub(crate) text: Vec<u8>,
    pub(crate) server: SocketAddr,
    /// True when the UDP answer was truncated and TCP gave the full one.
    pub(crate) tcp: bool,
}

/// `-s` that is not an IP address with an optional port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server {0:?}: expected an IP address with optional :PORT")]
pub(crate) struct BadServer(String);

/// Parses `-s`: an IP address, with an optional port (`1.2.3.4:53`, `[::1]:53`, `::1`).
/// Names are refused: the nameserver cannot be looked up with itself.
pub(crate) fn parse_server(s: &str) -> Result<SocketAddr, BadServer> {
    parse_ip_port(s, DNS_PORT).ok_or_else(|| BadServer(s.to_string()))
}

/// An IP address with an optional port, `default_port` when none: `-s`, and clamd's `-C`.
pub(crate) fn parse_ip_port(s: &str, default_port: u16) -> Option<SocketAddr> {
    match s.parse::<IpAddr>() {
        Ok(ip) => Some(SocketAddr::new(ip, default_port)),
        Err(_) => s.parse::<SocketAddr>().ok(),
    }
}

/// Nameservers of a resolv.conf; none listed means the local host, as in glibc.
pub(crate) fn nameservers(path: &Path) -> Result<Vec<SocketAddr>, DnsError> {
    let err = |reason: String| DnsError::ResolvConf {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let conf = resolv_conf::Config::parse(&bytes).map_err(|e| err(e.to_string()))?;
    let mut v: Vec<SocketAddr> = conf
        .nameservers
        .into_iter()
        .map(|ip| SocketAddr::new(IpAddr::from(ip), DNS_PORT))
        .collect();
    if v.is_empty() {
        v.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DNS_PORT));
    }
    Ok(v)
}

/// A query id nobody off-path can guess. std's RandomState keys come from the OS RNG, which
/// spares a crate for two bytes.
pub(crate) fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u16
}

/// A host name as DNS carries it: dot-separated labels of 1..=63 letters, digits, `-` or `_`,
/// 253 bytes at most, one trailing dot allowed. simple-dns alone takes `a..b`.
pub(crate) fn valid_name(name: &str) -> bool {
    let n = name.strip_suffix('.').unwrap_or(name);
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Builds a recursive TXT query (class IN) for `name`.
pub(crate) fn build_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let bad = || DnsError::InvalidName(name.to_string());
    if !valid_name(name) {
        return Err(bad());
    }
    let qname = Name::new(name).map_err(|_| bad())?;
    let mut p = simple_dns::Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        qname,
        QTYPE::TYPE(TYPE::TXT),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.build_bytes_vec()
        .map_err(|_| DnsError::InvalidName(name.to_string()))
}

/// What one datagram or TCP message meant for our query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Txt(Vec<u8>),
    NxDomain,
    /// NOERROR without a TXT record for the name (NODATA).
    NoTxt,
    /// The answer did not fit in UDP: ask again over TCP.
    Truncated,
    /// Any other response code (SERVFAIL, REFUSED, ...), as text.
    Rcode(String),
}

/// Why a packet was not taken as the answer; such packets are ignored, so that a stray or
/// spoofed datagram cannot decide the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reject {
    Malformed,
    WrongId,
    NotAResponse,
    WrongQuestion,
}

/// Interprets `buf` as the answer to query `id` for TXT `name`.
pub(crate) fn parse_reply(buf: &[u8], id: u16, name: &str) -> Result<Reply, Reject> {
    if buf.len() < HEADER_LEN {
        return Err(Reject::Malformed);
    }
    // Header checks on the raw bytes: a truncated answer may not parse as a whole.
    if u16::from_be_bytes([buf[0], buf[1]]) != id {
        return Err(Reject::WrongId);
    }
    let flags = u16::from_be_bytes([buf[2], buf[3]]);
    if flags & PacketFlag::RESPONSE.bits() == 0 {
        return Err(Reject::NotAResponse);
    }
    if flags & PacketFlag::TRUNCATION.bits() != 0 {
        return Ok(Reply::Truncated);
    }
    let p = simple_dns::Packet::parse(buf).map_err(|_| Reject::Malformed)?;
    let want = Name::new(name).map_err(|_| Reject::WrongQuestion)?;
    let q_ok = p.questions.len() == 1
        && p.questions[0].qname == want
        && p.questions[0].qtype == QTYPE::TYPE(TYPE::TXT)
        && p.questions[0].qclass == QCLASS::CLASS(CLASS::IN);
    if !q_ok {
        return Err(Reject::WrongQuestion);
    }
    match p.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Ok(Reply::NxDomain),
        RCODE::ServerFailure => return Ok(Reply::Rcode("SERVFAIL".into())),
        RCODE::Refused => return Ok(Reply::Rcode("REFUSED".into())),
        other => return Ok(Reply::Rcode(format!("{other:?}"))),
    }
    // Follow a CNAME chain within the answer, as a recursive server sends it.
    let mut owner = want;
    for _ in 0..8 {
        let mut next = None;
        for rr in &p.answers {
            if rr.name != owner || rr.class != CLASS::IN {
                continue;
            }
            match &rr.rdata {
                RData::TXT(txt) => {
                    let text = match String::try_from(txt.clone()) {
                        Ok(s) => s.into_bytes(),
                        Err(e) => e.into_bytes(),
                    };
                    return Ok(Reply::Txt(text));
                }
                RData::CNAME(c) => next = Some(c.0.clone()),
                _ => {}
            }
        }
        match next {
            Some(n) => owner = n,
            None => break,
        }
    }
    Ok(Reply::NoTxt)
}

/// Looks up the TXT record `name` from `servers`: up to `rounds` passes over the list, each
/// try given an equal share of the time left before `deadline`. NXDOMAIN and NODATA end the
/// search (a definitive answer); failures and silence move on to the next server. `log`
/// collects one line per try for `-v`.
pub(crate) fn query_txt(
    name: &str,
    servers: &[SocketAddr],
    rounds: u32,
    deadline: Instant,
    log: &mut Vec<String>,
) -> Result<TxtAnswer, DnsError> {
    build_query(0, name)?; // refuse a bad name before any network traffic
    if servers.is_empty() {
        return Err(DnsError::NoServers);
    }
    let start = Instant::now();
    let total = servers.len() as u32 * rounds.max(1);
    let mut last_failure: Option<DnsError> = None;
    let mut ignored = 0u32;
    for i in 0..total {
        let server = servers[(i as usize) % servers.len()];
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let try_deadline = Instant::now() + left / (total - i);
        let id = random_id();
        let query = build_query(id, name)?;
        let res = udp_try(&query, id, name, server, try_deadline, &mut ignored);
        let (res, tcp) = match res {
            Ok(Some(Reply::Truncated)) => {
                log.push(format!("{server} UDP: truncated, asking over TCP"));
                (tcp_try(&query, id, name, server, deadline).map(Some), true)
            }
            r => (r, false),
        };
        match res {
            Ok(Some(Reply::Txt(text))) => {
                let via = if tcp { "TCP" } else { "UDP" };
                log.push(format!("{server} {via}: TXT \"{}\"", text.escape_ascii()));
                return Ok(TxtAnswer { text, server, tcp });
            }
            Ok(Some(Reply::NxDomain)) => {
                log.push(format!("{server}: NXDOMAIN"));
                return Err(DnsError::NxDomain {
                    name: name.into(),
                    server,
                });
            }
            Ok(Some(Reply::NoTxt)) => {
                log.push(format!("{server}: no TXT record"));
                return Err(DnsError::NoTxt {
                    name: name.into(),
                    server,
                });
            }
            Ok(Some(Reply::Rcode(rcode))) => {
                log.push(format!("{server}: {rcode}"));
                last_failure = Some(DnsError::ServerFailure { server, rcode });
            }
            Ok(Some(Reply::Truncated)) => {
                log.push(format!("{server} TCP: truncated again"));
                last_failure = Some(DnsError::Network {
                    server,
                    reason: "truncated answer over TCP".into(),
                });
            }
            Ok(None) => log.push(format!("{server}: no answer in time")),
            Err(e) => {
                log.push(e.to_string());
                last_failure = Some(e);
            }
        }
    }
    if let Some(e) = last_failure {
        return Err(e);
    }
    let ignored = match ignored {
        0 => String::new(),
        n => format!(" ({n} invalid or mismatched packet(s) ignored)"),
    };
    Err(DnsError::Timeout {
        name: name.into(),
        secs: start.elapsed().as_secs_f64(),
        ignored,
    })
}

fn net_err(server: SocketAddr) -> impl Fn(std::io::Error) -> DnsError {
    move |e| DnsError::Network {
        server,
        reason: e.to_string(),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// One UDP exchange. `Ok(None)` = nothing valid before `until`.
fn udp_try(
    query: &[u8],
    id: u16,
    name: &str,
    server: SocketAddr,
    until: Instant,
    ignored: &mut u32,
) -> Result<Option<Reply>, DnsError> {
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let sock = UdpSocket::bind((local, 0)).map_err(net_err(server))?;
    // A connected socket only receives from the server, and reports ICMP unreachable.
    sock.connect(server).map_err(net_err(server))?;
    sock.send(query).map_err(net_err(server))?;
    let mut buf = [0u8; UDP_BUF];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left)).map_err(net_err(server))?;
        match sock.recv(&mut buf) {
            Ok(n) => match parse_reply(&buf[..n], id, name) {
                Ok(r) => return Ok(Some(r)),
                Err(_) => *ignored += 1,
            },
            Err(e) if is_timeout(&e) => return Ok(None),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(net_err(server)(e)),
        }
    }
}

/// One TCP exchange (RFC 1035 4.2.2: two-byte length prefix), bounded by `until`.
fn tcp_try(
    query: &[u8],
    id: u16,
    name: &str,
    server: SocketAddr,
    until: Instant,
) -> Result<Reply, DnsError> {
    let timeout = |what: &str| DnsError::Network {
        server,
        reason: format!("TCP {what} timed out"),
    };
    let left = || {
        let l = until.saturating_duration_since(Instant::now());
        if l.is_zero() { None } else { Some(l) }
    };
    let mut s = TcpStream::connect_timeout(&server, left().ok_or_else(|| timeout("connect"))?)
        .map_err(|e| {
            if is_timeout(&e) {
                timeout("connect")
            } else {
                net_err(server)(e)
            }
        })?;
    let mut msg = Vec::with_capacity(query.len() + 2);
    msg.extend_from_slice(&(query.len() as u16).to_be_bytes());
    msg.extend_from_slice(query);
    s.set_write_timeout(Some(left().ok_or_else(|| timeout("send"))?))
        .map_err(net_err(server))?;
    s.write_all(&msg).map_err(|e| {
        if is_timeout(&e) {
            timeout("send")
        } else {
            net_err(server)(e)
        }
    })?;
    let mut read = |buf: &mut [u8]| -> Result<(), DnsError> {
        let mut got = 0;
        while got < buf.len() {
            s.set_read_timeout(Some(left().ok_or_else(|| timeout("read"))?))
                .map_err(net_err(server))?;
            match s.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(DnsError::Network {
                        server,
                        reason: "TCP connection closed mid-answer".into(),
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(timeout("read")),
                Err(e) => return Err(net_err(server)(e)),
            }
        }
        Ok(())
    };
    let mut len = [0u8; 2];
    read(&mut len)?;
    let len = u16::from_be_bytes(len) as usize;
    if len > TCP_MAX {
        return Err(DnsError::Network {
            server,
            reason: format!("TCP answer of {len} bytes"),
        });
    }
    let mut buf = vec![0u8; len];
    read(&mut buf)?;
    parse_reply(&buf, id, name).map_err(|r| DnsError::Network {
        server,
        reason: format!("invalid TCP answer ({r:?})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{CNAME, TXT};
    use simple_dns::{Packet, ResourceRecord};

    const NAME: &str = "current.cvd.clamav.net";

    #[test]
    fn servers() {
        assert_eq!(
            parse_server("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_server("[::1]:54").unwrap(),
            "[::1]:54".parse().unwrap()
        );
        for bad in [
            "",
            "localhost",
            "1.2.3.4:",
            "1.2.3.4:99999",
            "1.2.3.4:x",
            "1.2.3",
        ] {
            assert!(parse_server(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_is_a_recursive_txt_question() {
        let q = build_query(0x1234, NAME).unwrap();
        let p = Packet::parse(&q).unwrap();
        assert_eq!(p.id(), 0x1234);
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
        assert!(!p.has_flags(PacketFlag::RESPONSE));
        assert_eq!(p.questions.len(), 1);
        assert_eq!(p.questions[0].qname.to_string(), NAME);
        assert_eq!(p.questions[0].qtype, QTYPE::TYPE(TYPE::TXT));
        assert!(build_query(1, "bad..name").is_err());
        assert!(build_query(1, &"a".repeat(64)).is_err(), "label too long");
        for bad in ["", ".", "a b", "a;b", "-\u{e9}", "a.b..", &"a.".repeat(130)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("current.cvd.clamav.net.") && valid_name("_x.example"));
    }

    #[test]
    fn ids_vary() {
        let ids: std::collections::HashSet<u16> = (0..64).map(|_| random_id()).collect();
        assert!(ids.len() > 32, "{} distinct ids of 64", ids.len());
    }

    /// A reply to `build_query(id, qname)` with `answers`.
    fn reply(id: u16, qname: &str, rcode: RCODE, answers: Vec<ResourceRecord<'static>>) -> Vec<u8> {
        let q = build_query(id, qname).unwrap();
        // into_reply keeps the question.
        let mut p = Packet::parse(&q).unwrap().into_reply();
        *p.rcode_mut() = rcode;
        p.answers = answers;
        p.build_bytes_vec().unwrap()
    }

    fn txt_rr(owner: &'static str, strings: &[&'static str]) -> ResourceRecord<'static> {
        let mut t = TXT::new();
        for s in strings {
            t.add_string(s).unwrap();
        }
        ResourceRecord::new(Name::new_unchecked(owner), CLASS::IN, 60, RData::TXT(t))
    }

    #[test]
    fn txt_answers() {
        let ok = reply(
            7,
            NAME,
            RCODE::NoError,
            vec![txt_rr(NAME, &["1.4.6:62:", "27472"])],
        );
        assert_eq!(
            parse_reply(&ok, 7, NAME),
            Ok(Reply::Txt(b"1.4.6:62:27472".to_vec()))
        );
        // Names compare without case, as DNS does.
        assert!(matches!(
            parse_reply(&ok, 7, "CURRENT.cvd.ClamAV.net"),
            Ok(Reply::Txt(_))
        ));
        // A CNAME chain as a recursive server sends it.
        let cname = ResourceRecord::new(
            Name::new_unchecked(NAME),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(Name::new_unchecked("alias.example"))),
        );
        let chained = reply(
            7,
            NAME,
            RCODE::NoError,
            vec![cname, txt_rr("alias.example", &["1:2:3"])],
        );
        assert_eq!(
            parse_reply(&chained, 7, NAME),
            Ok(Reply::Txt(b"1:2:3".to_vec()))
        );
        // A TXT record for another name is not the answer.
        let other = reply(
            7,
            NAME,
            RCODE::NoError,
            vec![txt_rr("other.example", &["1:2:3"])],
        );
        assert_eq!(parse_reply(&other, 7, NAME), Ok(Reply::NoTxt));
        assert_eq!(
            parse_reply(&reply(7, NAME, RCODE::NoError, vec![]), 7, NAME),
            Ok(Reply::NoTxt)
        );
    }

    #[test]
    fn error_answers() {
        let nx = reply(9, NAME, RCODE::NameError, vec![]);
        assert_eq!(parse_reply(&nx, 9, NAME), Ok(Reply::NxDomain));
        let sf = reply(9, NAME, RCODE::ServerFailure, vec![]);
        assert_eq!(
            parse_reply(&sf, 9, NAME),
            Ok(Reply::Rcode("SERVFAIL".into()))
        );
        let rf = reply(9, NAME, RCODE::Refused, vec![]);
        assert_eq!(
            parse_reply(&rf, 9, NAME),
            Ok(Reply::Rcode("REFUSED".into()))
        );
    }

    #[test]
    fn foreign_packets_are_rejected() {
        let ok = reply(7, NAME, RCODE::NoError, vec![txt_rr(NAME, &["1:2:3"])]);
        assert_eq!(parse_reply(&ok, 8, NAME), Err(Reject::WrongId));
        assert_eq!(
            parse_reply(&ok, 7, "other.example"),
            Err(Reject::WrongQuestion)
        );
        let query = build_query(7, NAME).unwrap();
        assert_eq!(parse_reply(&query, 7, NAME), Err(Reject::NotAResponse));
        assert_eq!(parse_reply(b"\x00\x07", 7, NAME), Err(Reject::Malformed));
        let mut garbage = ok.clone();
        garbage.truncate(20); // header claims records that are not there
        assert_eq!(parse_reply(&garbage, 7, NAME), Err(Reject::Malformed));
        let mut junk = vec![0u8, 7, 0x80, 0, 0xff, 0xff];
        junk.extend_from_slice(&[0xab; 40]);
        assert_eq!(parse_reply(&junk, 7, NAME), Err(Reject::Malformed));
    }

    /// Hostile or broken nameservers: every truncation of a real answer, and many random
    /// mutations and random packets, must be rejected or parsed, never panic (`heal` and
    /// `status` run this code as root).
    #[test]
    fn hostile_packets_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let cname = ResourceRecord::new(
            Name::new_unchecked(NAME),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(Name::new_unchecked("alias.example"))),
        );
        let good = reply(
            7,
            NAME,
            RCODE::NoError,
            vec![cname, txt_rr("alias.example", &["1.4.6:62:", "27472"])],
        );
        for n in 0..=good.len() {
            let _ = parse_reply(&good[..n], 7, NAME);
        }
        for _ in 0..20_000 {
            let mut p = good.clone();
            for _ in 0..1 + rnd() % 6 {
                let i = (rnd() as usize) % p.len();
                p[i] = rnd() as u8;
            }
            p.truncate(HEADER_LEN + (rnd() as usize) % (p.len() - HEADER_LEN + 1));
            // Keep the id and response bit often enough to reach the full parse.
            p[0] = 0;
            p[1] = 7;
            p[2] |= 0x80;
            p[2] &= !((PacketFlag::TRUNCATION.bits() >> 8) as u8);
            if let Ok(Reply::Txt(t)) = parse_reply(&p, 7, NAME) {
                let _ = parse_txt(&t);
            }
            let len = (rnd() as usize) % 600;
            let junk: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            let _ = parse_reply(
                &junk,
                u16::from_be_bytes([
                    junk.first().copied().unwrap_or(0),
                    junk.get(1).copied().unwrap_or(0),
                ]),
                NAME,
            );
            let _ = parse_txt(&junk);
        }
    }

    #[test]
    fn truncation_is_seen_on_the_raw_header() {
        let mut tc = reply(7, NAME, RCODE::NoError, vec![txt_rr(NAME, &["1:2:3"])]);
        tc[2] |= (PacketFlag::TRUNCATION.bits() >> 8) as u8;
        tc.truncate(HEADER_LEN + 3); // a cut-off body must not matter
        assert_eq!(parse_reply(&tc, 7, NAME), Ok(Reply::Truncated));
        assert_eq!(parse_reply(&tc, 6, NAME), Err(Reject::WrongId));
    }

    #[test]
    fn no_servers_or_bad_name_fail_before_the_network() {
        let later = Instant::now() + std::time::Duration::from_secs(1);
        let mut log = Vec::new();
        assert_eq!(
            query_txt(NAME, &[], 2, later, &mut log),
            Err(DnsError::NoServers)
        );
        let s = ["127.0.0.1:9".parse().unwrap()];
        assert!(matches!(
            query_txt("a..b", &s, 2, later, &mut log),
            Err(DnsError::InvalidName(_))
        ));
        assert!(log.is_empty());
    }
}
