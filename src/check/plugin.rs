//! The freshness check: local daily version vs the published one.
//!
//! Contract used by the handler (`heal`, `status`): `CheckOptions`, `CheckReport`, `run`.
//! The rule it never breaks: no OK without both versions in hand, and without a local
//! database a scanner could load (`integrity`) whose version is believable (`plausible`).

use super::clamd_view::{self, ClamdOptions, OnDisk, Seen};
use super::engine;
use super::header_cache;
use super::integrity::{self, IntegrityError};
use super::plausible;
use super::source::{self, Source, SourceError};
use super::verified_cache::{self, VerifiedCache};
use crate::clamav::cvd::{self, DbFormat, LocalDb};
use crate::clamav::freshclam_conf::{self, FreshclamConf};
use crate::clamav::freshclam_dat::{Cooldown, FreshclamDat};
use crate::dns::{self, DnsInfo};
use crate::mirror::tls::Tls;
use crate::mirror::url::MirrorUrl;
use crate::mirror::{self, MirrorError, Mirrors};
use crate::nagios::ServiceState;
use crate::nagios::range::Range;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Where the system's nameservers are listed.
pub(crate) const RESOLV_CONF: &str = crate::defaults::RESOLV_CONF;
/// `-t` default, seconds.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// `--max-age` default, hours: ClamAV publishes daily several times a day.
pub(crate) const DEFAULT_MAX_AGE_HOURS: u64 = 48;
/// Passes over the nameserver list (glibc's `attempts` default).
const DNS_ROUNDS: u32 = 2;

/// Everything the check needs; the binary builds it from its arguments.
#[derive(Debug, Clone)]
pub(crate) struct CheckOptions {
    /// freshclam.conf to read DatabaseDirectory and DNSDatabaseInfo from.
    pub(crate) freshclam_conf: PathBuf,
    /// `-d`: database directory, overriding freshclam.conf.
    pub(crate) database_dir: Option<PathBuf>,
    /// `-H`: TXT record name, overriding freshclam.conf's DNSDatabaseInfo.
    pub(crate) dns_name: Option<String>,
    /// `-s`: nameserver, overriding resolv.conf.
    pub(crate) server: Option<SocketAddr>,
    /// resolv.conf to read nameservers from when `server` is None.
    pub(crate) resolv_conf: PathBuf,
    /// `-t`: bound on the whole run.
    pub(crate) timeout: Duration,
    pub(crate) warning: Range,
    pub(crate) critical: Range,
    /// `--max-age`: local build older than this is CRITICAL when DNS cannot answer.
    pub(crate) max_age: Duration,
    /// `-m`: the mirror whose daily header is the published version.
    pub(crate) mirror: Option<MirrorUrl>,
    /// `--compare-dns`: with a mirror as the source, also ask DNS, and name a mirror that
    /// lags it.
    pub(crate) compare_dns: bool,
    /// `--ca-file`: the CAs an https mirror's certificate must chain to.
    pub(crate) ca_file: PathBuf,
    /// The handler's last-repair record: when the check is not OK and the last repair did
    /// not succeed, its outcome (the cause) ends the text.
    pub(crate) last_repair: Option<PathBuf>,
    /// Whether and how to ask clamd what it has loaded (`-C`, `--clamd-conf`, `--no-clamd`,
    /// `--clamd-grace`).
    pub(crate) clamd: ClamdOptions,
}

impl Default for CheckOptions {
    /// The defaults of `check_clamav_freshness` without arguments.
    fn default() -> Self {
        CheckOptions {
            freshclam_conf: freshclam_conf::DEFAULT_PATH.into(),
            database_dir: None,
            dns_name: None,
            server: None,
            resolv_conf: RESOLV_CONF.into(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            warning: Range::upto(0.0),
            critical: Range::upto(1.0),
            max_age: Duration::from_secs(DEFAULT_MAX_AGE_HOURS * 3600),
            mirror: None,
            compare_dns: false,
            ca_file: crate::mirror::tls::SYSTEM_CA_FILE.into(),
            last_repair: Some(crate::defaults::LAST_REPAIR.into()),
            clamd: ClamdOptions::default(),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub(crate) struct CheckReport {
    pub(crate) state: ServiceState,
    /// Human text after `CLAMAV <STATE> - `.
    pub(crate) text: String,
    /// Everything after `| `.
    pub(crate) perfdata: String,
    /// `-v` lines.
    pub(crate) details: Vec<String>,
    pub(crate) local: Option<LocalDb>,
    pub(crate) published: Option<u32>,
    /// published - local, floored at 0.
    pub(crate) lag: Option<u32>,
    /// freshclam.dat's cool-down; a bogus one is named in the text and not obeyed.
    pub(crate) cooldown: Cooldown,
    /// The database is as new as its mirror, and the mirror lags ClamAV's DNS by this
    /// many revisions: nothing on this filter can be repaired.
    pub(crate) mirror_lag: Option<u32>,
}

impl CheckReport {
    /// `CLAMAV <STATE> - <text> | <perfdata>`
    pub(crate) fn status_line(&self) -> String {
        let mut s = format!("CLAMAV {} - {}", self.state, clean(&self.text));
        if !self.perfdata.is_empty() {
            s.push_str(" | ");
            s.push_str(&self.perfdata);
        }
        s
    }

    /// The status line, then the `-v` details, one per line (Nagios long output).
    pub(crate) fn output(&self, verbose: bool) -> String {
        let mut s = self.status_line();
        s.push('\n');
        if verbose {
            for d in &self.details {
                s.push_str(&clean(d));
                s.push('\n');
            }
        }
        s
    }
}

/// Keeps text from breaking the plugin output format: `|` starts perfdata and a newline
/// starts long output, and a TXT record or a path may carry either.
fn clean(s: &str) -> String {
    crate::text::plugin_text(s)
}

/// `2026-11-25 19:00 UTC`.
pub(crate) fn format_utc(epoch: i64) -> String {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Inverse of [`cvd::days_from_civil`] (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `3d 4h`, `5h 12m`, `40m`, `12s`: an age for humans.
pub(crate) fn format_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// Runs the check at `now` (epoch seconds) without a verification cache: every run reads a
/// .cvd's body for its MD5. Never panics on bad input; never OK without both versions in
/// hand.
#[cfg(test)]
pub(crate) fn run(opts: &CheckOptions, now: i64) -> CheckReport {
    run_with_cache(opts, None, now)
}

/// [`run`], remembering verified .cvd files in `cache_dir` (see `verified_cache`) when it is
/// usable; when it is not, every run verifies, and the check says why with `-v`.
pub(crate) fn run_with_cache(
    opts: &CheckOptions,
    cache_dir: Option<&Path>,
    now: i64,
) -> CheckReport {
    let mut r = assess(opts, cache_dir, now);
    if r.state != ServiceState::Ok
        && let Some(note) = opts
            .last_repair
            .as_deref()
            .and_then(|p| last_repair_note(p, now))
    {
        r.text.push_str(&note);
    }
    r
}

/// `; last repair 12m ago: failed: database filesystem full (...)`, when the handler's last
/// repair did not succeed. The record is root's (any owner is read, it only adds words);
/// read without following a link, bounded, never blocking.
fn last_repair_note(path: &Path, now: i64) -> Option<String> {
    use crate::handler::state::{LastRepair, is_success};
    use crate::system::secure_open::{Kind, Rules};
    let rules = Rules {
        kind: Kind::Regular,
        owner: None,
        closed: true,
    };
    let last = LastRepair::read_with(path, &rules)?;
    if is_success(&last.outcome) {
        return None;
    }
    let outcome: String = last.outcome.chars().take(300).collect();
    Some(format!(
        "; last repair {} ago: {outcome}",
        format_age(now - last.finished)
    ))
}

/// The files and DNS part of a run, before clamd's part joins it.
struct Assessment {
    /// Its text does not hold the cool-down note yet: that ends the whole text.
    report: CheckReport,
    cooldown: String,
    /// The newest daily on disk and when its file appeared.
    disk: Option<OnDisk>,
    /// The f-level field of that daily's header: what the database needs of the engine.
    flevel: Option<u32>,
    published: Option<DnsInfo>,
}

/// One run: clamd is asked beside the files and DNS, all within `-t`.
fn assess(opts: &CheckOptions, cache_dir: Option<&Path>, now: i64) -> CheckReport {
    let deadline = Instant::now() + opts.timeout;
    let mut clamd_details = Vec::new();
    let asking = clamd_view::ask(&opts.clamd, deadline, &mut clamd_details);
    let mut a = assess_files(opts, cache_dir, now, deadline);
    let seen = asking.answer(deadline, &mut clamd_details);
    a.report.details.append(&mut clamd_details);
    with_clamd(a, &seen, now)
}

/// Adds clamd's part and the engine's to the files' part. The state is the worst of them;
/// a part worse than the files' leads the text, the others follow it; the cool-down note
/// ends it. Without clamd configured, the files' report is unchanged.
fn with_clamd(a: Assessment, seen: &Seen, now: i64) -> CheckReport {
    let mut r = a.report;
    let mut parts: Vec<(ServiceState, String)> = Vec::new();
    if let Some(j) = clamd_view::judge(seen, a.disk, now) {
        if let Some(p) = j.perf {
            if !r.perfdata.is_empty() {
                r.perfdata.push(' ');
            }
            r.perfdata.push_str(&p);
        }
        parts.push((j.state, j.text));
    }
    match seen {
        Seen::Loaded { loaded, .. } => {
            if let Some(part) = engine::judge(
                &loaded.engine,
                a.published.as_ref(),
                a.flevel,
                &mut r.details,
            ) {
                parts.push(part);
            }
        }
        Seen::Absent => {}
        _ => r.details.push(
            "engine: unknown without clamd's answer (the check runs no ClamAV program)".into(),
        ),
    }
    let base = r.state;
    let (mut lead, tail): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .partition(|(s, _)| severity(*s) > severity(base));
    lead.sort_by_key(|(s, _)| std::cmp::Reverse(severity(*s)));
    let mut text: Vec<String> = lead.iter().map(|(_, t)| t.clone()).collect();
    text.push(std::mem::take(&mut r.text));
    text.extend(tail.iter().map(|(_, t)| t.clone()));
    r.state = lead.first().map_or(base, |(s, _)| *s);
    r.text = text.join("; ");
    r.text.push_str(&a.cooldown);
    r
}

/// Which state is worse, as Monitoring Plugins' `max_state_alt`: CRITICAL, WARNING,
/// UNKNOWN, OK. A known problem outranks not knowing.
fn severity(s: ServiceState) -> u8 {
    match s {
        ServiceState::Ok => 0,
        ServiceState::Unknown => 1,
        ServiceState::Warning => 2,
        ServiceState::Critical => 3,
    }
}

/// The files against DNS: the check as it is without clamd.
fn assess_files(
    opts: &CheckOptions,
    cache_dir: Option<&Path>,
    now: i64,
    deadline: Instant,
) -> Assessment {
    let mut r = CheckReport {
        state: ServiceState::Unknown,
        text: String::new(),
        perfdata: String::new(),
        details: Vec::new(),
        local: None,
        published: None,
        lag: None,
        cooldown: Cooldown::None,
        mirror_lag: None,
    };
    let early = |report: CheckReport, cooldown: &str| Assessment {
        report,
        cooldown: cooldown.to_string(),
        disk: None,
        flevel: None,
        published: None,
    };

    // Where to look, and what to ask.
    let (dir, source) = match locate(opts, &mut r.details) {
        Ok(x) => x,
        Err(reason) => {
            r.text = reason.to_string();
            return early(r, "");
        }
    };
    r.details
        .push(format!("database directory: {}", dir.display()));
    let cooldown = cooldown_note(&dir, now, &mut r);

    // The local version: without it the filter may be scanning with nothing.
    let files = match cvd::open_local_db(&dir, "daily") {
        Ok(f) => f,
        Err(e) => {
            r.state = ServiceState::Critical;
            r.text = format!("cannot read the local daily database: {e}");
            return early(r, &cooldown);
        }
    };
    // Every daily file must load: libclamav refuses a database whose duplicate is corrupt.
    if let Err(e) = verify_all(&files, cache_dir, deadline, &mut r.details) {
        r.state = match e {
            IntegrityError::Unloadable(_) => ServiceState::Critical,
            IntegrityError::Unverified { .. } => ServiceState::Unknown,
        };
        r.text = e.to_string();
        return early(r, &cooldown);
    }
    let Some((local, file)) = files.into_iter().next() else {
        // open_local_db never returns an empty list; no panic in a plugin all the same.
        r.state = ServiceState::Critical;
        r.text = format!("no daily.cvd or daily.cld in {}", dir.display());
        return early(r, &cooldown);
    };
    let h = &local.header;
    let build_epoch = h.build_epoch();
    // When the newer daily appeared: the mtime of the file read (freshclam renames a whole
    // new file into place), by the descriptor, so a later replacement does not count.
    let mtime = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let disk = OnDisk {
        daily: h.version,
        since: mtime.or(build_epoch).unwrap_or(now),
    };
    let flevel = h.flevel;
    let age = build_epoch.map(|b| (now - b).max(0));
    r.details.push(format!(
        "local: {} version {}, built {} ({}), {} signatures, f-level {}, builder {}",
        local.file.display(),
        h.version,
        h.build_time,
        h.build_epoch().map_or("unknown epoch".into(), format_utc),
        h.sigs,
        h.flevel,
        h.builder
    ));
    let built = match (h.build_epoch(), age) {
        (Some(b), Some(a)) => format!("built {} ({} ago)", format_utc(b), format_age(a)),
        _ => "build time unknown".to_string(),
    };
    let version = h.version;
    let age_perf = age.map_or(String::new(), |a| format!(" age={a}s;;;0;"));
    r.perfdata = format!("daily={version}{age_perf}");
    r.local = Some(local);
    let done = |report: CheckReport, published: Option<DnsInfo>| Assessment {
        report,
        cooldown: cooldown.clone(),
        disk: Some(disk),
        flevel: Some(flevel),
        published,
    };

    // The published version.
    let published = published(opts, &source, cache_dir, deadline, now, &mut r.details);
    let published = match published {
        Ok(p) => p,
        Err(reason) => {
            let stale = age.is_some_and(|a| a as u64 > opts.max_age.as_secs());
            let whatever = if matches!(source, Source::Dns { .. }) {
                "DNS"
            } else {
                "the mirror"
            };
            if stale {
                r.state = ServiceState::Critical;
                r.text = format!(
                    "daily {version} is stale: {built}, over the {}h limit, whatever {whatever} \
                     says ({reason})",
                    opts.max_age.as_secs() / 3600
                );
            } else {
                r.text = format!(
                    "cannot learn the published version: {reason}; local daily {version} \
                     {built}"
                );
            }
            return done(r, None);
        }
    };
    let Published {
        daily: published,
        dns: info,
        by,
        dns_daily,
    } = published;
    r.published = Some(published);
    let implausible = plausible::implausible_lead(version, published, build_epoch, now);
    let lag = published.saturating_sub(version);
    r.lag = Some(lag);
    // A mirror behind ClamAV's DNS: the filter cannot be fresher than its mirror.
    let mirror_lag = dns_daily
        .map(|d| d.saturating_sub(published))
        .filter(|l| *l > 0);
    let mirror_perf = mirror_lag.map_or(String::new(), |l| format!(" mirror_lag={l};;;0;"));
    r.perfdata = format!(
        "daily={version} published={published} lag={lag};{};{};0;{age_perf}{mirror_perf}",
        opts.warning, opts.critical
    );
    r.state = if implausible.is_some() || opts.critical.alerts(f64::from(lag)) {
        ServiceState::Critical
    } else if opts.warning.alerts(f64::from(lag)) {
        ServiceState::Warning
    } else {
        ServiceState::Ok
    };
    let is_implausible = implausible.is_some();
    let what = match (implausible, lag) {
        (Some(why), _) => format!("daily {version} is implausible: {why}"),
        (None, 0) if version > published => {
            format!("daily {version} is newer than published {published}")
        }
        (None, 0) => format!("daily {version} is current"),
        (None, 1) => format!("daily {version} is 1 revision behind published {published}"),
        (None, n) => format!("daily {version} is {n} revisions behind published {published}"),
    };
    let by = by.map_or(String::new(), |b| format!(" ({b})"));
    r.text = format!("{what}{by}, {built}");
    if let (Some(ml), Some(d)) = (mirror_lag, dns_daily) {
        let note = format!(
            "; the mirror lags the published daily by {ml} (DNS says {d}): repair the mirror"
        );
        r.text.push_str(&note);
        if r.state == ServiceState::Ok && !is_implausible {
            // Its own state: nothing here to repair, but the filter is behind.
            r.mirror_lag = Some(ml);
            r.state = if age.is_some_and(|a| a as u64 > opts.max_age.as_secs()) {
                r.text.push_str(&format!(
                    "; over the {}h limit",
                    opts.max_age.as_secs() / 3600
                ));
                ServiceState::Critical
            } else {
                ServiceState::Warning
            };
        }
    }
    done(r, info)
}

/// Age past which freshclam does not trust the TXT record's versions (libfreshclam's
/// `DNS_WARNING_THRESHOLD_HOURS`: 12 h).
pub(crate) const STALE_TXT_SECS: i64 = 12 * 3600;

/// freshclam.conf could not be used to find the database or the published version.
#[derive(Debug, thiserror::Error)]
enum LocateError {
    #[error("cannot use freshclam.conf: {0}")]
    Conf(freshclam_conf::ConfError),
    #[error("cannot use {0}")]
    Source(#[from] SourceError),
}

/// Why DNS could not tell the published version (the text goes into the status line).
#[derive(Debug, thiserror::Error)]
enum PublishedError {
    #[error("{0}")]
    Dns(#[from] dns::DnsError),
    #[error(
        "the DNS TXT record from {server} is stale: record time {time} ({age} ago), older than \
         freshclam's 12-hour limit"
    )]
    Stale {
        server: std::net::SocketAddr,
        time: String,
        age: String,
    },
    #[error("{err} (from {server}: \"{text}\")")]
    Txt {
        err: dns::TxtError,
        server: std::net::SocketAddr,
        text: String,
    },
    #[error("{0}")]
    Mirror(#[from] MirrorError),
    #[error("{0}")]
    Source(#[from] SourceError),
    /// The TXT record is stale, and the mirrors freshclam.conf names could not tell either.
    #[error("{stale}; no mirror told instead: {mirror}")]
    StaleNoMirror {
        stale: Box<PublishedError>,
        mirror: MirrorError,
    },
}

/// The published daily, and where it comes from.
struct Published {
    daily: u32,
    /// The TXT record, when DNS was asked and answered.
    dns: Option<DnsInfo>,
    /// `published by mirror http://m: daily 4`, when a mirror told.
    by: Option<String>,
    /// With `--compare-dns`: the daily DNS publishes, to compare the mirror with.
    dns_daily: Option<u32>,
}

/// The database directory and where the published version comes from, from the options and
/// freshclam.conf.
fn locate(
    opts: &CheckOptions,
    details: &mut Vec<String>,
) -> Result<(PathBuf, Source), LocateError> {
    // The conf is only needed for what the options leave open.
    let conf = if opts.database_dir.is_some() && (opts.dns_name.is_some() || opts.mirror.is_some())
    {
        None
    } else {
        match FreshclamConf::load(&opts.freshclam_conf) {
            Ok(c) => {
                details.push(format!("read {}", opts.freshclam_conf.display()));
                Some(c)
            }
            // `-d` makes a missing freshclam.conf fine (a check on another host's copy, a
            // test).
            Err(freshclam_conf::ConfError::Open(e))
                if opts.database_dir.is_some() && e.is_not_found() =>
            {
                details.push(format!(
                    "{} not found, using freshclam's defaults",
                    opts.freshclam_conf.display()
                ));
                None
            }
            Err(e) => return Err(LocateError::Conf(e)),
        }
    };
    let source = source::choose(
        opts.mirror.as_ref(),
        opts.dns_name.as_deref(),
        conf.as_ref(),
        opts.compare_dns,
    )?;
    let dir = match (&opts.database_dir, conf) {
        (Some(d), _) => d.clone(),
        (None, Some(c)) => c.database_directory,
        (None, None) => freshclam_conf::DEFAULT_DATABASE_DIRECTORY.into(),
    };
    Ok((dir, source))
}

/// `; freshclam CDN cool-down until ...` when freshclam.dat says so, `; bogus cool-down ...`
/// when it says something unbelievable, else empty.
fn cooldown_note(dir: &Path, now: i64, r: &mut CheckReport) -> String {
    match FreshclamDat::read(dir) {
        Ok(Some(dat)) => {
            r.details
                .push(format!("freshclam.dat: retry_after {}", dat.retry_after));
            r.cooldown = dat.cooldown(now);
        }
        Ok(None) => r.details.push("freshclam.dat: none".into()),
        // Not the check's business to fail on: freshclam recreates it.
        Err(e) => r.details.push(format!("freshclam.dat: unreadable ({e})")),
    }
    match r.cooldown {
        Cooldown::None => String::new(),
        Cooldown::Until(t) => format!("; freshclam CDN cool-down until {}", format_utc(t)),
        Cooldown::Bogus(t) => format!(
            "; bogus cool-down in freshclam.dat (until {}) ignored",
            format_utc(t)
        ),
    }
}

/// Verifies every daily file found (see `integrity`); `-v` says how each one passed.
fn verify_all(
    files: &[(LocalDb, std::fs::File)],
    cache_dir: Option<&Path>,
    deadline: Instant,
    details: &mut Vec<String>,
) -> Result<(), IntegrityError> {
    let mut cache = None;
    if files.iter().any(|(l, _)| l.format() == DbFormat::Cvd) {
        match cache_dir.map(VerifiedCache::open) {
            None => details.push("verification cache: none".into()),
            Some(Ok(c)) => {
                if let Some(why) = &c.ignored {
                    details.push(format!("verification cache: file ignored ({why})"));
                }
                cache = Some(c);
            }
            Some(Err(e)) => details.push(format!("verification cache: not used ({e})")),
        }
    }
    for (db, f) in files {
        let how = integrity::verify(db, f, cache.as_mut(), deadline)?;
        details.push(format!("{}: {how}", db.name()));
    }
    Ok(())
}

/// The published daily from `source`: DNS (a stale record replaced by the mirrors', when
/// freshclam.conf names some), or the mirrors' header (compared with DNS on request).
fn published(
    opts: &CheckOptions,
    source: &Source,
    cache_dir: Option<&Path>,
    deadline: Instant,
    now: i64,
    details: &mut Vec<String>,
) -> Result<Published, PublishedError> {
    let tls = Tls::new(opts.ca_file.clone());
    match source {
        Source::Dns { name, fallback } => match dns_daily(opts, name, deadline, now, details) {
            Ok(info) => Ok(Published {
                daily: info.daily,
                dns: Some(info),
                by: None,
                dns_daily: None,
            }),
            Err(stale @ PublishedError::Stale { .. }) => {
                let Some(mirrors) = fallback else {
                    return Err(stale);
                };
                details.push("TXT record stale: asking freshclam.conf's mirrors".into());
                match mirror_daily(mirrors, &tls, cache_dir, deadline, now, details) {
                    Ok((daily, by)) => Ok(Published {
                        daily,
                        dns: None,
                        by: Some(format!("the DNS record is stale; {by}")),
                        dns_daily: None,
                    }),
                    Err(mirror) => Err(PublishedError::StaleNoMirror {
                        stale: Box::new(stale),
                        mirror,
                    }),
                }
            }
            Err(e) => Err(e),
        },
        Source::Mirror {
            mirrors,
            why,
            compare,
        } => {
            details.push(format!("published version from the mirror: {why}"));
            let (daily, by) = mirror_daily(mirrors, &tls, cache_dir, deadline, now, details)?;
            // The comparison only adds a finding: DNS failing here changes nothing.
            let dns = compare.as_deref().and_then(|name| {
                dns_daily(opts, name, deadline, now, details)
                    .map_err(|e| details.push(format!("comparison with DNS: {e}")))
                    .ok()
            });
            Ok(Published {
                daily,
                dns_daily: dns.as_ref().map(|d| d.daily),
                dns,
                by: Some(by),
            })
        }
    }
}

/// The mirrors' daily and `published by mirror URL: daily N`. ClamAV's CDN is asked at
/// most once an hour: its answer is kept in the cache directory.
fn mirror_daily(
    mirrors: &Mirrors,
    tls: &Tls,
    cache_dir: Option<&Path>,
    deadline: Instant,
    now: i64,
    details: &mut Vec<String>,
) -> Result<(u32, String), MirrorError> {
    let cdn = mirrors.urls.first().filter(|u| u.is_public_cdn());
    let dir = cdn
        .and(cache_dir)
        .and_then(|d| verified_cache::open_dir(d).ok());
    if let (Some(url), Some(dir)) = (cdn, &dir)
        && let Ok(Some(c)) = header_cache::get(dir, &url.to_string(), now)
    {
        details.push(format!(
            "{url}: daily {} from the cache ({} ago; ClamAV's CDN is asked at most hourly)",
            c.header.version,
            format_age(now - c.fetched)
        ));
        return Ok((
            c.header.version,
            format!("published by mirror {url}: daily {}", c.header.version),
        ));
    }
    let served = mirror::daily_header(mirrors, tls, deadline, details)?;
    details.push(format!(
        "mirror {}: {} version {}, built {}, f-level {}",
        served.url,
        served.file,
        served.header.version,
        served.header.build_time,
        served.header.flevel
    ));
    if served.url.is_public_cdn()
        && let Some(dir) = cache_dir.and_then(|d| verified_cache::open_dir(d).ok())
        && let Err(e) = header_cache::put(&dir, &served.url.to_string(), now, &served.raw)
    {
        details.push(format!("CDN header cache: not written ({e})"));
    }
    let v = served.header.version;
    Ok((v, format!("published by mirror {}: daily {v}", served.url)))
}

/// Asks DNS and parses the TXT record (field 2 is the published daily); the error is the
/// reason, for humans.
fn dns_daily(
    opts: &CheckOptions,
    name: &str,
    deadline: Instant,
    now: i64,
    details: &mut Vec<String>,
) -> Result<DnsInfo, PublishedError> {
    let servers = match opts.server {
        Some(s) => vec![s],
        None => dns::nameservers(&opts.resolv_conf)?,
    };
    let list: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
    details.push(format!("asking {} for TXT {name}", list.join(", ")));
    let answer = dns::query_txt(name, &servers, DNS_ROUNDS, deadline, details)?;
    let info = dns::parse_txt(&answer.text).map_err(|err| PublishedError::Txt {
        err,
        server: answer.server,
        text: answer.text.escape_ascii().to_string(),
    })?;
    details.push(format!(
        "published: ClamAV {}, main {}, daily {}{}",
        info.clamav_version,
        info.main,
        info.daily,
        info.record_time.map_or(String::new(), |t| format!(
            ", record time {}",
            format_utc(t)
        ))
    ));
    // freshclam distrusts a record older than 12 hours (and falls back to asking the mirror):
    // its daily is not "what is published" any more.
    if let Some(t) = info.record_time
        && now.saturating_sub(t) > STALE_TXT_SECS
    {
        return Err(PublishedError::Stale {
            server: answer.server,
            time: format_utc(t),
            age: format_age(now - t),
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1624412045), "2021-06-23 01:34 UTC");
        assert_eq!(format_utc(951782400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59 UTC");
        assert_eq!(format_utc(1795633200), "2026-11-25 19:00 UTC");
        // Round trip against the parser's direction over ~550 years, every 37 days.
        for days in (-100_000..100_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(cvd::days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        }
    }

    #[test]
    fn ages() {
        assert_eq!(format_age(-5), "0s");
        assert_eq!(format_age(59), "59s");
        assert_eq!(format_age(3599), "59m");
        assert_eq!(format_age(3600 * 5 + 60 * 3), "5h 3m");
        assert_eq!(format_age(86400 * 3 + 3600 * 4 + 5), "3d 4h");
    }

    #[test]
    fn output_cannot_be_split_by_hostile_text() {
        let r = CheckReport {
            state: ServiceState::Unknown,
            text: "bad TXT \"a|b\nc\"".into(),
            perfdata: "daily=1".into(),
            details: vec!["x|y".into()],
            local: None,
            published: None,
            lag: None,
            cooldown: Cooldown::None,
            mirror_lag: None,
        };
        assert_eq!(
            r.status_line(),
            "CLAMAV UNKNOWN - bad TXT \"a!b?c\" | daily=1"
        );
        assert_eq!(
            r.output(true),
            "CLAMAV UNKNOWN - bad TXT \"a!b?c\" | daily=1\nx!y\n"
        );
        assert_eq!(r.output(false).lines().count(), 1);
        let empty = CheckReport {
            perfdata: String::new(),
            ..r
        };
        assert_eq!(empty.status_line(), "CLAMAV UNKNOWN - bad TXT \"a!b?c\"");
    }

    #[test]
    fn default_thresholds_are_check_clamavs() {
        let o = CheckOptions::default();
        assert_eq!(o.warning.to_string(), "0");
        assert_eq!(o.critical.to_string(), "1");
        assert_eq!(o.max_age, Duration::from_secs(48 * 3600));
    }

    #[test]
    fn conf_errors_are_unknown_and_no_database_is_critical() {
        let d = tempfile::tempdir().unwrap();
        let o = CheckOptions {
            freshclam_conf: d.path().join("missing.conf"),
            timeout: Duration::from_millis(200),
            clamd: ClamdOptions::Off,
            ..CheckOptions::default()
        };
        let r = run(&o, 0);
        assert_eq!(r.state, ServiceState::Unknown);
        assert!(r.text.contains("missing.conf"), "{}", r.text);
        // With -d the missing conf is fine; the empty directory is what matters.
        let o = CheckOptions {
            database_dir: Some(d.path().into()),
            ..o
        };
        let r = run(&o, 0);
        assert_eq!(r.state, ServiceState::Critical, "{}", r.text);
        assert!(r.text.contains("no daily.cvd or daily.cld"), "{}", r.text);
    }

    #[test]
    fn resolv_conf_nameservers() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("resolv.conf");
        std::fs::write(&p, "search example\nnameserver 10.0.0.1\nnameserver ::1\n").unwrap();
        let v = dns::nameservers(&p).unwrap();
        assert_eq!(
            v,
            ["10.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
        std::fs::write(&p, "# none\n").unwrap();
        assert_eq!(
            dns::nameservers(&p).unwrap(),
            ["127.0.0.1:53".parse().unwrap()]
        );
        assert!(dns::nameservers(&d.path().join("nope")).is_err());
    }
}
