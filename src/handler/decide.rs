//! Whether to repair: a pure function of the trigger and the facts, so every case is
//! unit-tested. Each decision carries the reason that goes into its audit line.
//!
//! One policy for every trigger (monitor event, NRPE `heal`, the heal timer): single
//! flight, then the wait after the last repair — `rate_limit_secs`, doubled for each
//! consecutive failure beyond the first up to `backoff_max_secs`, reset by a success — then
//! an active CDN cool-down. Only an admin's `repair` skips the wait.

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
    /// Consecutive failed repairs up to and including the last one (0: it succeeded).
    pub(crate) failures: u32,
    /// freshclam.dat's active cool-down end, if any.
    pub(crate) cooldown_until: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) soft_attempt: u32,
    pub(crate) rate_limit_secs: u64,
    pub(crate) respect_cooldown: bool,
    /// Cap on the doubled wait after consecutive failures (never below the rate limit).
    pub(crate) backoff_max_secs: u64,
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

/// The wait after a repair that ended the `failures`-th consecutive failure (0: after a
/// success): `rate_limit_secs`, then 2×, 4×, … up to `backoff_max_secs`, never below
/// `rate_limit_secs`.
pub(crate) fn wait_secs(failures: u32, policy: &Policy) -> u64 {
    let base = policy.rate_limit_secs;
    let doublings = failures.saturating_sub(1).min(63);
    let backed_off = base
        .checked_shl(doublings)
        .filter(|w| w >> doublings == base);
    backed_off
        .unwrap_or(u64::MAX)
        .min(policy.backoff_max_secs)
        .max(base)
}

/// When the next repair is allowed after one that finished at `last_finished`.
pub(crate) fn next_allowed(last_finished: i64, failures: u32, policy: &Policy) -> i64 {
    // Both bounded by the config (one year), so this neither overflows nor wraps.
    last_finished.saturating_add(wait_secs(failures, policy) as i64)
}

/// The last repair's end, unless it lies well in the future: then the clock was stepped
/// back (or the record is bogus), and honouring it would block every repair until the clock
/// catches up.
fn trusted_last(facts: &Facts) -> Option<i64> {
    facts
        .last_finished
        .filter(|l| *l <= facts.now.saturating_add(CLOCK_SLACK_SECS))
}

/// When the wait after the last repair ends: `facts.now` when there is none to honour.
pub(crate) fn allowed_from(facts: &Facts, policy: &Policy) -> i64 {
    trusted_last(facts).map_or(facts.now, |l| next_allowed(l, facts.failures, policy))
}

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
    if let Some(last) = trusted_last(facts) {
        let next = next_allowed(last, facts.failures, policy);
        if facts.now < next {
            if trigger == Trigger::Admin {
                return Decision::Repair {
                    reason: format!("{why}; rate limit bypassed (last repair {last})"),
                };
            }
            let backoff = match facts.failures {
                0 | 1 => String::new(),
                n => format!(
                    " (backoff after {n} consecutive failures: {}s)",
                    wait_secs(n, policy)
                ),
            };
            return skip(format!(
                "rate limit: last repair finished at {last}, next allowed at {next}{backoff}"
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
        backoff_max_secs: 6 * 3600,
    };
    const F: Facts = Facts {
        now: 10_000,
        running: false,
        last_finished: None,
        failures: 0,
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

    #[test]
    fn backoff_schedule() {
        // After a success and after the first failure: the rate limit; then doubling.
        let waits: Vec<u64> = (0..=7).map(|n| wait_secs(n, &P)).collect();
        assert_eq!(
            waits,
            [900, 900, 1800, 3600, 7200, 14400, 21600, 21600],
            "capped at backoff_max_secs (6 h)"
        );
        assert_eq!(wait_secs(u32::MAX, &P), 21600, "no overflow");
        let tiny_cap = Policy {
            backoff_max_secs: 60,
            ..P
        };
        assert_eq!(wait_secs(5, &tiny_cap), 900, "never below the rate limit");
        let none = Policy {
            rate_limit_secs: 0,
            ..P
        };
        assert_eq!(wait_secs(9, &none), 0, "no rate limit, no backoff");
        let year = Policy {
            rate_limit_secs: 366 * 86400,
            backoff_max_secs: 366 * 86400,
            ..P
        };
        assert_eq!(wait_secs(40, &year), 366 * 86400);
        assert_eq!(next_allowed(1000, 3, &P), 1000 + 3600);
        let f = Facts {
            last_finished: Some(F.now - 100),
            failures: 2,
            ..F
        };
        assert_eq!(allowed_from(&f, &P), F.now + 1700);
        assert_eq!(allowed_from(&F, &P), F.now, "no record: at once");
        let future = Facts {
            last_finished: Some(F.now + 86400),
            ..f
        };
        assert_eq!(
            allowed_from(&future, &P),
            F.now,
            "a record from the future is ignored"
        );
    }

    #[test]
    fn backoff_holds_every_trigger_but_the_admin_and_a_success_resets_it() {
        // Three failures in a row, the last finished 3000 s ago: the wait is 3600 s.
        let f = Facts {
            last_finished: Some(F.now - 3000),
            failures: 3,
            ..F
        };
        for t in [h(Critical, Hard, 1), Trigger::Heal { state: Critical }] {
            let d = decide(t, &f, &P);
            assert!(!d.is_repair(), "{d:?}");
            assert_eq!(
                d.reason(),
                "rate limit: last repair finished at 7000, next allowed at 10600 \
                 (backoff after 3 consecutive failures: 3600s)"
            );
        }
        assert!(decide(Trigger::Admin, &f, &P).is_repair());
        let later = Facts {
            now: F.now + 600,
            ..f
        };
        assert!(decide(h(Critical, Hard, 1), &later, &P).is_repair());
        // The same age after a success: only the rate limit, long past.
        let ok = Facts { failures: 0, ..f };
        assert!(decide(h(Critical, Hard, 1), &ok, &P).is_repair());
    }

    #[test]
    fn a_cool_down_is_respected_after_the_backoff_too() {
        let f = Facts {
            last_finished: Some(F.now - 86400),
            failures: 9,
            cooldown_until: Some(F.now + 10),
            ..F
        };
        let d = decide(Trigger::Heal { state: Critical }, &f, &P);
        assert!(!d.is_repair() && d.reason().contains("cool-down"), "{d:?}");
        let d = decide(Trigger::Admin, &f, &P);
        assert!(!d.is_repair(), "the admin waits for a cool-down too: {d:?}");
    }

    #[test]
    fn triggers_every_minute_against_a_dead_mirror_follow_the_schedule() {
        // A monitor event and a heal every minute for two days, every repair failing after
        // 30 s: the repairs start exactly when the schedule allows, never closer.
        let mut last: Option<i64> = None;
        let mut failures = 0;
        let mut starts = Vec::new();
        let t0 = 1_000_000;
        for minute in 0..2 * 24 * 60 {
            let now = t0 + minute * 60;
            for t in [h(Critical, Hard, 3), Trigger::Heal { state: Critical }] {
                let f = Facts {
                    now,
                    last_finished: last,
                    failures,
                    ..F
                };
                if decide(t, &f, &P).is_repair() {
                    starts.push(now);
                    last = Some(now + 30);
                    failures += 1;
                }
            }
        }
        let gaps: Vec<i64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        // wait after the end (+30 s), rounded up to the next minute
        assert_eq!(
            &gaps[..6],
            [960, 1860, 3660, 7260, 14460, 21660],
            "{starts:?}"
        );
        assert!(gaps[6..].iter().all(|g| *g == 21660), "{gaps:?}");
        assert_eq!(starts.len(), 12, "two days: 12 repairs, not 5760");
    }
}
