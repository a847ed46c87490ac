//! Is the local ClamAV engine one the published signatures are still made for?
//!
//! What ClamAV says, and where (libfreshclam, libclamav, docs.clamav.net):
//!
//! - Field 0 of the TXT record is the newest ClamAV release. freshclam compares it with its
//!   own version (`fc_dns_query_update_info()` in `libfreshclam.c`: dotted numbers, the part
//!   after a `-` ignored, `devel`/`beta`/`rc` builds never compared) and, unless field 4 is
//!   `0`, logs "Your ClamAV installation is OUTDATED! Local version: X Recommended version:
//!   Y". A warning: the update goes on. Here it is a note, never a state.
//! - Field 5, like the f-level field of a CVD header, is the *functionality level* the
//!   published databases need (90, ClamAV 0.100.0, for years). An engine below it gets
//!   "OUTDATED! Current functionality level = X, recommended = Y" from freshclam
//!   (`updatedb()`, `libfreshclam_internal.c`) and "This version of the ClamAV engine is
//!   outdated" from libclamav's CVD loader, which still loads the database but skips every
//!   signature written for a higher level. ClamAV raises this level to leave old engines
//!   behind: such an engine no longer gets usable updates. That is the one engine
//!   condition the check calls CRITICAL.
//! - What actually cuts an engine off from downloads is not in the record: the CDN refuses
//!   releases past their end of life (HTTP 403, docs.clamav.net/faq/faq-eol.html), and
//!   freshclam then sits in a cool-down the check already reports from freshclam.dat.
//!
//! The engine's own functionality level is `cl_retflevel()`, which only a ClamAV program can
//! print and the check runs none: clamd's `VERSION` gives the release (`ClamAV 1.4.2/...`),
//! and [`FLEVELS`], ClamAV's published chart, turns a release into the range its level lies
//! in. Without clamd's answer the engine is unknown and nothing is said: the f-level in the
//! local daily's header is what that database needs, not what the engine has.

use crate::dns::DnsInfo;
use crate::nagios::ServiceState;
use std::cmp::Ordering;

/// ClamAV releases and their functionality level (`CL_FLEVEL`), from ClamAV's "Versions &
/// Functionality Levels" chart (docs.clamav.net/appendix/FunctionalityLevels.html): the
/// first and last release of every feature release since 0.95. The level grows with the
/// version number, so a release between two rows has a level between theirs; a release
/// after the last row has one at least the last row's.
pub(crate) const FLEVELS: &[((u32, u32, u32), u32)] = &[
    ((0, 95, 0), 41),
    ((0, 95, 3), 44),
    ((0, 96, 0), 51),
    ((0, 96, 5), 58),
    ((0, 97, 0), 60),
    ((0, 97, 8), 69),
    ((0, 98, 0), 74),
    ((0, 98, 7), 80),
    ((0, 99, 0), 81),
    ((0, 99, 4), 85),
    ((0, 100, 0), 90),
    ((0, 100, 3), 94),
    ((0, 101, 0), 100),
    ((0, 101, 5), 106),
    ((0, 102, 0), 110),
    ((0, 102, 4), 115),
    ((0, 103, 0), 120),
    ((0, 103, 12), 133),
    ((0, 104, 0), 140),
    ((0, 104, 4), 144),
    ((0, 105, 0), 150),
    ((0, 105, 2), 152),
    ((1, 0, 0), 160),
    ((1, 0, 8), 168),
    ((1, 1, 0), 180),
    ((1, 1, 3), 183),
    ((1, 2, 0), 190),
    ((1, 2, 3), 193),
    ((1, 3, 0), 200),
    ((1, 3, 2), 202),
    ((1, 4, 0), 210),
    ((1, 4, 2), 212),
    ((1, 5, 0), 230),
    ((1, 5, 1), 231),
];

/// A release's numbers: `1.4.2`, `1.5.0-rc` (the suffix after `-`, `+` or `~` dropped), at
/// most three, missing ones 0. `None` for anything else.
pub(crate) fn release(v: &str) -> Option<(u32, u32, u32)> {
    let end = v.find(['-', '+', '~']).unwrap_or(v.len());
    let mut n = [0u32; 3];
    let mut parts = v[..end].split('.');
    for slot in &mut n {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                *slot = p.parse().ok()?
            }
            Some(_) => return None,
            None => break,
        }
    }
    if parts.next().is_some() || v[..end].is_empty() {
        return None;
    }
    Some((n[0], n[1], n[2]))
}

/// The range the functionality level of release `v` lies in: (at least, at most), at most
/// `None` past the chart's last row.
pub(crate) fn flevel_range(v: (u32, u32, u32)) -> (u32, Option<u32>) {
    let after = FLEVELS.iter().position(|(r, _)| *r > v);
    let at_or_before = match after {
        Some(0) => None,
        Some(i) => Some(FLEVELS[i - 1]),
        None => FLEVELS.last().copied(),
    };
    let low = at_or_before.map_or(0, |(_, f)| f);
    let high = match (at_or_before, after) {
        (Some((r, f)), _) if r == v => Some(f),
        (_, Some(i)) => Some(FLEVELS[i].1.saturating_sub(1).max(low)),
        (_, None) => None,
    };
    (low, high)
}

/// freshclam's version warning: is release `engine` older than `newest`? `None` when either
/// is not a plain release, or `engine` is a development build freshclam never compares.
pub(crate) fn older_than(engine: &str, newest: &str) -> Option<bool> {
    if ["devel", "beta", "rc"].iter().any(|w| engine.contains(w)) {
        return None;
    }
    Some(release(engine)?.cmp(&release(newest)?) == Ordering::Less)
}

/// The engine's verdict: CRITICAL when it is certainly below the functionality level the
/// databases need (the published ones, field 5, or the local daily's header), else at most
/// a note that a newer release is recommended. `None`: nothing to say.
pub(crate) fn judge(
    engine: &str,
    published: Option<&DnsInfo>,
    local_flevel: Option<u32>,
    details: &mut Vec<String>,
) -> Option<(ServiceState, String)> {
    let Some(rel) = release(engine) else {
        details.push(format!(
            "engine: ClamAV {engine} (from clamd), not a release the check can place"
        ));
        return None;
    };
    let (low, high) = flevel_range(rel);
    let need = [published.and_then(|p| p.flevel), local_flevel]
        .into_iter()
        .flatten()
        .max();
    details.push(format!(
        "engine: ClamAV {engine} (from clamd), functionality level {}; the databases need {}",
        match high {
            Some(h) if h == low => format!("{low}"),
            Some(h) => format!("{low} to {h}"),
            None => format!("{low} or more"),
        },
        need.map_or("(unknown)".to_string(), |n| n.to_string()),
    ));
    if let (Some(need), Some(high)) = (need, high)
        && need > high
    {
        return Some((
            ServiceState::Critical,
            format!(
                "ClamAV {engine} can no longer use the published signatures: they need \
                 functionality level {need}, this engine has {} (upgrade ClamAV)",
                if high == low {
                    format!("{high}")
                } else {
                    format!("at most {high}")
                }
            ),
        ));
    }
    let newest = published.filter(|p| p.version_warning)?;
    older_than(engine, &newest.clamav_version)?.then(|| {
        (
            ServiceState::Ok,
            format!(
                "ClamAV {engine} is outdated, {} recommended",
                newest.clamav_version
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(txt: &str) -> DnsInfo {
        crate::dns::parse_txt(txt.as_bytes()).unwrap()
    }

    #[test]
    fn the_chart_grows_with_the_version() {
        for w in FLEVELS.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 <= w[1].1, "{w:?}");
        }
    }

    #[test]
    fn releases() {
        assert_eq!(release("1.4.2"), Some((1, 4, 2)));
        assert_eq!(release("0.103.12"), Some((0, 103, 12)));
        assert_eq!(release("1.5.0-rc"), Some((1, 5, 0)));
        assert_eq!(release("1.6.0-devel-20250101"), Some((1, 6, 0)));
        assert_eq!(release("0.96"), Some((0, 96, 0)));
        assert_eq!(release("1.4.2+dfsg"), Some((1, 4, 2)));
        for bad in ["", "x", "1..2", "1.2.3.4", "1.a", "-rc", ".1"] {
            assert_eq!(release(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn levels_from_the_chart() {
        assert_eq!(flevel_range((1, 4, 2)), (212, Some(212)), "a row");
        assert_eq!(flevel_range((1, 4, 3)), (212, Some(229)), "between rows");
        assert_eq!(flevel_range((0, 103, 5)), (120, Some(132)));
        assert_eq!(flevel_range((0, 99, 4)), (85, Some(85)));
        assert_eq!(flevel_range((0, 94, 1)), (0, Some(40)), "before the chart");
        assert_eq!(flevel_range((1, 6, 0)), (231, None), "after the chart");
    }

    #[test]
    fn freshclams_version_warning() {
        assert_eq!(older_than("1.4.2", "1.4.3"), Some(true));
        assert_eq!(older_than("1.4.3", "1.4.3"), Some(false));
        assert_eq!(older_than("1.5.0", "1.4.3"), Some(false));
        assert_eq!(older_than("0.103.12", "1.4.3"), Some(true));
        assert_eq!(older_than("1.4.2-5", "1.4.3"), Some(true), "suffix ignored");
        assert_eq!(older_than("1.5.0-rc", "1.5.0"), None, "rc not compared");
        assert_eq!(older_than("1.6.0-devel", "1.5.0"), None);
        assert_eq!(older_than("1.4.2", "garbage"), None);
    }

    #[test]
    fn too_old_is_critical_outdated_is_a_note() {
        let mut d = Vec::new();
        let txt = info("1.4.3:62:27472:1:1:90:49192:336");
        assert_eq!(judge("1.4.3", Some(&txt), Some(90), &mut d), None);
        assert_eq!(
            judge("1.4.2", Some(&txt), Some(90), &mut d),
            Some((
                ServiceState::Ok,
                "ClamAV 1.4.2 is outdated, 1.4.3 recommended".into()
            ))
        );
        // Field 4 `0`: freshclam keeps quiet, and so does the check.
        let quiet = info("1.4.3:62:27472:1:0:90");
        assert_eq!(judge("1.4.2", Some(&quiet), Some(90), &mut d), None);

        // The databases need more than the engine can have.
        let high = info("1.4.3:62:27472:1:1:240");
        let (state, text) = judge("1.4.2", Some(&high), Some(90), &mut d).unwrap();
        assert_eq!(state, ServiceState::Critical);
        assert_eq!(
            text,
            "ClamAV 1.4.2 can no longer use the published signatures: they need functionality \
             level 240, this engine has 212 (upgrade ClamAV)"
        );
        let (_, text) = judge("1.4.3", Some(&high), None, &mut d).unwrap();
        assert!(text.contains("this engine has at most 229"), "{text}");
        // The local header alone tells too (DNS down).
        let (state, _) = judge("0.99.4", None, Some(90), &mut d).unwrap();
        assert_eq!(state, ServiceState::Critical);
        // Uncertain is not CRITICAL: 1.4.3 may have 213 or more, a release after the chart
        // anything.
        assert!(judge("1.4.3", Some(&info("1.4.3:62:1:1:1:213")), None, &mut d).is_none());
        assert!(judge("9.0.0", Some(&high), None, &mut d).is_none());
        // An engine name the check cannot place says nothing.
        assert_eq!(judge("x", Some(&high), Some(90), &mut d), None);
        assert!(
            d.iter()
                .any(|l| l.contains("functionality level 212 to 229"))
        );
    }
}
