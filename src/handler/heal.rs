//! `heal`: the NRPE command, and what the local heal timer runs. Recovers a daemon an
//! interrupted repair left stopped, checks locally, starts a repair when stale; when that
//! repair ends within `heal_wait_secs` (counted from heal's start) it checks again and
//! answers with the database as it is then, else with the first check (the repair goes on
//! detached). One status line, the exit code of the check it prints.

use crate::check::plugin::CheckReport;
use crate::handler::decide::Trigger;
use crate::handler::flow::Env;
use crate::handler::ports::CheckFailed;
use crate::handler::start::start_repair;
use crate::nagios::ServiceState;
use std::time::{Duration, Instant};

/// The line for NRPE and the exit code.
pub(crate) fn heal(env: &Env) -> (String, i32) {
    let t0 = Instant::now();
    // First, whatever the check says (even when it cannot run): a daemon left stopped by a
    // SIGKILLed worker is started again. The timer makes this happen without any caller.
    env.recover_if_needed(None);
    let report = match check(env, "first") {
        Ok(r) => r,
        Err(e) => return (unknown(&e), ServiceState::Unknown.exit_code()),
    };
    let started = match start_repair(
        env,
        Trigger::Heal {
            state: report.state,
        },
        Some(&report),
    ) {
        Ok(s) => s,
        // NRPE still gets the check's verdict; the audit and stderr say why no repair.
        Err(e) => {
            return (
                line_with(&report, &format!("cannot repair: {e}")),
                code(&report),
            );
        }
    };
    let Some(spawned_at) = started.at else {
        return (line_with(&report, &started.summary), code(&report));
    };
    let budget = Duration::from_secs(env.cfg.heal_wait_secs);
    let left = budget.saturating_sub(t0.elapsed());
    if left.is_zero() || !env.p.lock.wait_idle(left) {
        env.p.audit.event(
            "heal-wait",
            &[("result", &"still running"), ("waited", &waited(t0))],
        );
        // The budget, not the measured time: the line stays the same on a loaded machine.
        let note = format!(
            "{}, still running after {}s",
            started.summary, env.cfg.heal_wait_secs
        );
        return (line_with(&report, &note), code(&report));
    }
    // The repair is over: what did it record, and how is the database now?
    let ended = match env.p.state.last() {
        Some(r) if r.started >= spawned_at => format!(
            "repair outcome {} after {}s (was {})",
            r.outcome,
            r.duration(),
            report.state
        ),
        _ => format!("repair ended without a record (was {})", report.state),
    };
    env.p.audit.event(
        "heal-wait",
        &[("result", &"repair ended"), ("waited", &waited(t0))],
    );
    match check(env, "after-repair") {
        Ok(now) => (line_with(&now, &ended), code(&now)),
        Err(e) => (
            format!("{}; {ended}", unknown(&e)),
            ServiceState::Unknown.exit_code(),
        ),
    }
}

/// Runs the built-in check and audits it.
fn check(env: &Env, which: &str) -> Result<CheckReport, CheckFailed> {
    match env.p.checker.check(env.p.clock.now()) {
        Ok(r) => {
            let line = r.status_line();
            env.p.audit.event(
                "check",
                &[("state", &r.state), ("line", &line), ("when", &which)],
            );
            Ok(r)
        }
        Err(e) => {
            env.p.audit.event(
                "check",
                &[("result", &format!("error: {e}")), ("when", &which)],
            );
            Err(e)
        }
    }
}

/// The line printed when the check could not run.
fn unknown(e: &CheckFailed) -> String {
    format!("CLAMAV UNKNOWN - {e}")
}

fn code(r: &CheckReport) -> i32 {
    r.state.exit_code()
}

fn waited(t0: Instant) -> String {
    format!("{:.1}s", t0.elapsed().as_secs_f64())
}

/// The check's line with `note` after its text: NRPE shows one line, perfdata last.
fn line_with(report: &CheckReport, note: &str) -> String {
    let line = report.status_line();
    // The note may quote freshclam (a failed outcome): no `|` nor newline may split it.
    let note = crate::text::plugin_text(note);
    match line.split_once(" | ") {
        Some((t, p)) => format!("{t}; {note} | {p}"),
        None => format!("{line}; {note}"),
    }
}
