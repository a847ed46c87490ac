//! Every built-in path and name, once. Plain constants: `build.rs` compiles this
//! file too, so the man pages name the same files the programs use.

/// The handler's configuration (root's).
pub(crate) const CONFIG: &str = "/etc/clamav-freshen/clamav-freshen.toml";
/// Where the handler is installed; the detached worker is started from it.
pub(crate) const SELF_EXE: &str = "/usr/sbin/clamav-freshen";
/// The sudoers drop-in that lets the monitor's user run the handler's grammar (named in
/// the man page only).
#[allow(dead_code)]
pub(crate) const SUDOERS: &str = "/etc/sudoers.d/clamav-freshen";
/// freshclam's configuration (Debian gives it to the clamav user).
pub(crate) const FRESHCLAM_CONF: &str = "/etc/clamav/freshclam.conf";
/// The freshclam program.
pub(crate) const FRESHCLAM: &str = "/usr/bin/freshclam";
/// freshclam's built-in DatabaseDirectory, and Debian's.
pub(crate) const DATABASE_DIRECTORY: &str = "/var/lib/clamav";
/// freshclam's built-in DNSDatabaseInfo.
pub(crate) const DNS_DATABASE_INFO: &str = "current.cvd.clamav.net";
/// Nameservers for the TXT lookup.
pub(crate) const RESOLV_CONF: &str = "/etc/resolv.conf";
/// Nagios 4's external command file on Debian.
pub(crate) const NAGIOS_COMMAND_FILE: &str = "/var/lib/nagios4/rw/nagios.cmd";
/// Where the handler finds Icinga 2's REST API for the re-check after a repair (root's,
/// 0600: it holds the ApiUser's password). Written by the package on a standalone node.
pub(crate) const ICINGA_API_FILE: &str = "/etc/clamav-freshen/icinga2-api.toml";
/// The handler's runtime directory (lock, marker, worker.log) and state directory.
pub(crate) const RUN_DIR: &str = "/run/clamav-freshen";
pub(crate) const STATE_DIR: &str = "/var/lib/clamav-freshen";
/// freshclam's built-in DatabaseOwner on Debian: the user that owns the database.
pub(crate) const DATABASE_OWNER: &str = "clamav";
/// The handler's last-repair record (root's, world-readable): the check reports its cause.
pub(crate) const LAST_REPAIR: &str = "/var/lib/clamav-freshen/last-repair";
/// clamd's configuration (clamav-daemon): present when clamd is installed.
pub(crate) const CLAMD_CONF: &str = "/etc/clamav/clamd.conf";
/// Debian's clamd control socket (clamd.conf `LocalSocket`).
pub(crate) const CLAMD_SOCKET: &str = "/run/clamav/clamd.ctl";
