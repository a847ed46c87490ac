//! TLS for an `https://` mirror: rustls with the ring provider, trusting the system's
//! certificate bundle (Debian's ca-certificates) or `--ca-file`. Built only when an https
//! mirror is asked, once per run.

use std::cell::OnceCell;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

/// Debian's bundle of the trusted CAs (ca-certificates).
pub(crate) const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Largest CA bundle read (Debian's is about 200 KiB).
const MAX_CA_FILE: u64 = 8 << 20;

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("cannot read the CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("no usable CA certificate in {0}")]
    NoCa(PathBuf),
    #[error("TLS: {0}")]
    Config(String),
    #[error("TLS: {0}")]
    Handshake(String),
}

/// The trust for https mirrors: which CA file, and the configuration once built.
pub(crate) struct Tls {
    ca_file: PathBuf,
    config: OnceCell<Result<Arc<rustls::ClientConfig>, TlsError>>,
}

impl Tls {
    pub(crate) fn new(ca_file: PathBuf) -> Tls {
        Tls {
            ca_file,
            config: OnceCell::new(),
        }
    }

    fn config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        self.config.get_or_init(|| build(&self.ca_file)).clone()
    }

    /// Starts TLS on `tcp` for `host` (a name, or an IP literal checked against the
    /// certificate's IP addresses). The handshake happens on the first read or write.
    pub(crate) fn wrap(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, TlsError> {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| TlsError::Config(format!("server name {host:?}: {e}")))?;
        let conn = rustls::ClientConnection::new(self.config()?, name)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(rustls::StreamOwned::new(conn, tcp))
    }
}

fn build(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    use crate::system::secure_open::{self, Rules};
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = secure_open::read(ca_file, &Rules::foreign_file(), MAX_CA_FILE).map_err(|e| {
        TlsError::CaFile {
            path: ca_file.to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::NoCa(ca_file.to_path_buf()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
