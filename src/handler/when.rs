//! Times as the handler shows them: `2026-12-01 23:59 UTC (12 min ago)` for people
//! (`status`), `2026-12-01T23:59:30Z` in audit lines (one token, sortable).

use crate::check::plugin::{civil_from_days, format_utc};

/// `2026-12-01T23:59:30Z`.
pub(crate) fn stamp(epoch: i64) -> String {
    let (y, m, d) = civil_from_days(epoch.div_euclid(86400));
    let s = epoch.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `2026-12-01 23:59 UTC (12 min ago)`, `... (in 3h 5m)`, `... (now)`.
pub(crate) fn with_age(epoch: i64, now: i64) -> String {
    let d = now.saturating_sub(epoch);
    let rel = match d {
        0 => "now".to_string(),
        1.. => format!("{} ago", span(d)),
        _ => format!("in {}", span(d.saturating_neg())),
    };
    format!("{} ({rel})", format_utc(epoch))
}

/// `40 s`, `12 min`, `3h 5m`, `2d 4h`.
pub(crate) fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(stamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(stamp(1_796_169_599), "2026-12-01T23:59:59Z");
        assert_eq!(stamp(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn ages() {
        let t = 1_796_169_540; // 2026-12-01 23:59 UTC
        assert_eq!(with_age(t, t + 720), "2026-12-01 23:59 UTC (12 min ago)");
        assert_eq!(with_age(t, t), "2026-12-01 23:59 UTC (now)");
        assert_eq!(with_age(t, t - 11_100), "2026-12-01 23:59 UTC (in 3h 5m)");
        assert_eq!(with_age(t, t + 59), "2026-12-01 23:59 UTC (59 s ago)");
        assert_eq!(
            with_age(t, t + 2 * 86400 + 4 * 3600),
            "2026-12-01 23:59 UTC (2d 4h ago)"
        );
        assert_eq!(span(i64::MIN), "0 s");
    }
}
