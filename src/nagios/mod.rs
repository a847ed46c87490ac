//! The monitor's vocabulary: service states, threshold ranges, the external command file.

pub(crate) mod command_file;
pub(crate) mod range;
pub(crate) mod state;

pub(crate) use state::{ServiceState, StateType, parse_attempt};
