//! clamav-freshen: keeps a mail filter's ClamAV signatures fresh.
//!
//! Two thin binaries sit on this library: `check_clamav_freshness`, the unprivileged Nagios
//! check, and `clamav-freshen`, the root event handler that repairs freshclam. One concept a
//! module.

// Shared: ClamAV's own files and Nagios' vocabulary.
pub mod cvd;
pub mod freshclam_conf;
pub mod freshclam_dat;
pub mod nagios;

// The check (check_clamav_freshness).
pub mod cli_check;
pub mod dnsinfo;
pub mod plugin;
pub mod range;

// The handler (clamav-freshen).
pub mod audit;
pub mod cli_handler;
pub mod command;
pub mod config;
pub mod dbfix;
pub mod decide;
pub mod flight;
pub mod freshclam;
pub mod handler;
pub mod nagios_cmd;
pub mod paths;
pub mod repair;
pub mod service;
pub mod state;
pub mod sys;
