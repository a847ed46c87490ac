//! `handle STATE STATETYPE ATTEMPT`: the monitor's event handler. Returns at once.

use crate::handler::decide::Trigger;
use crate::handler::error::HandlerError;
use crate::handler::flow::Env;
use crate::handler::start::start_repair;
use crate::nagios::{ServiceState, StateType, parse_attempt};

/// The three words as the monitor passed them, parsed strictly (a refusal names which).
pub(crate) fn parse(state: &str, state_type: &str, attempt: &str) -> Result<Trigger, HandlerError> {
    Ok(Trigger::Handle {
        state: state.parse::<ServiceState>()?,
        state_type: state_type.parse::<StateType>()?,
        attempt: parse_attempt(attempt)?,
    })
}

/// Returns the line to print; exit 0 whatever was decided.
pub(crate) fn handle(env: &Env, trigger: Trigger) -> Result<String, HandlerError> {
    Ok(format!(
        "clamav-freshen: {}",
        start_repair(env, trigger, None)?.summary
    ))
}
