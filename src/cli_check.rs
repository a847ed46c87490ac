//! Command line of `check_clamav_freshness` (clap derive only).
//!
//! TEMPORARY placeholder written by the packaging branch so `build.rs` can render the man
//! page; the check branch's version of this file replaces it at merge. It may depend on clap
//! and std only, because `build.rs` compiles it too.

use clap::Parser;

/// Nagios plugin: are the local ClamAV signatures as fresh as the ones ClamAV publishes?
#[derive(Debug, Parser)]
#[command(name = "check_clamav_freshness", version)]
pub struct Cli {
    /// freshclam configuration file
    #[arg(short = 'f', long, value_name = "CONF")]
    pub config: Option<String>,
    /// ClamAV database directory
    #[arg(short = 'd', long, value_name = "DIR")]
    pub dir: Option<String>,
    /// DNS name of the version TXT record
    #[arg(short = 'H', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// DNS server to ask
    #[arg(short = 's', long, value_name = "SERVER[:PORT]")]
    pub server: Option<String>,
    /// Timeout in seconds
    #[arg(short = 't', long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Warning range (versions behind)
    #[arg(short = 'w', long, value_name = "RANGE")]
    pub warning: Option<String>,
    /// Critical range (versions behind)
    #[arg(short = 'c', long, value_name = "RANGE")]
    pub critical: Option<String>,
    /// Maximum age of the daily database in hours
    #[arg(long, value_name = "HOURS")]
    pub max_age: Option<u64>,
    /// Verbose output
    #[arg(short = 'v', long)]
    pub verbose: bool,
}
