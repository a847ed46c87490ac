//! An in-process HTTP(S) mirror on 127.0.0.1 (random port) for the mirror tests: each mode
//! is one way a real web server, CDN or proxy behaves; every request head is recorded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Mode {
    /// Serves `files` by their last path segment; Range honoured (206) when `range`, else
    /// the whole file (200); a missing file is 404.
    Files {
        files: HashMap<String, Vec<u8>>,
        range: bool,
    },
    /// The same, chunked (200, no Content-Length).
    Chunked(HashMap<String, Vec<u8>>),
    /// This status for everything, no body.
    Status(u16),
    /// 302 to this Location for everything whose path is not `target` (then `Files`).
    Redirect {
        location: String,
        target: String,
        files: HashMap<String, Vec<u8>>,
    },
    /// Reads the request, never answers.
    Hang,
    /// These bytes, then close.
    Raw(Vec<u8>),
}

pub struct HttpServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

pub fn files(list: &[(&str, Vec<u8>)]) -> HashMap<String, Vec<u8>> {
    list.iter()
        .map(|(n, b)| (n.to_string(), b.clone()))
        .collect()
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, made for this test.
pub struct TestCa {
    pub ca_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "clamav-freshen test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, &ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            config: Arc::new(config),
        }
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let p = dir.join("test-ca.pem");
        std::fs::write(&p, &self.ca_pem).unwrap();
        p
    }
}

impl HttpServer {
    pub fn start(mode: Mode) -> HttpServer {
        Self::start_tls(mode, None)
    }

    pub fn start_tls(mode: Mode, tls: Option<&TestCa>) -> HttpServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        let tls = tls.map(|t| t.config.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(c) = conn else { continue };
                let (mode, s, tls) = (mode.clone(), s.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
                    match tls {
                        Some(cfg) => {
                            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            let mut t = rustls::StreamOwned::new(conn, c);
                            serve(&mut t, &mode, &s);
                        }
                        None => {
                            let mut c = c;
                            serve(&mut c, &mode, &s);
                        }
                    }
                });
            }
        });
        HttpServer { port, seen, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request head received, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve<S: Read + Write>(c: &mut S, mode: &Mode, seen: &Mutex<Vec<String>>) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match c.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    // A request with a body (the handler's POST): recorded whole.
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |i| i + 4);
    let want = String::from_utf8_lossy(&buf[..end])
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < end + want.min(65536) {
        match c.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    seen.lock().unwrap().push(head.clone());
    let target = head.split(' ').nth(1).unwrap_or("/").to_string();
    let name = target.rsplit('/').next().unwrap_or("").to_string();
    let range = head.to_ascii_lowercase().contains("\r\nrange: bytes=0-511");
    let reply = match mode {
        Mode::Files {
            files,
            range: honour,
        } => file_reply(files, &name, range && *honour),
        Mode::Chunked(files) => match files.get(&name) {
            None => status(404),
            Some(f) => {
                let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for part in f.chunks(100) {
                    r.extend(format!("{:x}\r\n", part.len()).bytes());
                    r.extend_from_slice(part);
                    r.extend_from_slice(b"\r\n");
                }
                r.extend_from_slice(b"0\r\n\r\n");
                r
            }
        },
        Mode::Status(code) => status(*code),
        Mode::Redirect {
            location,
            target: t,
            files,
        } => {
            if target.starts_with(t.as_str()) {
                file_reply(files, &name, range)
            } else {
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                    .into_bytes()
            }
        }
        Mode::Hang => {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        Mode::Raw(bytes) => bytes.clone(),
    };
    let _ = c.write_all(&reply);
    let _ = c.flush();
}

fn status(code: u16) -> Vec<u8> {
    format!("HTTP/1.1 {code} Status {code}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

fn file_reply(files: &HashMap<String, Vec<u8>>, name: &str, range: bool) -> Vec<u8> {
    let Some(f) = files.get(name) else {
        return status(404);
    };
    if range && f.len() < 512 {
        return status(416);
    }
    let (code, body, extra) = if range {
        (
            "206 Partial Content",
            &f[..512],
            format!("Content-Range: bytes 0-511/{}\r\n", f.len()),
        )
    } else {
        ("200 OK", &f[..], String::new())
    };
    let mut r = format!(
        "HTTP/1.1 {code}\r\nContent-Length: {}\r\n{extra}Accept-Ranges: bytes\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}
