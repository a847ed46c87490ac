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
Sites with their own mirror get the published version from it, as freshclam does: with \
PrivateMirror in freshclam.conf (the mirrors in order, daily.cld then daily.cvd), with \
DNSDatabaseInfo no (DatabaseMirror, ClamAV's CDN by default), or with -m URL, the check \
asks the mirror for the first 512 bytes of the daily database (HTTP Range bytes=0-511; a \
mirror that ignores Range is read no further), over http or https (the system's CAs, or \
--ca-file), through freshclam.conf's HTTPProxyServer/HTTPProxyPort when set, within the \
same -t. The text names it: `published by mirror URL: daily N`. ClamAV's CDN \
(*.clamav.net) is asked at most once an hour (its answer is kept in --cache-dir). A TXT \
record older than freshclam's 12-hour limit is replaced by freshclam.conf's DatabaseMirror \
header when it names one. With --compare-dns the mirror is compared with DNS: a filter as \
current as a mirror that lags DNS is WARNING (`the mirror lags the published daily by N`, \
perfdata mirror_lag; CRITICAL past --max-age), and the handler does not repair it.\n\n\
Output: one line `CLAMAV <STATE> - <text> | <perfdata>`, perfdata daily, published, \
lag;warn;crit;0; and age (seconds since the local database was built), and clamd_daily when \
clamd is asked; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\n\
It never says OK when it cannot know: a missing, unreadable or corrupt local database is \
CRITICAL (the filter is unprotected). Corrupt includes a file too small for the signature \
count in its header (below 1 byte per 16 signatures after the 512-byte header, or nothing \
after it), a daily.cvd whose content does not match the MD5 in its header, and a daily.cld \
whose tar structure is broken or truncated. A local version more than 8 revisions ahead of \
the published one, or ahead of it but built over 48 hours ago (or in the future), is \
CRITICAL as implausible. The MD5 of a daily.cvd is computed only when the file changed \
(device, inode, size, mtime, ctime), remembered in --cache-dir. A DNS failure, timeout, \
NXDOMAIN, SERVFAIL, missing or unparsable TXT record, or one whose record time (field 3) is \
over 12 hours old (freshclam's own limit: it then ignores the record) is UNKNOWN, or CRITICAL when the local \
database was built more than --max-age hours ago. Bad arguments are UNKNOWN. An active \
freshclam CDN cool-down (freshclam.dat) is mentioned in the text; one more than 48 hours \
ahead is named bogus and ignored.\n\n\
A mail filter is protected by the signatures clamd has loaded, not by the files. When \
/etc/clamav/clamd.conf exists (--clamd-conf names another), the check asks clamd VERSION on \
its LocalSocket, else on TCPSocket at TCPAddr (-C names the socket instead, --no-clamd skips \
clamd; without clamd.conf and -C nothing is said about clamd), beside the DNS lookup and \
within the same -t. A Unix socket must be served by clamd.conf's User (clamav if unset): \
another peer, or an unknown User, gets nothing. The text adds `clamd loaded N`, the perfdata \
clamd_daily=N. clamd with an older daily than the files, or none, is OK while the newest \
daily file's mtime is at most the grace ago (\"reload pending\"), WARNING after the grace \
and CRITICAL after twice the grace (\"not reloaded\"), however many revisions behind: one \
missed reload is the fault. The grace is clamd.conf's SelfCheck (600 s if unset) plus 300 \
s, or --clamd-grace. clamd configured but not answering, closing without a reply, answering \
something else than a version, or served by another user is CRITICAL (mail is not \
scanned; a clamd.conf left behind by a removed clamav-daemon says so too: purge it, or \
--no-clamd); an unreadable clamd.conf, or one naming no socket, UNKNOWN. The state is the worst \
of the files' and clamd's (CRITICAL, WARNING, UNKNOWN, OK) and the worse part leads the \
text; without DNS, clamd is still reported.\n\n\
The engine, as clamd's VERSION names it, is CRITICAL when ClamAV's functionality-level \
chart puts its level certainly below the one the signatures need (field 5 of the TXT \
record, or the f-level in the local daily's header): libclamav then loads them with a \
warning and skips every signature it cannot run, and ClamAV raises that level only to leave \
old engines behind. An engine merely older than the newest release (field 0) is a note, \
\"ClamAV X is outdated, Y recommended\", as freshclam's OUTDATED warning is a warning; field \
4 set to 0 silences both. Releases past their end of life are refused by ClamAV's CDN, which \
shows as freshclam's cool-down above. Without clamd's answer the engine is not judged: the \
check runs no ClamAV program.\n\n\
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

    /// Mirror whose daily header is the published version (http:// or https://, as
    /// freshclam's PrivateMirror), instead of what freshclam.conf says.
    #[arg(
        short = 'm',
        long = "mirror",
        value_name = "URL",
        conflicts_with = "dns_name"
    )]
    pub(crate) mirror: Option<String>,

    /// With a mirror as the source (-m, PrivateMirror, DNSDatabaseInfo no), also ask DNS
    /// and say when the mirror lags it (WARNING: repair the mirror, not the filter).
    #[arg(long = "compare-dns")]
    pub(crate) compare_dns: bool,

    /// CA certificates (PEM) an https mirror must chain to.
    #[arg(
        long = "ca-file",
        value_name = "FILE",
        default_value = "/etc/ssl/certs/ca-certificates.crt"
    )]
    pub(crate) ca_file: std::path::PathBuf,

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

    /// clamd to ask what it has loaded: an absolute Unix socket path, or IP[:PORT] (port
    /// 3310 when none), instead of clamd.conf's LocalSocket or TCPSocket/TCPAddr.
    #[arg(short = 'C', long = "clamd", value_name = "SOCKET")]
    pub(crate) clamd: Option<String>,

    /// clamd.conf to read LocalSocket, TCPSocket/TCPAddr, User and SelfCheck from. When it
    /// does not exist (no clamav-daemon), clamd is not checked unless -C names it.
    #[arg(
        long = "clamd-conf",
        value_name = "FILE",
        default_value = crate::defaults::CLAMD_CONF
    )]
    pub(crate) clamd_conf: std::path::PathBuf,

    /// Seconds clamd may keep an older daily loaded after a newer file appeared: WARNING
    /// after them, CRITICAL after twice as long. Default: clamd.conf's SelfCheck (600 if
    /// unset) plus 300.
    #[arg(long = "clamd-grace", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=604800))]
    pub(crate) clamd_grace: Option<u64>,

    /// Do not ask clamd, whatever clamd.conf says.
    #[arg(long = "no-clamd", conflicts_with_all = ["clamd", "clamd_conf", "clamd_grace"])]
    pub(crate) no_clamd: bool,

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
