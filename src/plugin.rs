//! The freshness check: local daily version vs the published one. (Being written.)
//!
//! Contract used by the handler (`heal`, `status`): `CheckOptions`, `CheckReport`, `run`.

use crate::cvd::LocalDb;
use crate::nagios::ServiceState;
use crate::range::Range;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the check needs; the binary builds it from its arguments.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// freshclam.conf to read DatabaseDirectory and DNSDatabaseInfo from.
    pub freshclam_conf: PathBuf,
    /// `-d`: database directory, overriding freshclam.conf.
    pub database_dir: Option<PathBuf>,
    /// `-H`: TXT record name, overriding freshclam.conf's DNSDatabaseInfo.
    pub dns_name: Option<String>,
    /// `-s`: nameserver, overriding resolv.conf.
    pub server: Option<SocketAddr>,
    /// resolv.conf to read nameservers from when `server` is None.
    pub resolv_conf: PathBuf,
    /// `-t`: bound on the whole run.
    pub timeout: Duration,
    pub warning: Range,
    pub critical: Range,
    /// `--max-age`: local build older than this is CRITICAL when DNS cannot answer.
    pub max_age: Duration,
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub state: ServiceState,
    /// Human text after `CLAMAV <STATE> - `.
    pub text: String,
    /// Everything after `| `.
    pub perfdata: String,
    /// `-v` lines.
    pub details: Vec<String>,
    pub local: Option<LocalDb>,
    pub published: Option<u32>,
    /// published - local, floored at 0.
    pub lag: Option<u32>,
    pub cooldown_until: Option<i64>,
}

impl CheckReport {
    /// `CLAMAV <STATE> - <text> | <perfdata>`
    pub fn status_line(&self) -> String {
        todo!()
    }
}

/// Runs the check at `now` (epoch seconds). Never panics on bad input; never OK without both
/// versions in hand.
pub fn run(_opts: &CheckOptions, _now: i64) -> CheckReport {
    todo!()
}
