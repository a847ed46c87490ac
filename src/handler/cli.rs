//! Command line of `clamav-freshen` (clap derive only).
//!
//! This file may depend on clap and std only: the packaging build script `include!`s it to
//! render the man page. Values stay strings here; `crate::nagios` parses them strictly so a
//! refusal can be audited with a precise reason.

use clap::{Parser, Subcommand};

/// Keeps ClamAV signatures fresh: Nagios event handler and repair tool for freshclam.
#[derive(Debug, Parser)]
#[command(
    name = "clamav-freshen",
    version,
    about = "Repair a stuck freshclam: Nagios/Icinga event handler, NRPE self-heal, admin tool",
    long_about = "Repair a stuck freshclam. Runs as root (via sudo). Decides from the Nagios \
                  service state whether to repair; the repair runs in a detached worker that \
                  stops the freshclam daemon, fixes the database directory, runs freshclam once \
                  with a time limit and always starts the daemon again; where clamav-daemon is \
                  installed it then makes clamd load the files (RELOAD), and a repair needed \
                  only because clamd lags behind current files does just that. Every step is \
                  audited to syslog. Configuration: /etc/clamav-freshen/clamav-freshen.toml.",
    disable_help_subcommand = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Nagios/Icinga event handler: `handle $SERVICESTATE$ $SERVICESTATETYPE$ $SERVICEATTEMPT$`.
    /// Returns at once; a needed repair runs in a detached worker.
    Handle {
        /// OK, WARNING, CRITICAL or UNKNOWN
        #[arg(value_name = "STATE")]
        state: String,
        /// SOFT or HARD
        #[arg(value_name = "STATETYPE")]
        state_type: String,
        /// 1 to 999
        #[arg(value_name = "ATTEMPT")]
        attempt: String,
    },
    /// Check the signatures locally and start a repair when they are stale (the NRPE command;
    /// also what clamav-freshen-heal.timer runs every 30 minutes). Waits up to
    /// heal_wait_secs for that repair, then prints one status line: the check of the
    /// database after a quick repair, else the first check. Exits with that check's code.
    Heal,
    /// Repair now, bypassing the rate limit (still one repair at a time).
    Repair {
        /// Run in the foreground and print the outcome; exit 0 on success.
        #[arg(long)]
        wait: bool,
    },
    /// Show a one-screen diagnosis. Exit 0 when healthy, 1 otherwise.
    Status,
    /// Internal: the detached repair worker. Refuses unless started by `clamav-freshen`
    /// itself with the repair lock inherited.
    #[command(hide = true)]
    Worker {
        /// Who started the repair: monitor, nrpe, timer, heal or admin (a label).
        #[arg(long, value_name = "LABEL")]
        by: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn grammar() {
        let c = Cli::try_parse_from(["x", "handle", "CRITICAL", "SOFT", "2"]).unwrap();
        assert!(matches!(c.command, Command::Handle { .. }));
        let c = Cli::try_parse_from(["x", "repair", "--wait"]).unwrap();
        assert!(matches!(c.command, Command::Repair { wait: true }));
        for bad in [
            &["x"][..],
            &["x", "handle", "CRITICAL", "SOFT"],
            &["x", "handle", "CRITICAL", "SOFT", "2", "3"],
            &["x", "heal", "now"],
            &["x", "status", "--config", "/tmp/c"],
            &["x", "help"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
