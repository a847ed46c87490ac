// Command line of `check_clamav_freshness`. Depends only on clap and std: build.rs
// `include!`s this file to generate the man page.

/// Command line of the freshness check; ranges and servers are validated by the binary.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "check_clamav_freshness",
    version,
    about = "Nagios check: are the local ClamAV signatures as new as the published ones?",
    long_about = "Nagios/Monitoring Plugins check of ClamAV signature freshness.\n\n\
Reads the version of the local daily database from the 512-byte header of daily.cvd and \
daily.cld (the higher one wins) in freshclam's DatabaseDirectory, and the published version \
from field 2 of the DNS TXT record current.cvd.clamav.net (freshclam's DNSDatabaseInfo), asked \
directly of the nameservers in /etc/resolv.conf (UDP, TCP when truncated). The lag is \
published minus local, never below 0. No subprocess, no root needed: the check only reads.\n\n\
Output: one line `CLAMAV <STATE> - <text> | <perfdata>`, perfdata daily, published, \
lag;warn;crit;0; and age (seconds since the local database was built); exit 0 OK, 1 WARNING, \
2 CRITICAL, 3 UNKNOWN.\n\n\
It never says OK when it cannot know: a missing, unreadable or corrupt local database is \
CRITICAL (the filter is unprotected). Corrupt includes a file too small for the signature \
count in its header (below 1 byte per 16 signatures after the 512-byte header, or nothing \
after it), a daily.cvd whose content does not match the MD5 in its header, and a daily.cld \
whose tar structure is broken or truncated. A local version more than 8 revisions ahead of \
the published one, or ahead of it but built over 48 hours ago (or in the future), is \
CRITICAL as implausible. The MD5 of a daily.cvd is computed only when the file changed \
(device, inode, size, mtime, ctime), remembered in --cache-dir. A DNS failure, timeout, \
NXDOMAIN, SERVFAIL, missing or unparsable TXT record is UNKNOWN, or CRITICAL when the local \
database was built more than --max-age hours ago. Bad arguments are UNKNOWN. An active \
freshclam CDN cool-down (freshclam.dat) is mentioned in the text; one more than 48 hours \
ahead is named bogus and ignored.\n\n\
Thresholds use the Monitoring Plugins range syntax on the lag: N alerts outside 0..N, N: \
below N, ~:N above N, M:N outside M..N, @M:N inside M..N. The defaults (-w 0 -c 1) behave \
like check_clamav: WARNING one revision behind, CRITICAL two or more."
)]
pub(crate) struct Cli {
    /// freshclam.conf to read DatabaseDirectory and DNSDatabaseInfo from.
    #[arg(
        short = 'f',
        long = "config",
        value_name = "CONF",
        default_value = crate::defaults::FRESHCLAM_CONF
    )]
    pub(crate) config: std::path::PathBuf,

    /// Database directory holding daily.cvd/daily.cld; overrides DatabaseDirectory.
    #[arg(short = 'd', long = "database-dir", value_name = "DIR")]
    pub(crate) database_dir: Option<std::path::PathBuf>,

    /// TXT record with the published versions; overrides DNSDatabaseInfo
    /// (default current.cvd.clamav.net).
    #[arg(short = 'H', long = "dns-name", value_name = "NAME")]
    pub(crate) dns_name: Option<String>,

    /// Nameserver to ask (IP address, optional :PORT) instead of those in /etc/resolv.conf.
    #[arg(short = 's', long = "server", value_name = "SERVER[:PORT]")]
    pub(crate) server: Option<String>,

    /// Seconds the whole check may take, DNS retries included.
    #[arg(short = 't', long = "timeout", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,

    /// Warning range for the lag in revisions (Monitoring Plugins syntax).
    #[arg(
        short = 'w',
        long = "warning",
        value_name = "RANGE",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub(crate) warning: String,

    /// Critical range for the lag in revisions (Monitoring Plugins syntax).
    #[arg(
        short = 'c',
        long = "critical",
        value_name = "RANGE",
        default_value = "1",
        allow_hyphen_values = true
    )]
    pub(crate) critical: String,

    /// When DNS cannot tell the published version, a local database built more than HOURS
    /// ago is CRITICAL ("stale whatever DNS says") instead of UNKNOWN.
    #[arg(long = "max-age", value_name = "HOURS", default_value_t = 48,
          value_parser = clap::value_parser!(u64).range(1..=87600))]
    pub(crate) max_age: u64,

    /// Directory where the check remembers the daily.cvd files whose MD5 it verified, so
    /// that an unchanged file is not read again. Used only when owned by the user running
    /// the check and not writable by others; otherwise every run verifies.
    #[arg(
        long = "cache-dir",
        value_name = "DIR",
        default_value = "/var/cache/clamav-freshen"
    )]
    pub(crate) cache_dir: std::path::PathBuf,

    /// The handler's last-repair record: when the check is not OK and the last repair
    /// failed, its cause ends the status text.
    #[arg(
        long = "last-repair",
        value_name = "FILE",
        default_value = "/var/lib/clamav-freshen/last-repair"
    )]
    pub(crate) last_repair: std::path::PathBuf,

    /// Print details after the status line: files read, nameservers asked, TXT text.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn cache_dir_default_is_the_one_postinst_creates() {
        use clap::Parser;
        let cli = super::Cli::parse_from(["check_clamav_freshness"]);
        assert_eq!(
            cli.cache_dir,
            std::path::Path::new("/var/cache/clamav-freshen")
        );
        let postinst = include_str!("../../debian/postinst");
        assert!(postinst.contains(" /var/cache/clamav-freshen"), "postinst");
    }
}
