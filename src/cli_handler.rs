//! Command line of `clamav-freshen` (clap derive only).
//!
//! TEMPORARY placeholder written by the packaging branch so `build.rs` can render the man
//! page; the handler branch's version of this file replaces it at merge. It may depend on
//! clap and std only, because `build.rs` compiles it too.

use clap::{Parser, Subcommand};

/// Keeps ClamAV signatures fresh: Nagios event handler and repair tool for freshclam.
#[derive(Debug, Parser)]
#[command(name = "clamav-freshen", version, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Nagios/Icinga event handler: `handle $SERVICESTATE$ $SERVICESTATETYPE$ $SERVICEATTEMPT$`.
    Handle {
        /// OK, WARNING, CRITICAL or UNKNOWN
        state: String,
        /// SOFT or HARD
        state_type: String,
        /// 1 to 999
        attempt: String,
    },
    /// Check the signatures locally and start a repair when they are stale (NRPE command).
    Heal,
    /// Repair now.
    Repair {
        /// Run in the foreground and print the outcome.
        #[arg(long)]
        wait: bool,
    },
    /// Show a one-screen diagnosis.
    Status,
}
