//! What every subcommand shares: the ports with the configuration, and the one
//! decide-under-lock step (take the lock → recover an interrupted repair → gather facts →
//! decide → audit the decision).

use crate::check::plugin::CheckReport;
use crate::clamav::freshclam_dat::Cooldown;
use crate::handler::config::Config;
use crate::handler::decide::{Decision, Facts, Policy, Trigger, allowed_from, decide};
use crate::handler::flight::LockUnusable;
use crate::handler::ladder::{self, Ctx};
use crate::handler::paths::Paths;
use crate::handler::ports::{Held, Ports};
use crate::handler::when;
use std::time::Duration;

pub(crate) struct Env<'a> {
    pub(crate) p: Ports<'a>,
    pub(crate) cfg: &'a Config,
    pub(crate) paths: &'a Paths,
    /// How this process was started (who triggers a repair, for the record).
    pub(crate) via: crate::handler::origin::Via,
}

/// A decision, with the lock when we hold it (a repair may then start under it).
pub(crate) struct Decided {
    pub(crate) decision: Decision,
    pub(crate) lock: Option<Box<dyn Held>>,
}

impl Env<'_> {
    pub(crate) fn policy(&self) -> Policy {
        Policy {
            soft_attempt: self.cfg.soft_attempt,
            rate_limit_secs: self.cfg.rate_limit_secs,
            respect_cooldown: self.cfg.respect_cooldown,
            backoff_max_secs: self.cfg.backoff_max_secs,
        }
    }

    /// The ladder's context; `now` is borrowed from the caller (a closure over the clock).
    pub(crate) fn ladder_ctx<'b>(&'b self, now: &'b dyn Fn() -> i64) -> Ctx<'b> {
        Ctx {
            audit: self.p.audit,
            svc: self.p.svc,
            fc: self.p.freshclam,
            freshclam_conf: self.paths.map(&self.cfg.freshclam_conf),
            scope: crate::handler::scope::Scope::new(self.cfg, self.paths),
            marker: self.paths.marker.clone(),
            stop_timeout: Duration::from_secs(self.cfg.stop_timeout_secs),
            repair_timeout: Duration::from_secs(self.cfg.repair_timeout_secs),
            start_verify: Duration::from_secs(self.cfg.start_verify_secs),
            now,
            stop: self.p.stop,
        }
    }

    /// After a SIGKILLed worker: the marker is there and nobody holds the lock, so the
    /// daemon it stopped must be started. `held`: our own lock, when we already hold it.
    pub(crate) fn recover_if_needed(&self, held: Option<&dyn Held>) {
        if !self.p.lock.marker_present() {
            return;
        }
        let _guard = match held {
            Some(_) => None,
            None => match self.p.lock.try_acquire() {
                Ok(Some(l)) => Some(l),
                // A live repair owns the marker.
                _ => return,
            },
        };
        self.p.audit.event(
            "recover",
            &[
                (
                    "reason",
                    &"daemon-stopped marker left by an interrupted repair",
                ),
                ("mode", &self.p.svc.mode().as_str()),
            ],
        );
        let now = || self.p.clock.now();
        ladder::recover(&self.ladder_ctx(&now));
    }

    /// One audit line per decision: `action=repair|skip reason=...` plus `extra`.
    pub(crate) fn audit_decision(
        &self,
        decision: &Decision,
        extra: &[(&str, &dyn std::fmt::Display)],
    ) {
        let action = if decision.is_repair() {
            "repair"
        } else {
            "skip"
        };
        let reason = decision.reason();
        let mut fields: Vec<(&str, &dyn std::fmt::Display)> =
            vec![("action", &action), ("reason", &reason)];
        fields.extend_from_slice(extra);
        self.p.audit.event("decision", &fields);
    }

    /// With `check_compare_dns`: the mirror's lag behind DNS when that is the filter's only
    /// problem (the built-in check says so); then a repair cannot help.
    fn mirror_lag_only(&self, known: Option<&CheckReport>) -> Option<u32> {
        if !self.cfg.check_compare_dns {
            return None;
        }
        match known {
            Some(r) => r.mirror_lag,
            None => self.p.checker.check(self.p.clock.now()).ok()?.mirror_lag,
        }
    }

    /// An active cool-down's end; a bogus one (more than 48 h away: freshclam.dat is the
    /// clamav user's file) is audited and not obeyed.
    pub(crate) fn cooldown_until(&self, now: i64) -> Option<i64> {
        match self.p.db.cooldown(now) {
            Cooldown::None => None,
            Cooldown::Until(t) => Some(t),
            Cooldown::Bogus(t) => {
                self.p.audit.event(
                    "freshclam-dat",
                    &[
                        ("result", &"bogus"),
                        ("retry_after", &t),
                        ("reason", &"cool-down more than 48 h away: not obeyed"),
                    ],
                );
                None
            }
        }
    }

    /// The decide-under-lock step. `Err` when the lock cannot be used at all (audited).
    /// `known`: the built-in check's report when the caller has one (heal), so that the
    /// mirror question does not ask the network twice.
    pub(crate) fn decide(
        &self,
        trigger: Trigger,
        extra: &[(&str, &dyn std::fmt::Display)],
        known: Option<&CheckReport>,
    ) -> Result<Decided, LockUnusable> {
        let lock = self.p.lock.acquire().map_err(|source| {
            let e = LockUnusable {
                path: self.paths.lock.clone(),
                source,
            };
            self.p
                .audit
                .event("decision", &[("action", &"error"), ("reason", &e)]);
            e
        })?;
        if let Some(l) = &lock {
            self.recover_if_needed(Some(l.as_ref()));
        }
        let now = self.p.clock.now();
        let last = self.p.state.last();
        let facts = Facts {
            now,
            running: lock.is_none(),
            last_finished: last.as_ref().map(|r| r.finished),
            failures: last.as_ref().map_or(0, |r| r.failures),
            cooldown_until: self.cooldown_until(now),
        };
        let policy = self.policy();
        let mut decision = decide(trigger, &facts, &policy);
        if decision.is_repair()
            && trigger != Trigger::Admin
            && let Some(lag) = self.mirror_lag_only(known)
        {
            decision = Decision::Skip {
                reason: format!(
                    "mirror-lag: this filter is as current as its mirror, which lags the \
                     published daily by {lag}: repair the mirror"
                ),
            };
        }
        // The backoff's state at every decision: how many failures, when the next repair
        // may start.
        let next = when::stamp(allowed_from(&facts, &policy));
        let mut fields: Vec<(&str, &dyn std::fmt::Display)> = extra.to_vec();
        fields.push(("failures", &facts.failures));
        fields.push(("next_allowed", &next));
        self.audit_decision(&decision, &fields);
        Ok(Decided { decision, lock })
    }
}
