//! freshclam.dat: freshclam's UUID and CDN cool-down. Read only, never deleted or written:
//! it is freshclam's own state, and deleting it resets the cool-down the CDN asked for.
//!
//! Layout (libfreshclam, amd64, 90 bytes): `FreshClamData` (13), u32 version (1), 37-byte
//! UUID text, 7 bytes padding, i64 `retry_after` at offset 61 (0 = none), 21-byte cf-ray.

use std::path::Path;

pub(crate) const FILE_NAME: &str = "freshclam.dat";
const MAGIC: &[u8] = b"FreshClamData";
const UUID_OFFSET: usize = 17;
const UUID_LEN: usize = 37;
const RETRY_AFTER_OFFSET: usize = 61;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreshclamDat {
    pub(crate) uuid: String,
    /// Epoch seconds until which freshclam will not contact the CDN; 0 = no cool-down.
    pub(crate) retry_after: i64,
}

impl FreshclamDat {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        if !bytes.starts_with(MAGIC) {
            return Err("not a freshclam.dat file".into());
        }
        if bytes.len() < RETRY_AFTER_OFFSET + 8 {
            return Err(format!("truncated ({} bytes)", bytes.len()));
        }
        let uuid = &bytes[UUID_OFFSET..UUID_OFFSET + UUID_LEN];
        let uuid = uuid.split(|b| *b == 0).next().unwrap_or_default();
        let uuid = String::from_utf8_lossy(uuid).into_owned();
        let mut ra = [0u8; 8];
        ra.copy_from_slice(&bytes[RETRY_AFTER_OFFSET..RETRY_AFTER_OFFSET + 8]);
        Ok(FreshclamDat {
            uuid,
            retry_after: i64::from_le_bytes(ra),
        })
    }

    /// Reads `freshclam.dat` in the database directory. `Ok(None)` when there is none.
    /// The directory belongs to clamav: no symlink is followed, only a regular file is read
    /// (never a FIFO or device), and at most 4 KiB of it.
    pub(crate) fn read(database_directory: &Path) -> Result<Option<Self>, String> {
        use std::io::Read;
        let f = match crate::clamav::cvd::open_db_file(&database_directory.join(FILE_NAME)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let mut b = Vec::new();
        f.take(4096)
            .read_to_end(&mut b)
            .map_err(|e| e.to_string())?;
        Self::parse(&b).map(Some)
    }

    /// The end of an active cool-down, if `now` is before it.
    pub(crate) fn cooldown_until(&self, now: i64) -> Option<i64> {
        (self.retry_after > now).then_some(self.retry_after)
    }
}

/// Builds a freshclam.dat image; for tests and fakes that must look like freshclam's.
pub(crate) fn encode(uuid: &str, retry_after: i64) -> Vec<u8> {
    let mut v = vec![0u8; 90];
    v[..MAGIC.len()].copy_from_slice(MAGIC);
    v[13..17].copy_from_slice(&1u32.to_le_bytes());
    let u = uuid.as_bytes();
    let n = u.len().min(UUID_LEN - 1);
    v[UUID_OFFSET..UUID_OFFSET + n].copy_from_slice(&u[..n]);
    v[RETRY_AFTER_OFFSET..RETRY_AFTER_OFFSET + 8].copy_from_slice(&retry_after.to_le_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_cooldown() {
        let d = FreshclamDat::parse(&encode("5f1a3b2c-0000-4000-8000-000000000001", 1000)).unwrap();
        assert_eq!(d.uuid, "5f1a3b2c-0000-4000-8000-000000000001");
        assert_eq!(d.retry_after, 1000);
        assert_eq!(d.cooldown_until(999), Some(1000));
        assert_eq!(d.cooldown_until(1000), None);
        assert_eq!(
            FreshclamDat::parse(&encode("u", 0))
                .unwrap()
                .cooldown_until(5),
            None
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(FreshclamDat::parse(b"").is_err());
        assert!(FreshclamDat::parse(&encode("u", 1)[..40]).is_err());
        assert!(FreshclamDat::parse(&[0u8; 90]).is_err());
    }

    #[test]
    fn fifo_and_symlink_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.path().join(FILE_NAME)).unwrap();
        assert!(
            FreshclamDat::read(d.path()).is_err(),
            "never read /dev/zero"
        );
        std::fs::remove_file(d.path().join(FILE_NAME)).unwrap();
        nix::unistd::mkfifo(
            &d.path().join(FILE_NAME),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let e = FreshclamDat::read(d.path()).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn missing_file_is_none() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(FreshclamDat::read(d.path()).unwrap(), None);
        std::fs::write(d.path().join(FILE_NAME), encode("u", 7)).unwrap();
        assert_eq!(
            FreshclamDat::read(d.path()).unwrap().unwrap().retry_after,
            7
        );
    }
}
