//! Starting a repair in the detached worker: shared by `handle`, `heal` and `repair`.

use crate::handler::decide::{Decision, Trigger};
use crate::handler::error::HandlerError;
use crate::handler::flow::Env;

/// Decides and, when repairing, spawns the worker. `Ok` carries the one-line summary
/// (`repair started (...)` or `no repair: ...`).
pub(crate) fn start_repair(env: &Env, trigger: Trigger) -> Result<String, HandlerError> {
    let decided = env.decide(trigger, &[]).map_err(HandlerError::CannotAct)?;
    match (&decided.decision, decided.lock) {
        (Decision::Repair { reason }, Some(lock)) => match env.p.spawner.spawn_worker(&*lock) {
            Ok(pid) => {
                env.p
                    .audit
                    .event("spawn", &[("result", &"ok"), ("pid", &pid)]);
                Ok(format!("repair started ({reason})"))
            }
            Err(e) => {
                env.p
                    .audit
                    .event("spawn", &[("result", &format!("error: {e}"))]);
                Err(HandlerError::CannotAct(format!(
                    "cannot start the repair worker: {e}"
                )))
            }
        },
        (d, _) => Ok(format!("no repair: {}", d.reason())),
    }
}
