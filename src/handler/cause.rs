//! Why a freshclam run failed, from its output and its exit code together: freshclam's
//! exit codes alone mislead (a full disk is curl's write error, reported as a connection
//! failure; a config typo as "init"), its messages name the real cause. One typed cause
//! with a short text and the advice for the admin; used by the audit, the state file,
//! `status`, `heal` and the check's text.
//!
//! The patterns are freshclam 1.0-1.5's own messages (libfreshclam and freshclam's logger);
//! the unit tests hold real output samples.

use crate::system::process::End;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    /// freshclam.conf does not parse: `file:line` and the message.
    Config {
        location: Option<String>,
        detail: String,
    },
    /// The database or log directory refuses the database owner.
    Permissions { detail: String },
    /// No room on the database filesystem.
    DiskFull { detail: String },
    /// HTTP 403 from the CDN: this address or this engine is blocked.
    Forbidden,
    /// HTTP 429 (now or earlier): freshclam waits until `until`.
    Cooldown { until: Option<String> },
    /// The engine is older than ClamAV still serves.
    OutdatedEngine {
        local: Option<String>,
        recommended: Option<String>,
    },
    /// Signature verification failed (`.sign` files, certificates, digital signatures).
    Signature { detail: String },
    /// The mirror served an older database than DNS advertised.
    MirrorOutOfSync,
    /// The DNS TXT record is older than freshclam accepts.
    DnsStale,
    /// No connection to the mirror (the host, when freshclam named it).
    Connection { host: Option<String> },
    /// Killed at the time limit.
    Hung,
    /// Anything else: the first error line, or the exit code.
    Other { detail: String },
}

impl Cause {
    /// A short machine-friendly name for the audit (`cause=disk-full`).
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Cause::Config { .. } => "config",
            Cause::Permissions { .. } => "permissions",
            Cause::DiskFull { .. } => "disk-full",
            Cause::Forbidden => "forbidden",
            Cause::Cooldown { .. } => "cool-down",
            Cause::OutdatedEngine { .. } => "outdated-engine",
            Cause::Signature { .. } => "signature",
            Cause::MirrorOutOfSync => "mirror-out-of-sync",
            Cause::DnsStale => "dns-stale",
            Cause::Connection { .. } => "connection",
            Cause::Hung => "hung",
            Cause::Other { .. } => "other",
        }
    }

    /// What the admin should do about it.
    pub(crate) fn advice(&self) -> &'static str {
        match self {
            Cause::Config { .. } => {
                "fix freshclam.conf at the line named; `freshclam --version` does not check it, a run does"
            }
            Cause::Permissions { .. } => {
                "give the database and log directories back to the database owner (clamav)"
            }
            Cause::DiskFull { .. } => {
                "free space on the database filesystem (a full download needs about twice the database size)"
            }
            Cause::Forbidden => {
                "the CDN blocks this address or engine: upgrade ClamAV, or use a private mirror"
            }
            Cause::Cooldown { .. } => {
                "wait: freshclam resumes by itself after the cool-down; never delete freshclam.dat"
            }
            Cause::OutdatedEngine { .. } => {
                "upgrade ClamAV: no repair can fix an engine the CDN no longer serves"
            }
            Cause::Signature { .. } => {
                "check the mirror's .sign files and the system's certificates; upgrade ClamAV if it is old"
            }
            Cause::MirrorOutOfSync => {
                "the mirror lags ClamAV's DNS: repair the mirror, not the filter"
            }
            Cause::DnsStale => {
                "the DNS record is stale: check the resolver, or the mirror's own record"
            }
            Cause::Connection { .. } => {
                "check the network path to the mirror (proxy, firewall, DNS)"
            }
            Cause::Hung => {
                "the download hung: check the mirror; freshclam.conf ReceiveTimeout bounds it"
            }
            Cause::Other { .. } => "read the audit trail: journalctl -t clamav-freshen",
        }
    }
}

/// The advice for a recorded outcome (`failed: <cause>`, `refused: <cause>`, `forbidden`,
/// `cool-down`, `clamd did not reload: ...`), read back from the cause's text as
/// [`Cause`]'s `Display` writes it; `None` for a success.
pub(crate) fn advice_for_outcome(outcome: &str) -> Option<&'static str> {
    if crate::handler::state::is_success(outcome) {
        return None;
    }
    if outcome.starts_with("clamd did not reload") {
        return Some(
            "check clamd (systemctl status clamav-daemon): its log names a database it could not load",
        );
    }
    let text = outcome
        .strip_prefix("failed: ")
        .or_else(|| outcome.strip_prefix("refused: "))
        .unwrap_or(outcome);
    let sample = |c: Cause| c.advice();
    let by_prefix: [(&str, &dyn Fn() -> &'static str); 12] = [
        ("freshclam.conf error", &|| {
            sample(Cause::Config {
                location: None,
                detail: String::new(),
            })
        }),
        ("permission denied", &|| {
            sample(Cause::Permissions {
                detail: String::new(),
            })
        }),
        ("database filesystem full", &|| {
            sample(Cause::DiskFull {
                detail: String::new(),
            })
        }),
        ("forbidden", &|| sample(Cause::Forbidden)),
        ("CDN cool-down", &|| sample(Cause::Cooldown { until: None })),
        ("cool-down", &|| sample(Cause::Cooldown { until: None })),
        ("ClamAV engine outdated", &|| {
            sample(Cause::OutdatedEngine {
                local: None,
                recommended: None,
            })
        }),
        ("signature verification failed", &|| {
            sample(Cause::Signature {
                detail: String::new(),
            })
        }),
        ("mirror out of sync", &|| sample(Cause::MirrorOutOfSync)),
        ("DNS TXT record too old", &|| sample(Cause::DnsStale)),
        ("cannot connect to", &|| {
            sample(Cause::Connection { host: None })
        }),
        ("freshclam timed out", &|| sample(Cause::Hung)),
    ];
    Some(
        by_prefix
            .iter()
            .find(|(p, _)| text.starts_with(p))
            .map_or_else(
                || {
                    sample(Cause::Other {
                        detail: String::new(),
                    })
                },
                |(_, advice)| advice(),
            ),
    )
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Config {
                location: Some(l),
                detail,
            } => write!(f, "freshclam.conf error at {l}: {detail}"),
            Cause::Config {
                location: None,
                detail,
            } => write!(f, "freshclam.conf error: {detail}"),
            Cause::Permissions { detail } => write!(f, "permission denied: {detail}"),
            Cause::DiskFull { detail } => write!(f, "database filesystem full: {detail}"),
            Cause::Forbidden => f.write_str("forbidden by the CDN (HTTP 403)"),
            Cause::Cooldown { until: Some(u) } => write!(f, "CDN cool-down until {u}"),
            Cause::Cooldown { until: None } => f.write_str("CDN cool-down (HTTP 429)"),
            Cause::OutdatedEngine { local, recommended } => {
                f.write_str("ClamAV engine outdated")?;
                match (local, recommended) {
                    (Some(l), Some(r)) => write!(f, " (local {l}, required {r})"),
                    (Some(l), None) => write!(f, " (local {l})"),
                    _ => Ok(()),
                }
            }
            Cause::Signature { detail } => write!(f, "signature verification failed: {detail}"),
            Cause::MirrorOutOfSync => {
                f.write_str("mirror out of sync (older database than DNS advertises)")
            }
            Cause::DnsStale => f.write_str("DNS TXT record too old"),
            Cause::Connection { host: Some(h) } => write!(f, "cannot connect to {h}"),
            Cause::Connection { host: None } => f.write_str("cannot connect to the mirror"),
            Cause::Hung => f.write_str("freshclam timed out (killed at the time limit)"),
            Cause::Other { detail } => f.write_str(detail),
        }
    }
}

/// Output lines kept for classification: errors and warnings, at most this many.
pub(crate) const MAX_KEPT_LINES: usize = 64;

/// Keeps the lines that can name a cause (freshclam prints a few dozen per run).
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    lines: Vec<String>,
}

impl Evidence {
    pub(crate) fn see(&mut self, line: &str) {
        if self.lines.len() >= MAX_KEPT_LINES {
            return;
        }
        let l = line.trim();
        let interesting = [
            "ERROR",
            "WARNING",
            "cool-down",
            "OUTDATED",
            "received error code",
            // Not an ERROR line: freshclam installs the older database and exits 0.
            "than was advertised",
        ]
        .iter()
        .any(|k| l.contains(k));
        if interesting {
            self.lines.push(l.chars().take(400).collect());
        }
    }

    fn has(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }

    fn find(&self, needle: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.contains(needle))
            .map(String::as_str)
    }
}

/// The text after `ERROR: ` / `WARNING: `, for a detail.
fn message(line: &str) -> String {
    let l = line.trim();
    let l = l
        .split_once("ERROR:")
        .or_else(|| l.split_once("WARNING:"))
        .map_or(l, |(_, r)| r);
    l.trim().to_string()
}

/// `http://127.0.0.1:8001/daily.cvd` → `127.0.0.1:8001`, from a line naming a URL.
fn host_in(line: &str) -> Option<String> {
    let start = line.find("://")? + 3;
    let rest = &line[start..];
    let end = rest.find(['/', ' ', '\'', '"']).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

/// The cause of a run that did not update the database, or `None` when the run succeeded
/// (`updated`/`up to date`): a cool-down with exit 0 is still a cause.
pub(crate) fn classify(end: &End, ev: &Evidence) -> Option<Cause> {
    let code = match end {
        End::TimedOut => return Some(Cause::Hung),
        End::Exited(c) => Some(*c),
        _ => None,
    };
    if let Some(l) = ev.find("Parse error at ") {
        // `ERROR: Parse error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr`
        let rest = l.split_once("Parse error at ").map_or("", |(_, r)| r);
        let (location, detail) = match rest.rfind(": ") {
            Some(i) => (Some(rest[..i].to_string()), rest[i + 2..].to_string()),
            None => (None, rest.to_string()),
        };
        return Some(Cause::Config { location, detail });
    }
    if let Some(l) = ev
        .find("Can't open/parse the config file")
        .or_else(|| ev.find("Missing argument for option"))
        .or_else(|| ev.find("Incorrect argument format for option"))
    {
        return Some(Cause::Config {
            location: None,
            detail: message(l),
        });
    }
    for needle in [
        "No space left on device",
        "Failure writing output",
        "Download failed (23)",
    ] {
        if let Some(l) = ev.find(needle) {
            return Some(Cause::DiskFull { detail: message(l) });
        }
    }
    for needle in [
        "Permission denied",
        "Failed to read/write file to database directory",
        "Can't create freshclam.dat",
        "Can't create temporary directory",
    ] {
        if let Some(l) = ev.find(needle) {
            return Some(Cause::Permissions { detail: message(l) });
        }
    }
    let outdated = ev.has("OUTDATED");
    if ev.has("received error code 403") || code == Some(17) {
        // 1.0 LTS lost downloads: the CDN answers 403 to an engine it no longer serves.
        return Some(if outdated {
            outdated_engine(ev)
        } else {
            Cause::Forbidden
        });
    }
    if let Some(l) = ev.find("cool-down until after:") {
        let until = l.rsplit_once("after:").map(|(_, u)| u.trim().to_string());
        return Some(Cause::Cooldown { until });
    }
    if ev.has("received error code 429") || code == Some(18) {
        return Some(Cause::Cooldown { until: None });
    }
    if ev.has("older daily CVD than was advertised") {
        return Some(Cause::MirrorOutOfSync);
    }
    if code == Some(0) {
        return None;
    }
    if outdated || ev.has("requires libclamav with functionality level") {
        return Some(outdated_engine(ev));
    }
    for needle in [".sign", "certificate", "digital signature", "verif"] {
        if let Some(l) = ev.find(needle) {
            return Some(Cause::Signature { detail: message(l) });
        }
    }
    if code == Some(12) || ev.has("lower version than advertised") || ev.has("not synchronized") {
        return Some(Cause::MirrorOutOfSync);
    }
    if ev.has("DNS record is older than") {
        return Some(Cause::DnsStale);
    }
    if code == Some(5)
        || ev.has("Couldn't connect")
        || ev.has("Can't resolve hostname")
        || ev.has("Connection failed")
    {
        let host = ev
            .lines
            .iter()
            .find(|l| l.contains("Can't download") || l.contains("://"))
            .and_then(|l| host_in(l));
        return Some(Cause::Connection { host });
    }
    // The first error that says something: a bare `ERROR:` names nothing.
    let first_error = ev
        .lines
        .iter()
        .filter(|l| l.contains("ERROR"))
        .map(|l| message(l))
        .find(|m| !m.is_empty());
    Some(Cause::Other {
        detail: match (first_error, end) {
            (Some(e), _) => e,
            (None, End::Exited(c)) => format!(
                "freshclam exit {c} ({})",
                crate::handler::freshclam::exit_name(*c)
            ),
            (None, other) => format!("freshclam {other}"),
        },
    })
}

fn outdated_engine(ev: &Evidence) -> Cause {
    // `WARNING: Local version: 1.0.7 Recommended version: 1.4.6`
    let (local, recommended) = match ev.find("Local version:") {
        Some(l) => {
            let after = |k: &str| {
                l.split_once(k)
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .map(str::to_string)
            };
            (after("Local version:"), after("Recommended version:"))
        }
        None => (None, None),
    };
    Cause::OutdatedEngine { local, recommended }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: i32, out: &str) -> Option<Cause> {
        let mut ev = Evidence::default();
        for l in out.lines() {
            ev.see(l);
        }
        classify(&End::Exited(code), &ev)
    }

    #[test]
    fn success_is_no_cause() {
        let out = "ClamAV update process started at Tue Dec  1 23:59:59 2026\n\
                   daily.cvd database is up-to-date (version: 6, sigs: 14, f-level: 81, builder: micasnyd)\n";
        assert_eq!(run(0, out), None);
    }

    #[test]
    fn an_older_daily_than_advertised_is_the_mirror_even_with_exit_0() {
        // freshclam 1.0.9 (bookworm) against a mirror serving daily 4 while DNS says 6.
        let out = "daily database available for update (local version: 3, remote version: 6)\n\
                   Database test passed.\n\
                   daily.cvd updated (version: 4, sigs: 12, f-level: 81, builder: micasnyd)\n\
                   Received an older daily CVD than was advertised. We'll retry so the incremental update will ensure we're up-to-date.\n\
                   main.cvd database is up-to-date (version: 1, sigs: 0, f-level: 81, builder: micasnyd)\n";
        assert_eq!(run(0, out), Some(Cause::MirrorOutOfSync));
    }

    #[test]
    fn freshclam_1_4_6_lines_as_run_on_trixie() {
        // Output of Debian 13's freshclam 1.4.6 in the system test, with its time prefixes.
        let behind = "Wed Dec  2 03:58:34 2026 -> ClamAV update process started at Wed Dec  2 03:58:34 2026\n\
            Wed Dec  2 03:58:34 2026 -> daily database available for update (local version: 3, remote version: 6)\n\
            Wed Dec  2 03:58:34 2026 -> Database test passed.\n\
            Wed Dec  2 03:58:34 2026 -> daily.cvd updated (version: 4, sigs: 12, f-level: 81, builder: micasnyd)\n\
            Wed Dec  2 03:58:34 2026 -> Received an older daily CVD than was advertised. We'll retry so the incremental update will ensure we're up-to-date.\n\
            Wed Dec  2 03:58:34 2026 -> main.cvd database is up-to-date (version: 1, sigs: 0, f-level: 81, builder: micasnyd)\n\
            ERROR: Wed Dec  2 03:58:34 2026 -> NotifyClamd: Can't find or parse configuration file /etc/clamav/clamd.conf\n";
        assert_eq!(run(0, behind), Some(Cause::MirrorOutOfSync));
        // The same run against a mirror in sync: NotifyClamd's complaint is no cause.
        let fine = "Wed Dec  2 03:31:24 2026 -> daily database available for update (local version: 4, remote version: 5)\n\
            Wed Dec  2 03:31:24 2026 -> daily.cvd updated (version: 5, sigs: 13, f-level: 81, builder: micasnyd)\n\
            ERROR: Wed Dec  2 03:38:50 2026 -> NotifyClamd: Can't find or parse configuration file /etc/clamav/clamd.conf\n";
        assert_eq!(run(0, fine), None);
    }

    #[test]
    fn config_typo_names_file_and_line() {
        let out = "ERROR: Parse error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr\n\
                   ERROR: Can't open/parse the config file /etc/clamav/freshclam.conf\n";
        let c = run(2, out).unwrap();
        assert_eq!(
            c.to_string(),
            "freshclam.conf error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr"
        );
        assert_eq!(c.key(), "config");
    }

    #[test]
    fn a_full_disk_is_not_a_connection_problem() {
        // freshclam 1.4 with the database filesystem full: curl's write error, exit 5.
        let out = "Trying to retrieve CVD header from http://127.0.0.1:8001/daily.cvd\n\
                   ERROR: Download failed (23) \n\
                   ERROR:  Message: Failure writing output to destination\n\
                   ERROR: getcvd: Can't download daily.cvd from http://127.0.0.1:8001/daily.cvd\n\
                   ERROR: Database update process failed: Connection failed\n";
        let c = run(5, out).unwrap();
        assert_eq!(c.key(), "disk-full", "{c}");
    }

    #[test]
    fn connection_names_the_host() {
        let out = "WARNING: Can't query current.cvd.clamav.net\n\
                   ERROR: Download failed (7) \n\
                   ERROR:  Message: Couldn't connect to server\n\
                   ERROR: getcvd: Can't download daily.cvd from http://127.0.0.1:8001/daily.cvd\n\
                   ERROR: Update failed for database: daily\n\
                   ERROR: Database update process failed: Connection failed\n";
        let c = run(5, out).unwrap();
        assert_eq!(
            c,
            Cause::Connection {
                host: Some("127.0.0.1:8001".into())
            }
        );
    }

    #[test]
    fn cdn_answers() {
        let c403 = "WARNING: FreshClam received error code 403 from the ClamAV Content Delivery Network (CDN).\n";
        assert_eq!(run(17, c403), Some(Cause::Forbidden));
        let c429 = "WARNING: FreshClam received error code 429 from the ClamAV Content Delivery Network (CDN).\n";
        assert_eq!(run(18, c429), Some(Cause::Cooldown { until: None }));
        // Later runs: exit 0, nothing downloaded.
        let later = "WARNING: FreshClam previously received error code 429 or 403 from the ClamAV Content Delivery Network (CDN).\n\
                     WARNING: You are still on cool-down until after: Wed Dec  2 03:00:00 2026\n";
        assert_eq!(
            run(0, later),
            Some(Cause::Cooldown {
                until: Some("Wed Dec  2 03:00:00 2026".into())
            })
        );
    }

    #[test]
    fn an_outdated_engine_is_its_own_cause() {
        let out = "WARNING: Your ClamAV installation is OUTDATED!\n\
                   WARNING: Local version: 1.0.7 Recommended version: 1.4.6\n\
                   WARNING: FreshClam received error code 403 from the ClamAV Content Delivery Network (CDN).\n";
        assert_eq!(
            run(17, out),
            Some(Cause::OutdatedEngine {
                local: Some("1.0.7".into()),
                recommended: Some("1.4.6".into())
            })
        );
        // OUTDATED alone while the update worked is no failure.
        assert_eq!(
            run(0, "WARNING: Your ClamAV installation is OUTDATED!\n"),
            None
        );
    }

    #[test]
    fn permissions_log_lock_and_signatures() {
        let perm =
            "ERROR: Failed to open log file /var/log/clamav/freshclam.log: Permission denied\n";
        assert_eq!(run(2, perm).unwrap().key(), "permissions");
        let lock = "ERROR: Failed to lock the log file /var/log/clamav/freshclam.log: Resource temporarily unavailable\n\
                    ERROR: Problem with internal logger (UpdateLogFile = /var/log/clamav/freshclam.log).\n";
        let c = run(2, lock).unwrap();
        assert_eq!(c.key(), "other");
        assert!(c.to_string().contains("Failed to lock the log file"), "{c}");
        let sign =
            "ERROR: Failed to download daily.cvd.sign from http://127.0.0.1:8001/daily.cvd.sign\n";
        assert_eq!(run(14, sign).unwrap().key(), "signature");
    }

    #[test]
    fn mirror_and_dns() {
        assert_eq!(
            run(
                12,
                "WARNING: Downloaded database had lower version than advertised\n"
            ),
            Some(Cause::MirrorOutOfSync)
        );
        assert_eq!(
            run(1, "WARNING: DNS record is older than 12 hours.\n"),
            Some(Cause::DnsStale)
        );
    }

    #[test]
    fn hung_and_unknown() {
        assert_eq!(
            classify(&End::TimedOut, &Evidence::default()),
            Some(Cause::Hung)
        );
        assert_eq!(
            run(19, "").unwrap().to_string(),
            "freshclam exit 19 (other)"
        );
    }

    #[test]
    fn an_empty_error_line_is_not_an_empty_cause() {
        // Found by fuzzing (fuzz target freshclam_output): a bare `ERROR:` line made the
        // cause's text empty.
        for out in ["ERROR:", "ERROR:   ", "x\n  ERROR:\n"] {
            let c = run(14, out).unwrap();
            assert_eq!(c.key(), "other");
            assert_eq!(
                c.to_string(),
                "freshclam exit 14 (failed update)",
                "{out:?}"
            );
        }
        assert_eq!(
            run(14, "ERROR:\nERROR: Update failed for database: daily\n")
                .unwrap()
                .to_string(),
            "Update failed for database: daily"
        );
        let c = classify(&End::Signaled(9), &{
            let mut ev = Evidence::default();
            ev.see("ERROR:");
            ev
        })
        .unwrap();
        assert!(!c.to_string().is_empty());
    }

    #[test]
    fn evidence_is_bounded() {
        let mut ev = Evidence::default();
        for _ in 0..10_000 {
            ev.see(&format!("ERROR: {}", "x".repeat(10_000)));
        }
        assert_eq!(ev.lines.len(), MAX_KEPT_LINES);
        assert!(ev.lines.iter().all(|l| l.chars().count() <= 400));
    }

    #[test]
    fn every_cause_has_text_and_advice() {
        for c in [
            Cause::Config {
                location: None,
                detail: "x".into(),
            },
            Cause::Permissions { detail: "x".into() },
            Cause::DiskFull { detail: "x".into() },
            Cause::Forbidden,
            Cause::Cooldown { until: None },
            Cause::OutdatedEngine {
                local: None,
                recommended: None,
            },
            Cause::Signature { detail: "x".into() },
            Cause::MirrorOutOfSync,
            Cause::DnsStale,
            Cause::Connection { host: None },
            Cause::Hung,
            Cause::Other { detail: "x".into() },
        ] {
            assert!(!c.to_string().is_empty() && !c.advice().is_empty() && !c.key().is_empty());
            // The advice reads back from the recorded outcome, failed or refused.
            for outcome in [format!("failed: {c}"), format!("refused: {c}")] {
                assert_eq!(advice_for_outcome(&outcome), Some(c.advice()), "{outcome}");
            }
        }
        assert_eq!(advice_for_outcome("updated"), None);
        assert_eq!(advice_for_outcome("reloaded"), None);
        assert_eq!(
            advice_for_outcome("forbidden"),
            Some(Cause::Forbidden.advice())
        );
        assert!(
            advice_for_outcome("clamd did not reload: x")
                .unwrap()
                .contains("clamd")
        );
    }
}
