//! Starting a repair in the detached worker: shared by `handle`, `heal` and `repair`.

use crate::check::plugin::CheckReport;
use crate::handler::decide::{Decision, Trigger};
use crate::handler::error::HandlerError;
use crate::handler::flow::Env;

/// What [`start_repair`] did, with its one-line summary (`repair started (...)` or
/// `no repair: ...`).
pub(crate) struct Started {
    pub(crate) summary: String,
    /// A worker was spawned; the clock's time when it was.
    pub(crate) at: Option<i64>,
}

/// Decides and, when repairing, spawns the worker.
/// `known`: the built-in check's report, when the caller already ran it.
pub(crate) fn start_repair(
    env: &Env,
    trigger: Trigger,
    known: Option<&CheckReport>,
) -> Result<Started, HandlerError> {
    let decided = env.decide(trigger, &[], known)?;
    match (&decided.decision, decided.lock) {
        (Decision::Repair { reason }, Some(lock)) => {
            let at = env.p.clock.now();
            let by = crate::handler::origin::By::of(trigger, env.via);
            match env.p.spawner.spawn_worker(&*lock, by) {
                Ok(pid) => {
                    env.p
                        .audit
                        .event("spawn", &[("result", &"ok"), ("pid", &pid)]);
                    Ok(Started {
                        summary: format!("repair started ({reason})"),
                        at: Some(at),
                    })
                }
                Err(e) => {
                    env.p
                        .audit
                        .event("spawn", &[("result", &format!("error: {e}"))]);
                    Err(HandlerError::CannotAct(format!(
                        "cannot start the repair worker: {e}"
                    )))
                }
            }
        }
        (d, _) => Ok(Started {
            summary: format!("no repair: {}", d.reason()),
            at: None,
        }),
    }
}
