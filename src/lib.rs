//! clamav-freshen: keeps a mail filter's ClamAV signatures fresh.
//!
//! Two thin binaries sit on this library and call its two entry points:
//! `check_clamav_freshness` ([`check::main`]), the unprivileged monitoring plugin, and
//! `clamav-freshen` ([`handler::main`]), the root event handler that repairs freshclam.
//!
//! ```text
//! clamav/   ClamAV's own files: CVD/CLD header, freshclam.conf, freshclam.dat   (both)
//! nagios/   the monitor's vocabulary: states, ranges, the external command file  (both)
//! icinga/   Icinga 2's REST API: the forced re-check after a repair              (handler)
//! dns/      the TXT record current.cvd.clamav.net and a small stub resolver      (both)
//! mirror/   a mirror's daily header over HTTP(S): URL, request, reply, TLS     (both)
//! check/    the plugin: command line, the check itself and its report           (check, heal)
//! handler/  the root handler: command line, config, decision, lock, ladder,
//!           service manager, freshclam, database fixes, state, audit             (handler)
//! system/   process state, signals, detaching, child processes: the only unsafe
//! ```
//!
//! Everything below the entry points is `pub(crate)`; integration tests reach the few items
//! they need through [`test_support`].

#![deny(unsafe_code)]

pub(crate) mod clamav;
pub(crate) mod defaults;
pub(crate) mod dns;
pub(crate) mod icinga;
pub(crate) mod mirror;
pub(crate) mod nagios;
#[allow(unsafe_code)]
pub(crate) mod system;
pub(crate) mod text;

pub mod check;
pub mod handler;

/// Entry points for the fuzz targets (`fuzz/`): one per parser of outside input. Not an API;
/// only built with the `fuzzing` feature.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

/// Items the integration tests use to build fixtures and read results. Not an API.
#[doc(hidden)]
pub mod test_support {
    use std::path::Path;

    /// The daily version the check and the handler would read in `dir`.
    pub fn local_daily_version(dir: &Path) -> Option<u32> {
        crate::clamav::cvd::local_daily(dir)
            .ok()
            .map(|l| l.header.version)
    }

    /// A freshclam.dat holding `uuid` and a CDN cool-down until `retry_after`.
    pub fn freshclam_dat(uuid: &str, retry_after: i64) -> Vec<u8> {
        crate::clamav::freshclam_dat::encode(uuid, retry_after)
    }

    /// Takes the repair lock as a running repair would; held until the file is dropped.
    pub fn hold_repair_lock(run_dir: &Path, lock: &Path) -> std::fs::File {
        crate::handler::flight::try_acquire(run_dir, lock)
            .expect("lock file")
            .expect("lock free")
    }
}
