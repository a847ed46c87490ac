//! `check_clamav_freshness`: the unprivileged plugin. [`main`] is its whole program.

pub(crate) mod clamd_view;
pub(crate) mod cli;
pub(crate) mod engine;
pub(crate) mod header_cache;
pub(crate) mod integrity;
pub(crate) mod plausible;
pub(crate) mod plugin;
pub(crate) mod source;
pub(crate) mod verified_cache;

use crate::dns::{parse_server, valid_name};
use crate::mirror::url::{MirrorUrl, Scheme};
use crate::nagios::ServiceState;
use crate::nagios::range::Range;
use anyhow::{Context, Result};
use clamd_view::ClamdOptions;
use clap::Parser;
use cli::Cli;
use plugin::CheckOptions;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USAGE: &str = "Usage: check_clamav_freshness [-f CONF] [-d DIR] [-H NAME] \
[-m URL] [--compare-dns] [--ca-file FILE] [-s SERVER[:PORT]] [-t SECS] [-w RANGE] [-c RANGE] [--max-age HOURS] [--cache-dir DIR] \
[-C SOCKET] [--clamd-conf FILE] [--clamd-grace SECS] [--no-clamd] [-v] [-V] [-h]";

fn options(cli: &Cli) -> Result<CheckOptions> {
    if let Some(n) = cli.dns_name.as_deref().filter(|n| !valid_name(n)) {
        anyhow::bail!("invalid DNS name {n:?} for -H");
    }
    let range = |s: &str, what: &str| -> Result<Range> {
        s.parse::<Range>()
            .with_context(|| format!("{what} threshold"))
    };
    Ok(CheckOptions {
        freshclam_conf: cli.config.clone(),
        database_dir: cli.database_dir.clone(),
        dns_name: cli.dns_name.clone(),
        server: cli
            .server
            .as_deref()
            .map(parse_server)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        timeout: Duration::from_secs(cli.timeout),
        warning: range(&cli.warning, "warning")?,
        critical: range(&cli.critical, "critical")?,
        max_age: Duration::from_secs(cli.max_age * 3600),
        mirror: cli
            .mirror
            .as_deref()
            .map(|m| MirrorUrl::parse(m, Scheme::Http))
            .transpose()
            .context("-m")?,
        compare_dns: cli.compare_dns,
        ca_file: cli.ca_file.clone(),
        last_repair: Some(cli.last_repair.clone()),
        clamd: if cli.no_clamd {
            ClamdOptions::Off
        } else {
            ClamdOptions::On {
                conf: cli.clamd_conf.clone(),
                socket: cli
                    .clamd
                    .as_deref()
                    .map(clamd_view::parse_socket)
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                grace: cli.clamd_grace,
            }
        },
        ..CheckOptions::default()
    })
}

/// Bad arguments are UNKNOWN for Nagios, with a short usage so the admin sees why.
fn usage_error(reason: &str) -> ExitCode {
    let reason = crate::text::plugin_text(&crate::text::clap_reason(reason, "bad arguments"));
    println!("CLAMAV UNKNOWN - {reason}\n{USAGE}");
    ExitCode::from(ServiceState::Unknown.exit_code() as u8)
}

/// The whole plugin: parse, check, print one status line (and details with `-v`), exit with
/// the Nagios code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(&e.render().to_string()),
    };
    let opts = match options(&cli) {
        Ok(o) => o,
        Err(e) => return usage_error(&format!("{e:#}")),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let report = plugin::run_with_cache(&opts, Some(&cli.cache_dir), now);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(report.output(cli.verbose > 0).as_bytes());
    let _ = out.flush();
    ExitCode::from(report.state.exit_code() as u8)
}
