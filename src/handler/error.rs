//! The handler's errors: each kind carries its exit code, and every refusal is audited with
//! its reason in one place ([`crate::handler::main`]). The typed errors of the layers below
//! become one of the two kinds here, by `From` where a kind follows from the error alone;
//! the text is their `Display`.

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

/// A repair lock that cannot be used: the repair that should run does not.
impl From<crate::handler::flight::LockUnusable> for HandlerError {
    fn from(e: crate::handler::flight::LockUnusable) -> Self {
        HandlerError::CannotAct(e.to_string())
    }
}

/// Arguments outside the grammar are refused.
impl From<crate::nagios::state::BadArgument> for HandlerError {
    fn from(e: crate::nagios::state::BadArgument) -> Self {
        HandlerError::Refused(e.to_string())
    }
}

impl HandlerError {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            HandlerError::Refused(_) => EXIT_REFUSED,
            HandlerError::CannotAct(_) => EXIT_CANNOT_ACT,
        }
    }
}
