//! Is a local daily that is *ahead* of the published one believable?
//!
//! Being a little ahead is normal: ClamAV publishes a few dailies a day (1 to 4 in recent
//! years), freshclam may fetch one from the mirror before the TXT record
//! `current.cvd.clamav.net` says so, and the record may lag the mirror by hours. Being far
//! ahead, or ahead with an old build, is not: a header claiming 4294967295, or one built in
//! 1970 while claiming to be newer than what was published, is a corrupt or planted file,
//! and "newer than published" must not turn it into an OK.

/// The most revisions a local daily may be ahead of the published one: 8, two days of
/// ClamAV's fastest publishing (4 a day) behind a TXT record that lags by as much. Real
/// leads are 1, rarely 2.
pub(crate) const MAX_AHEAD: u32 = 8;
/// A daily ahead of the published one was built after it, hence recently: no more than
/// 48 h ago (the record lags the mirror by hours, not days; also `--max-age`'s default).
pub(crate) const MAX_AHEAD_AGE_SECS: i64 = 48 * 3600;
/// Nor in the future beyond this clock skew between ClamAV's builder and this host: 24 h.
pub(crate) const MAX_FUTURE_SECS: i64 = 24 * 3600;

/// Why `local` (built at `built`, epoch seconds) cannot be ahead of `published` at `now`;
/// None when it is not ahead or plausibly so. Terse: the check's text goes on with the
/// build time.
pub(crate) fn implausible_lead(
    local: u32,
    published: u32,
    built: Option<i64>,
    now: i64,
) -> Option<String> {
    let ahead = local.checked_sub(published).filter(|a| *a > 0)?;
    if ahead > MAX_AHEAD {
        return Some(format!(
            "{ahead} revisions ahead of the published {published} (at most {MAX_AHEAD} expected)"
        ));
    }
    let Some(built) = built else {
        return Some(format!(
            "ahead of the published {published} without a build time"
        ));
    };
    if now.saturating_sub(built) > MAX_AHEAD_AGE_SECS {
        return Some(format!(
            "ahead of the published {published} but older than {}h",
            MAX_AHEAD_AGE_SECS / 3600
        ));
    }
    if built.saturating_sub(now) > MAX_FUTURE_SECS {
        return Some(format!(
            "ahead of the published {published} but built in the future"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn small_recent_leads_are_fine() {
        for (local, built) in [
            (100, Some(0)), // not ahead: age is not this rule's business
            (99, None),
            (101, Some(NOW - 3600)),
            (108, Some(NOW - MAX_AHEAD_AGE_SECS)),
            (101, Some(NOW + MAX_FUTURE_SECS)),
        ] {
            assert_eq!(implausible_lead(local, 100, built, NOW), None, "{local}");
        }
    }

    #[test]
    fn far_old_unknown_or_future_leads_are_implausible() {
        let r = |l, b| implausible_lead(l, 27472, b, NOW).unwrap();
        assert_eq!(
            r(u32::MAX, Some(NOW)),
            "4294939823 revisions ahead of the published 27472 (at most 8 expected)"
        );
        assert_eq!(
            r(27481, Some(NOW)),
            "9 revisions ahead of the published 27472 (at most 8 expected)"
        );
        assert_eq!(
            r(27473, Some(0)),
            "ahead of the published 27472 but older than 48h"
        );
        assert_eq!(
            r(27473, Some(NOW - MAX_AHEAD_AGE_SECS - 1)),
            "ahead of the published 27472 but older than 48h"
        );
        assert_eq!(
            r(27473, None),
            "ahead of the published 27472 without a build time"
        );
        assert_eq!(
            r(27473, Some(NOW + MAX_FUTURE_SECS + 1)),
            "ahead of the published 27472 but built in the future"
        );
        assert!(implausible_lead(u32::MAX, 0, Some(i64::MIN), i64::MAX).is_some());
        assert!(implausible_lead(1, 0, Some(i64::MAX), i64::MIN).is_some());
    }
}
