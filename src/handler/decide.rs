//! Whether to repair: a pure function of the trigger and the facts, so every case is
//! unit-tested. Each decision carries the reason that goes into its audit line.

use crate::nagios::{ServiceState, StateType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Nagios/Icinga event handler call.
    Handle {
        state: ServiceState,
        state_type: StateType,
        attempt: u32,
    },
    /// NRPE self-heal: the local check's state, treated as HARD.
    Heal { state: ServiceState },
    /// An admin's `repair`: no state, bypasses the rate limit.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    pub(crate) now: i64,
    /// Another repair holds the lock.
    pub(crate) running: bool,
    /// When the last repair finished (epoch seconds).
    pub(crate) last_finished: Option<i64>,
    /// freshclam.dat's active cool-down end, if any.
    pub(crate) cooldown_until: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) soft_attempt: u32,
    pub(crate) rate_limit_secs: u64,
    pub(crate) respect_cooldown: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Repair { reason: String },
    Skip { reason: String },
}

impl Decision {
    pub(crate) fn is_repair(&self) -> bool {
        matches!(self, Decision::Repair { .. })
    }
    pub(crate) fn reason(&self) -> &str {
        match self {
            Decision::Repair { reason } | Decision::Skip { reason } => reason,
        }
    }
}

/// How far in the future a last-repair time may lie (clock slew) and still count.
pub(crate) const CLOCK_SLACK_SECS: i64 = 60;

pub(crate) fn decide(trigger: Trigger, facts: &Facts, policy: &Policy) -> Decision {
    let skip = |r: String| Decision::Skip { reason: r };
    let why = match trigger {
        Trigger::Handle {
            state,
            state_type,
            attempt,
        } => {
            if matches!(state, ServiceState::Ok | ServiceState::Unknown) {
                return skip(format!("state {state}: nothing to repair"));
            }
            if state_type == StateType::Soft && attempt < policy.soft_attempt {
                return skip(format!(
                    "{state} SOFT attempt {attempt} below soft_attempt {}",
                    policy.soft_attempt
                ));
            }
            format!("{state} {state_type} attempt {attempt}")
        }
        Trigger::Heal { state } => {
            if matches!(state, ServiceState::Ok | ServiceState::Unknown) {
                return skip(format!("check {state}: nothing to repair"));
            }
            format!("check {state}")
        }
        Trigger::Admin => "admin request".to_string(),
    };
    if facts.running {
        return skip("a repair is already running".into());
    }
    // A record from well in the future means the clock was stepped back (or the record is
    // bogus): honouring it would block every repair until the clock catches up.
    let trusted_last = facts
        .last_finished
        .filter(|l| *l <= facts.now.saturating_add(CLOCK_SLACK_SECS));
    if let Some(last) = trusted_last {
        let next = last.saturating_add(policy.rate_limit_secs as i64);
        if facts.now < next {
            if trigger == Trigger::Admin {
                return Decision::Repair {
                    reason: format!("{why}; rate limit bypassed (last repair {last})"),
                };
            }
            return skip(format!(
                "rate limit: last repair finished at {last}, next allowed at {next}"
            ));
        }
    }
    if let Some(until) = facts.cooldown_until.filter(|u| *u > facts.now) {
        if policy.respect_cooldown {
            return skip(format!("freshclam CDN cool-down until {until}"));
        }
        return Decision::Repair {
            reason: format!("{why}; cool-down until {until} overridden"),
        };
    }
    Decision::Repair { reason: why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceState::*;
    use StateType::*;

    const P: Policy = Policy {
        soft_attempt: 2,
        rate_limit_secs: 900,
        respect_cooldown: true,
    };
    const F: Facts = Facts {
        now: 10_000,
        running: false,
        last_finished: None,
        cooldown_until: None,
    };

    fn h(state: ServiceState, state_type: StateType, attempt: u32) -> Trigger {
        Trigger::Handle {
            state,
            state_type,
            attempt,
        }
    }

    #[test]
    fn states() {
        for st in [Ok, Unknown] {
            for t in [Soft, Hard] {
                assert!(!decide(h(st, t, 3), &F, &P).is_repair());
            }
        }
        for st in [Warning, Critical] {
            assert!(decide(h(st, Hard, 1), &F, &P).is_repair(), "HARD always");
            assert!(
                !decide(h(st, Soft, 1), &F, &P).is_repair(),
                "SOFT below threshold"
            );
            assert!(decide(h(st, Soft, 2), &F, &P).is_repair());
            assert!(decide(h(st, Soft, 3), &F, &P).is_repair());
        }
        let p1 = Policy {
            soft_attempt: 1,
            ..P
        };
        assert!(decide(h(Critical, Soft, 1), &F, &p1).is_repair());
    }

    #[test]
    fn single_flight() {
        let f = Facts { running: true, ..F };
        let d = decide(h(Critical, Hard, 1), &f, &P);
        assert_eq!(d.reason(), "a repair is already running");
        assert!(!decide(Trigger::Admin, &f, &P).is_repair());
    }

    #[test]
    fn rate_limit() {
        let recent = Facts {
            last_finished: Some(F.now - 899),
            ..F
        };
        assert!(
            decide(h(Critical, Hard, 1), &recent, &P)
                .reason()
                .starts_with("rate limit")
        );
        assert!(!decide(Trigger::Heal { state: Critical }, &recent, &P).is_repair());
        let d = decide(Trigger::Admin, &recent, &P);
        assert!(d.is_repair() && d.reason().contains("bypassed"));
        let old = Facts {
            last_finished: Some(F.now - 900),
            ..F
        };
        assert!(decide(h(Critical, Hard, 1), &old, &P).is_repair());
    }

    #[test]
    fn last_repair_in_the_future_does_not_block_forever() {
        let stepped_back = Facts {
            last_finished: Some(F.now + 30 * 86400),
            ..F
        };
        assert!(decide(h(Critical, Hard, 1), &stepped_back, &P).is_repair());
        let slew = Facts {
            last_finished: Some(F.now + 5),
            ..F
        };
        assert!(!decide(h(Critical, Hard, 1), &slew, &P).is_repair());
    }

    #[test]
    fn cooldown() {
        let f = Facts {
            cooldown_until: Some(F.now + 60),
            ..F
        };
        assert!(
            decide(h(Warning, Hard, 1), &f, &P)
                .reason()
                .contains("cool-down")
        );
        assert!(!decide(h(Warning, Hard, 1), &f, &P).is_repair());
        let over = Policy {
            respect_cooldown: false,
            ..P
        };
        let d = decide(h(Warning, Hard, 1), &f, &over);
        assert!(d.is_repair() && d.reason().contains("overridden"));
        let past = Facts {
            cooldown_until: Some(F.now - 1),
            ..F
        };
        assert!(decide(h(Warning, Hard, 1), &past, &P).is_repair());
    }

    #[test]
    fn heal_is_hard() {
        assert!(decide(Trigger::Heal { state: Warning }, &F, &P).is_repair());
        assert!(!decide(Trigger::Heal { state: Ok }, &F, &P).is_repair());
        assert!(!decide(Trigger::Heal { state: Unknown }, &F, &P).is_repair());
    }
}
