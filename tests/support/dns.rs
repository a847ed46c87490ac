//! An in-process DNS responder on 127.0.0.1 (random port, UDP and TCP on the same port) for
//! tests of anything that asks DNS for a TXT record. Each mode is one way a real nameserver
//! or network behaves; the server records every question it received.

use simple_dns::rdata::{RData, TXT};
use simple_dns::{CLASS, CharacterString, Packet, PacketFlag, RCODE, ResourceRecord};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the responder answers every question.
#[derive(Debug, Clone)]
pub enum Mode {
    /// A TXT record with these bytes (split into 255-byte character-strings).
    Txt(Vec<u8>),
    NxDomain,
    ServFail,
    /// NOERROR without records (NODATA).
    NoData,
    /// Never answers.
    Silent,
    /// UDP: an empty answer with the TC bit; TCP: the full TXT answer.
    Truncated(Vec<u8>),
    /// UDP: bytes that are not a DNS message (but carry the query id).
    Garbage,
    /// UDP: a valid TXT answer with the wrong query id.
    WrongId(Vec<u8>),
}

impl Mode {
    pub fn txt(s: &str) -> Mode {
        Mode::Txt(s.as_bytes().to_vec())
    }
}

pub struct DnsServer {
    pub addr: SocketAddr,
    /// `udp NAME` / `tcp NAME` per question received.
    pub seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl DnsServer {
    pub fn start(mode: Mode) -> DnsServer {
        // Find a port free for both UDP and TCP.
        let (udp, tcp) = (0..50)
            .find_map(|_| {
                let u = UdpSocket::bind("127.0.0.1:0").ok()?;
                let t = TcpListener::bind(u.local_addr().ok()?).ok()?;
                Some((u, t))
            })
            .expect("no free port for the test DNS server");
        let addr = udp.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        udp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        tcp.set_nonblocking(true).unwrap();
        let (m, s, st) = (mode.clone(), seen.clone(), stop.clone());
        let u = std::thread::spawn(move || serve_udp(udp, m, s, st));
        let (m, s, st) = (mode, seen.clone(), stop.clone());
        let t = std::thread::spawn(move || serve_tcp(tcp, m, s, st));
        DnsServer {
            addr,
            seen,
            stop,
            threads: vec![u, t],
        }
    }

    /// `-s` argument for this server.
    pub fn arg(&self) -> String {
        self.addr.to_string()
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The answer to `query` in `mode`; None = stay silent.
fn answer(query: &[u8], mode: &Mode, tcp: bool) -> Option<Vec<u8>> {
    let q = Packet::parse(query).ok()?;
    let qname = q.questions.first()?.qname.clone();
    let mut r = q.clone().into_reply();
    r.set_flags(PacketFlag::RECURSION_AVAILABLE);
    let txt = |bytes: &[u8], r: &mut Packet| {
        let mut t = TXT::new();
        for chunk in bytes.chunks(255) {
            t.add_char_string(CharacterString::new(chunk).unwrap().into_owned());
        }
        r.answers
            .push(ResourceRecord::new(qname.clone(), CLASS::IN, 300, RData::TXT(t)).into_owned());
    };
    match mode {
        Mode::Silent => return None,
        Mode::Txt(b) => txt(b, &mut r),
        Mode::Truncated(b) if tcp => txt(b, &mut r),
        Mode::Truncated(_) => r.set_flags(PacketFlag::TRUNCATION),
        Mode::NxDomain => *r.rcode_mut() = RCODE::NameError,
        Mode::ServFail => *r.rcode_mut() = RCODE::ServerFailure,
        Mode::NoData => {}
        Mode::Garbage => {
            let mut g = query[..2].to_vec();
            g.extend_from_slice(&[0x81, 0x80, 0xff, 0xff, 0x13, 0x37]);
            g.extend_from_slice(b"this is not DNS at all");
            return Some(g);
        }
        Mode::WrongId(b) => {
            txt(b, &mut r);
            r.set_id(q.id() ^ 0x5a5a);
        }
    }
    r.build_bytes_vec().ok()
}

fn question(query: &[u8]) -> String {
    Packet::parse(query)
        .ok()
        .and_then(|p| p.questions.first().map(|q| q.qname.to_string()))
        .unwrap_or_else(|| "?".into())
}

fn serve_udp(sock: UdpSocket, mode: Mode, seen: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        seen.lock()
            .unwrap()
            .push(format!("udp {}", question(&buf[..n])));
        if let Some(a) = answer(&buf[..n], &mode, false) {
            let _ = sock.send_to(&a, peer);
        }
    }
}

fn serve_tcp(l: TcpListener, mode: Mode, seen: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((s, _)) => {
                let _ = tcp_one(s, &mode, &seen);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn tcp_one(mut s: TcpStream, mode: &Mode, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut q)?;
    seen.lock().unwrap().push(format!("tcp {}", question(&q)));
    if let Some(a) = answer(&q, mode, true) {
        s.write_all(&(a.len() as u16).to_be_bytes())?;
        s.write_all(&a)?;
    }
    Ok(())
}
