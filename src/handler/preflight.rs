//! Before the daemon is touched: would the repair work at all? A failure here stops the
//! ladder with `refused: <cause>` and leaves a running daemon running (a typo in
//! freshclam.conf used to stop the daemon, which then could not start again with it).
//!
//! - freshclam.conf parses, by freshclam's own parser: `freshclam --config-file=F --version`
//!   parses the file and exits 2 with `Parse error at F:LINE: ...` on any error, and touches
//!   nothing (checked on Debian 12 and 13's freshclam 1.4).
//! - the database filesystem is writable and has room for a full download;
//! - the log file (or its directory) is writable by the database owner.

use crate::handler::cause::{Cause, Evidence, classify};
use crate::system::process::End;
use nix::sys::statvfs::{FsFlags, statvfs};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Free space wanted beyond the current database size: freshclam downloads into a temp
/// directory beside the database and renames, so a full download needs the database's size
/// again; the margin covers growth between two updates.
pub(crate) const SPACE_MARGIN: u64 = 32 << 20;

/// What pre-flight looked at.
pub(crate) struct Inputs<'a> {
    /// The output and end of `freshclam --config-file=F --version`.
    pub(crate) config_check: (End, Vec<String>),
    pub(crate) db_dir: &'a Path,
    pub(crate) owner_uid: u32,
    pub(crate) log_file: Option<&'a Path>,
}

/// `Ok(())` or the cause that makes a repair pointless now.
pub(crate) fn check(i: &Inputs) -> Result<(), Cause> {
    config(&i.config_check)?;
    space(i.db_dir)?;
    if let Some(log) = i.log_file {
        log_writable(log, i.owner_uid)?;
    }
    Ok(())
}

fn config((end, lines): &(End, Vec<String>)) -> Result<(), Cause> {
    if *end == End::Exited(0) {
        return Ok(());
    }
    let mut ev = Evidence::default();
    for l in lines {
        ev.see(l);
    }
    match classify(end, &ev) {
        Some(c @ Cause::Config { .. }) => Err(c),
        // freshclam could not even report its version: name what it said.
        Some(c) => Err(Cause::Config {
            location: None,
            detail: c.to_string(),
        }),
        None => Ok(()),
    }
}

/// Size of the databases in `dir` (regular `*.cvd`/`*.cld`/`*.cud` files; links not followed).
fn database_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .take(4096)
        .filter(|e| {
            let n = e.file_name();
            let n = n.as_encoded_bytes();
            n.ends_with(b".cvd") || n.ends_with(b".cld") || n.ends_with(b".cud")
        })
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn space(dir: &Path) -> Result<(), Cause> {
    let st = statvfs(dir).map_err(|e| Cause::Permissions {
        detail: format!("cannot examine {}: {e}", dir.display()),
    })?;
    if st.flags().contains(FsFlags::ST_RDONLY) {
        return Err(Cause::Permissions {
            detail: format!("{} is on a read-only filesystem", dir.display()),
        });
    }
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    let need = database_size(dir).saturating_add(SPACE_MARGIN);
    if free < need {
        return Err(Cause::DiskFull {
            detail: format!(
                "{} KiB free on {}, {} KiB needed",
                free / 1024,
                dir.display(),
                need / 1024
            ),
        });
    }
    Ok(())
}

/// The owner can write the log: an existing log must be a regular file the owner can write
/// through its mode bits; a missing one needs a directory the owner can write.
fn log_writable(log: &Path, owner: u32) -> Result<(), Cause> {
    let owner_can_write = |md: &std::fs::Metadata| {
        (md.uid() == owner && md.mode() & 0o200 != 0) || md.mode() & 0o002 != 0
    };
    match std::fs::symlink_metadata(log) {
        Ok(md) if md.is_file() && owner_can_write(&md) => Ok(()),
        Ok(md) if md.is_file() => Err(Cause::Permissions {
            detail: format!(
                "the log file {} is not writable by uid {owner} (owner uid {}, mode {:o})",
                log.display(),
                md.uid(),
                md.mode() & 0o7777
            ),
        }),
        Ok(_) => Err(Cause::Permissions {
            detail: format!("the log file {} is not a regular file", log.display()),
        }),
        Err(_) => {
            let dir = log.parent().unwrap_or(Path::new("/"));
            match std::fs::symlink_metadata(dir) {
                Ok(md) if md.is_dir() && owner_can_write(&md) => Ok(()),
                _ => Err(Cause::Permissions {
                    detail: format!(
                        "the log directory {} is not writable by uid {owner}",
                        dir.display()
                    ),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn ok_run() -> (End, Vec<String>) {
        (End::Exited(0), vec!["ClamAV 1.4.6".into()])
    }

    #[test]
    fn a_config_typo_is_refused_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        let i = Inputs {
            config_check: (
                End::Exited(2),
                vec![
                    "ERROR: Parse error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr".into(),
                    "ERROR: Can't open/parse the config file /etc/clamav/freshclam.conf".into(),
                ],
            ),
            db_dir: d.path(),
            owner_uid: me(),
            log_file: None,
        };
        let c = check(&i).unwrap_err();
        assert_eq!(
            c.to_string(),
            "freshclam.conf error at /etc/clamav/freshclam.conf:27: Unknown option DatabaseMirorr"
        );
    }

    #[test]
    fn room_and_log() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("freshclam.log");
        std::fs::write(&log, "").unwrap();
        let i = Inputs {
            config_check: ok_run(),
            db_dir: d.path(),
            owner_uid: me(),
            log_file: Some(&log),
        };
        assert_eq!(check(&i), Ok(()));
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o444)).unwrap();
        let c = check(&i).unwrap_err();
        assert_eq!(c.key(), "permissions", "{c}");
        let other = Inputs {
            owner_uid: me() + 1,
            ..i
        };
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            check(&other)
                .unwrap_err()
                .to_string()
                .contains("not writable by uid")
        );
        let missing = d.path().join("sub/freshclam.log");
        let i = Inputs {
            config_check: ok_run(),
            db_dir: d.path(),
            owner_uid: me(),
            log_file: Some(&missing),
        };
        assert!(check(&i).unwrap_err().to_string().contains("log directory"));
    }

    #[test]
    fn a_database_larger_than_the_free_space_is_disk_full() {
        // A sparse database file a little larger than the filesystem's free space.
        let d = tempfile::tempdir().unwrap();
        let st = statvfs(d.path()).unwrap();
        let free = st.blocks_available() as u64 * st.fragment_size() as u64;
        let f = std::fs::File::create(d.path().join("main.cvd")).unwrap();
        f.set_len(free + (1 << 20)).unwrap();
        let i = Inputs {
            config_check: ok_run(),
            db_dir: d.path(),
            owner_uid: me(),
            log_file: None,
        };
        let c = check(&i).unwrap_err();
        assert_eq!(c.key(), "disk-full", "{c}");
        assert!(c.to_string().contains("KiB free on"), "{c}");
    }
}
