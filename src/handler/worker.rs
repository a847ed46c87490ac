//! The detached worker (`clamav-freshen worker`, started only by ourselves with the repair
//! lock on fd 3), and the ladder's bookkeeping it shares with `repair --wait`.

use crate::handler::decide::next_allowed;
use crate::handler::error::HandlerError;
use crate::handler::flight;
use crate::handler::flow::Env;
use crate::handler::ladder::{self, Report};
use crate::handler::state::LastRepair;
use crate::handler::when;
use std::fs::File;

/// Runs the ladder, then records the result (with the count of consecutive failures the
/// backoff runs on) and asks the monitor for a re-check. The caller holds the lock.
pub(crate) fn run_ladder(env: &Env) -> Report {
    let now = || env.p.clock.now();
    let before = env.p.state.last();
    let report = ladder::repair(&env.ladder_ctx(&now));
    let failures = if report.outcome.is_success() {
        0
    } else {
        before.map_or(0, |r| r.failures).saturating_add(1)
    };
    let next = next_allowed(report.finished, failures, &env.policy());
    let rec = LastRepair {
        started: report.started,
        finished: report.finished,
        outcome: report.outcome.to_string(),
        failures,
        next_allowed: Some(next),
    };
    let r = env.p.state.save(&rec);
    env.p.audit.event(
        "state",
        &[
            (
                "result",
                &r.map_or_else(|e| format!("error: {e}"), |_| "saved".into()),
            ),
            ("failures", &failures),
            ("next_allowed", &when::stamp(next)),
        ],
    );
    let (sent, file) = env.p.monitor.request_recheck(env.p.clock.now());
    env.p
        .audit
        .event("nagios-recheck", &[("result", &sent), ("file", &file)]);
    report
}

/// The worker's whole life: prove the inherited descriptor is the held lock, repair,
/// release. Exit 0 when the database is updated or current.
pub(crate) fn worker(env: &Env, lock: Option<File>) -> Result<i32, HandlerError> {
    let Some(lock) = lock else {
        return Err(HandlerError::Refused(
            "worker: internal command, not started by clamav-freshen".into(),
        ));
    };
    if !flight::is_held_lock(&lock, &env.paths.run_dir, &env.paths.lock) {
        return Err(HandlerError::Refused(
            "worker: inherited fd is not the held repair lock".into(),
        ));
    }
    flight::record_holder(&lock);
    let report = run_ladder(env);
    drop(lock);
    Ok(if report.outcome.is_success() { 0 } else { 1 })
}
