//! `repair` (start one now, bypassing the rate limit) and `repair --wait` (run it in the
//! foreground and print the outcome).

use crate::handler::decide::Trigger;
use crate::handler::error::HandlerError;
use crate::handler::flow::Env;
use crate::handler::start::start_repair;
use crate::handler::worker::run_ladder;
use crate::text::printable;

/// What `repair` prints, line by line, and its exit code.
pub(crate) struct Outcome {
    pub(crate) lines: Vec<String>,
    pub(crate) code: i32,
}

pub(crate) fn repair(env: &Env) -> Result<Outcome, HandlerError> {
    let summary = start_repair(env, Trigger::Admin, None)?.summary;
    Ok(Outcome {
        lines: vec![format!("clamav-freshen: {summary}")],
        code: 0,
    })
}

pub(crate) fn repair_wait(env: &Env) -> Result<Outcome, HandlerError> {
    let decided = env.decide(Trigger::Admin, &[("wait", &true)], None)?;
    let Some(lock) = decided.lock else {
        return Ok(Outcome {
            lines: vec!["clamav-freshen: a repair is already running".into()],
            code: 1,
        });
    };
    if !decided.decision.is_repair() {
        return Ok(Outcome {
            lines: vec![format!(
                "clamav-freshen: no repair: {}",
                decided.decision.reason()
            )],
            code: 1,
        });
    }
    lock.record_holder();
    let r = run_ladder(env, Some(crate::handler::origin::By::Admin));
    drop(lock);
    let v = |v: Option<u32>| v.map_or("none".into(), |v| v.to_string());
    let mut lines = vec![format!(
        "clamav-freshen: {} (daily {} -> {}, {}s)",
        printable(&r.outcome.to_string()),
        v(r.before),
        v(r.after),
        r.finished - r.started
    )];
    if let Some(Err(e)) = &r.daemon_started {
        lines.push(format!(
            "clamav-freshen: WARNING: freshclam daemon did not start: {}",
            printable(&e.to_string())
        ));
    }
    if let Some(c) = env.p.state.last().and_then(|rec| rec.clamd) {
        lines.push(format!("clamav-freshen: clamd {}", printable(&c)));
    }
    Ok(Outcome {
        lines,
        code: if r.outcome.is_success() { 0 } else { 1 },
    })
}
