//! `heal`: the NRPE command. Checks locally, starts a repair when stale, prints one status
//! line and exits with the check's code.

use crate::handler::decide::Trigger;
use crate::handler::flow::Env;
use crate::handler::start::start_repair;
use crate::nagios::ServiceState;

/// The line for NRPE and the exit code.
pub(crate) fn heal(env: &Env) -> (String, i32) {
    let report = match env.p.checker.check(env.p.clock.now()) {
        Ok(r) => r,
        Err(e) => {
            env.p
                .audit
                .event("check", &[("result", &format!("error: {e}"))]);
            return (
                format!("CLAMAV UNKNOWN - {e}"),
                ServiceState::Unknown.exit_code(),
            );
        }
    };
    let line = report.status_line();
    env.p
        .audit
        .event("check", &[("state", &report.state), ("line", &line)]);
    let done = match start_repair(
        env,
        Trigger::Heal {
            state: report.state,
        },
    ) {
        Ok(summary) => summary,
        // NRPE still gets the check's verdict; the audit and stderr say why no repair.
        Err(e) => format!("cannot repair: {e}"),
    };
    // NRPE shows one line: keep perfdata last.
    let (text, perf) = match line.split_once(" | ") {
        Some((t, p)) => (t.to_string(), format!(" | {p}")),
        None => (line.clone(), String::new()),
    };
    (format!("{text}; {done}{perf}"), report.state.exit_code())
}
