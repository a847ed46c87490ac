//! ClamAV's own files, as the check and the handler read them.

// Used by the check and the handler once clamd support is wired (issue 13).
#[allow(dead_code)]
pub(crate) mod clamd;
pub(crate) mod cvd;
pub(crate) mod freshclam_conf;
pub(crate) mod freshclam_dat;
