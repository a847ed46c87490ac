//! Nagios plugin states and event-handler macros, parsed strictly.

use std::fmt;
use std::str::FromStr;

/// `$SERVICESTATE$`, and a plugin's result with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ServiceState {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl ServiceState {
    /// The plugin exit code Nagios maps to this state.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            ServiceState::Ok => 0,
            ServiceState::Warning => 1,
            ServiceState::Critical => 2,
            ServiceState::Unknown => 3,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warning => "WARNING",
            ServiceState::Critical => "CRITICAL",
            ServiceState::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word of the monitor's (`$SERVICESTATE$`, `$SERVICESTATETYPE$`, `$SERVICEATTEMPT$`)
/// outside the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadArgument {
    #[error("STATE must be OK, WARNING, CRITICAL or UNKNOWN")]
    State,
    #[error("STATETYPE must be SOFT or HARD")]
    StateType,
    #[error("ATTEMPT must be a whole number from 1 to {MAX_ATTEMPT}")]
    Attempt,
}

impl FromStr for ServiceState {
    type Err = BadArgument;
    /// Exactly the words Nagios and Icinga pass; no case folding, no abbreviations.
    fn from_str(s: &str) -> Result<Self, BadArgument> {
        match s {
            "OK" => Ok(ServiceState::Ok),
            "WARNING" => Ok(ServiceState::Warning),
            "CRITICAL" => Ok(ServiceState::Critical),
            "UNKNOWN" => Ok(ServiceState::Unknown),
            _ => Err(BadArgument::State),
        }
    }
}

/// `$SERVICESTATETYPE$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StateType {
    Soft,
    Hard,
}

impl StateType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        }
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StateType {
    type Err = BadArgument;
    fn from_str(s: &str) -> Result<Self, BadArgument> {
        match s {
            "SOFT" => Ok(StateType::Soft),
            "HARD" => Ok(StateType::Hard),
            _ => Err(BadArgument::StateType),
        }
    }
}

/// Largest `$SERVICEATTEMPT$` accepted; Nagios' max_check_attempts is small in practice.
pub(crate) const MAX_ATTEMPT: u32 = 999;

/// `$SERVICEATTEMPT$`: 1..=999 in plain decimal, no sign, no leading zero.
pub(crate) fn parse_attempt(s: &str) -> Result<u32, BadArgument> {
    let ok = !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && !s.starts_with('0');
    ok.then(|| s.parse().ok())
        .flatten()
        .filter(|n| (1..=MAX_ATTEMPT).contains(n))
        .ok_or(BadArgument::Attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_exact() {
        assert_eq!(
            "CRITICAL".parse::<ServiceState>(),
            Ok(ServiceState::Critical)
        );
        for bad in ["critical", "CRIT", " OK", "OK ", "", "OK;rm -rf /"] {
            assert!(bad.parse::<ServiceState>().is_err(), "{bad:?}");
        }
        assert_eq!("HARD".parse::<StateType>(), Ok(StateType::Hard));
        assert!("hard".parse::<StateType>().is_err());
    }

    #[test]
    fn attempts() {
        assert_eq!(parse_attempt("1"), Ok(1));
        assert_eq!(parse_attempt("999"), Ok(999));
        for bad in ["0", "01", "-1", "+1", "1000", "", "1.0", "1 ", "٣"] {
            assert!(parse_attempt(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(ServiceState::Ok.exit_code(), 0);
        assert_eq!(ServiceState::Unknown.exit_code(), 3);
    }
}
