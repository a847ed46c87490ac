//! Monitoring Plugins threshold ranges (`10`, `10:`, `~:10`, `@10:20`).
//!
//! Grammar (Monitoring Plugins development guidelines): `[@]start:end`, `start` defaults to 0
//! and `~` means minus infinity, an empty `end` means plus infinity. Without `@` the range
//! alerts when the value is OUTSIDE `start..=end`; with `@` when it is inside.

use std::fmt;
use std::str::FromStr;

/// A threshold range; `alerts(v)` is true when `v` should raise the state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Range {
    /// None = minus infinity (`~`).
    pub(crate) start: Option<f64>,
    /// None = plus infinity (empty end).
    pub(crate) end: Option<f64>,
    /// `@`: alert inside the range instead of outside.
    pub(crate) inside: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid range {text:?}: {reason}")]
pub(crate) struct RangeError {
    pub(crate) text: String,
    pub(crate) reason: &'static str,
}

impl Range {
    /// `0:end`, the range a bare number means.
    pub(crate) fn upto(end: f64) -> Self {
        Range {
            start: Some(0.0),
            end: Some(end),
            inside: false,
        }
    }

    pub(crate) fn alerts(&self, v: f64) -> bool {
        let within = self.start.is_none_or(|s| v >= s) && self.end.is_none_or(|e| v <= e);
        within == self.inside
    }
}

fn number(s: &str) -> Result<f64, &'static str> {
    // f64::from_str also takes "nan", "inf" and "1e5"; the grammar has none of them.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b"+-.".contains(&b)) {
        return Err("not a number");
    }
    let v: f64 = s.parse().map_err(|_| "not a number")?;
    if !v.is_finite() {
        return Err("number out of range");
    }
    Ok(v)
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, RangeError> {
        let err = |reason| RangeError {
            text: text.to_string(),
            reason,
        };
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return Err(err("empty"));
        }
        let (start, end) = match body.split_once(':') {
            None => (Some(0.0), Some(number(body).map_err(err)?)),
            Some((s, e)) => {
                let start = match s {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(number(s).map_err(err)?),
                };
                let end = match e {
                    "" => None,
                    e => Some(number(e).map_err(err)?),
                };
                (start, end)
            }
        };
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(err("start is greater than end"));
        }
        Ok(Range { start, end, inside })
    }
}

/// The canonical text, as used in perfdata's warn/crit fields.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (Some(s), Some(e)) if s == 0.0 && !self.inside => write!(f, "{e}"),
            (Some(s), end) => {
                write!(f, "{s}:")?;
                end.map_or(Ok(()), |e| write!(f, "{e}"))
            }
            (None, end) => {
                f.write_str("~:")?;
                end.map_or(Ok(()), |e| write!(f, "{e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn bare_number_alerts_outside_zero_to_n() {
        let x = r("10");
        assert_eq!(
            x,
            Range {
                start: Some(0.0),
                end: Some(10.0),
                inside: false
            }
        );
        assert!(x.alerts(-1.0));
        assert!(!x.alerts(0.0));
        assert!(!x.alerts(10.0));
        assert!(x.alerts(11.0));
    }

    #[test]
    fn open_ended_and_inside_forms() {
        let below = r("10:");
        assert!(below.alerts(9.0) && !below.alerts(10.0) && !below.alerts(1e9));
        let above = r("~:10");
        assert!(!above.alerts(-1e9) && !above.alerts(10.0) && above.alerts(10.5));
        let inside = r("@10:20");
        assert!(!inside.alerts(9.0) && inside.alerts(10.0) && inside.alerts(20.0));
        assert!(!inside.alerts(21.0));
        let between = r("10:20");
        assert!(between.alerts(9.0) && !between.alerts(15.0) && between.alerts(21.0));
        let at = r("@5");
        assert!(at.alerts(0.0) && at.alerts(5.0) && !at.alerts(6.0));
        assert_eq!(r(":5"), Range::upto(5.0));
        assert!(r("-5:-1").alerts(0.0));
        assert!(!r("0.5:1.5").alerts(1.0));
    }

    #[test]
    fn defaults_match_check_clamav() {
        // -w 0 -c 1: one revision behind warns, two or more is critical.
        let (w, c) = (r("0"), r("1"));
        assert!(!w.alerts(0.0) && !c.alerts(0.0));
        assert!(w.alerts(1.0) && !c.alerts(1.0));
        assert!(c.alerts(2.0));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "@", "20:10", "@20:10", "abc", "1:2:3", "nan", "NaN", "inf", "-inf", "1e3", "10:~",
            "~", "1..2", "--1", "1 ", " 1", "0x10", "١٠", "1e400", "10:nan",
        ] {
            assert!(bad.parse::<Range>().is_err(), "{bad:?} should be rejected");
        }
        let e = "20:10".parse::<Range>().unwrap_err();
        assert!(e.to_string().contains("start is greater than end"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for s in ["10", "10:", "~:10", "@10:20", "10:20", "~:", "1.5", "@0:5"] {
            let x = r(s);
            assert_eq!(r(&x.to_string()), x, "{s} -> {x}");
        }
        assert_eq!(r("0").to_string(), "0");
        assert_eq!(r("~:10").to_string(), "~:10");
        assert_eq!(r("@10:20").to_string(), "@10:20");
    }
}
