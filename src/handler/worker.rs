//! The detached worker (`clamav-freshen worker`, started only by ourselves with the repair
//! lock on fd 3), and the ladder's bookkeeping it shares with `repair --wait`.

use crate::handler::decide::next_allowed;
use crate::handler::error::HandlerError;
use crate::handler::flight;
use crate::handler::flow::Env;
use crate::handler::ladder::{self, Outcome, Report};
use crate::handler::origin::By;
use crate::handler::reload::ASK;
use crate::handler::reload::{self, Sync};
use crate::handler::state::LastRepair;
use crate::handler::when;
use std::fs::File;
use std::time::{Duration, Instant};

fn sync_scanner(env: &Env, files: u32) -> Sync {
    reload::sync(
        env.p.audit,
        env.p.scanner,
        files,
        Duration::from_secs(env.cfg.clamd_reload_secs),
        &std::thread::sleep,
    )
}

/// A repair that only clamd needs: the files are as new as the published daily (the
/// built-in check says lag 0) but clamd has an older one loaded. Then freshclam and its
/// daemon are left alone and clamd is made to reload. `None`: the full repair is needed
/// (or clamd is absent, or cannot tell: the ladder's end names that).
fn clamd_lag_only(env: &Env) -> Option<(Report, Sync)> {
    env.p.scanner.endpoint().ok()??;
    let (files, _, _) = env.p.db.local_daily().ok()?;
    let loaded = env.p.scanner.loaded(Instant::now() + ASK).ok()?.daily;
    if loaded.is_some_and(|l| l >= files) {
        return None;
    }
    let check = env.p.checker.check(env.p.clock.now()).ok()?;
    if check.lag != Some(0) {
        return None;
    }
    let started = env.p.clock.now();
    env.p.audit.event(
        "repair-start",
        &[
            ("mode", &"clamd-only"),
            ("reason", &"files current, clamd behind"),
            ("files_daily", &files),
        ],
    );
    let sync = sync_scanner(env, files);
    let outcome = match &sync {
        Sync::Stale { cause, .. } => Outcome::ClamdStale(cause.clone()),
        _ => Outcome::Reloaded,
    };
    let finished = env.p.clock.now();
    env.p.audit.event(
        "repair-end",
        &[
            ("outcome", &outcome),
            ("before", &files),
            ("after", &files),
            ("duration", &format!("{}s", finished - started)),
        ],
    );
    let report = Report {
        outcome,
        before: Some(files),
        after: Some(files),
        started,
        finished,
        daemon_started: None,
    };
    Some((report, sync))
}

/// After the ladder: clamd must load what is on disk. A repair that left the files current
/// but clamd behind is not a success: its outcome becomes "clamd did not reload". A
/// refused repair touched nothing and does not talk to clamd either.
pub(crate) fn scanner_after_files(env: &Env, report: &mut Report) -> Sync {
    if matches!(report.outcome, Outcome::Refused(_)) {
        return Sync::NotConfigured;
    }
    let Some(files) = report.after else {
        return Sync::NotConfigured;
    };
    let sync = sync_scanner(env, files);
    if report.outcome.is_success()
        && !sync.is_ok()
        && let Sync::Stale { cause, .. } = &sync
    {
        report.outcome = Outcome::ClamdStale(cause.clone());
    }
    sync
}

/// Runs the ladder, then records the result (with the count of consecutive failures the
/// backoff runs on) and asks the monitor for a re-check. The caller holds the lock.
pub(crate) fn run_ladder(env: &Env, by: Option<By>) -> Report {
    let now = || env.p.clock.now();
    let before = env.p.state.last();
    let (report, clamd) = match clamd_lag_only(env) {
        Some(done) => done,
        None => {
            let mut report = ladder::repair(&env.ladder_ctx(&now));
            let clamd = scanner_after_files(env, &mut report);
            (report, clamd)
        }
    };
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
        clamd: (clamd != Sync::NotConfigured).then(|| clamd.to_string()),
        by: by.map(|b| b.as_str().to_string()),
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
    for r in env.p.monitor.request_recheck(env.p.clock.now()) {
        let key = if r.event == "icinga-recheck" {
            "url"
        } else {
            "file"
        };
        env.p
            .audit
            .event(r.event, &[("result", &r.result), (key, &r.target)]);
    }
    report
}

/// The worker's whole life: prove the inherited descriptor is the held lock, repair,
/// release. Exit 0 when the database is updated or current.
pub(crate) fn worker(env: &Env, lock: Option<File>, by: Option<&str>) -> Result<i32, HandlerError> {
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
    let by = match by.map(|b| (b, By::parse(b))) {
        None => None,
        Some((_, Some(b))) => Some(b),
        Some((b, None)) => {
            return Err(HandlerError::Refused(format!(
                "worker: --by {:?} is not one of monitor, nrpe, timer, heal, admin",
                crate::text::printable(b)
            )));
        }
    };
    flight::record_holder(&lock);
    let report = run_ladder(env, by);
    drop(lock);
    Ok(if report.outcome.is_success() { 0 } else { 1 })
}
