//! The handler's errors: each kind carries its exit code, and every refusal is audited with
//! its reason in one place ([`crate::handler::main`]).

/// Exit code of every refusal (bad arguments, environment, configuration, misuse).
pub(crate) const EXIT_REFUSED: i32 = 2;
/// Exit code when the handler could not act at all (lock unusable, worker not started).
pub(crate) const EXIT_CANNOT_ACT: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub(crate) enum HandlerError {
    /// The caller asked for something we refuse: nothing was done.
    #[error("{0}")]
    Refused(String),
    /// We meant to act and could not (a repair that should run does not).
    #[error("{0}")]
    CannotAct(String),
}

impl HandlerError {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            HandlerError::Refused(_) => EXIT_REFUSED,
            HandlerError::CannotAct(_) => EXIT_CANNOT_ACT,
        }
    }
}
