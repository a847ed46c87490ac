//! Icinga 2's side of a repair: the forced re-check through its REST API
//! (`actions/reschedule-check`), as an ApiUser that may do nothing else. Where to reach the
//! API and as whom is root's file [`api_file`]; the request and the reading of the answer
//! are [`reschedule`]. Icinga's external command pipe, the fallback, is
//! `nagios::command_file`.

pub(crate) mod api_file;
pub(crate) mod reschedule;
