//! ClamAV's own files, as the check and the handler read them.

pub(crate) mod clamd;
pub(crate) mod cvd;
pub(crate) mod freshclam_conf;
pub(crate) mod freshclam_dat;
