//! freshclam.dat: freshclam's UUID and CDN cool-down. Read only, never deleted or written:
//! it is freshclam's own state, and deleting it resets the cool-down the CDN asked for.
//!
//! Layout (libfreshclam, amd64, 90 bytes): `FreshClamData` (13), u32 version (1), 37-byte
//! UUID text, 7 bytes padding, i64 `retry_after` at offset 61 (0 = none), 21-byte cf-ray.

use crate::clamav::cvd::DbReadError;
use std::path::Path;

pub(crate) const FILE_NAME: &str = "freshclam.dat";
const MAGIC: &[u8] = b"FreshClamData";
const UUID_OFFSET: usize = 17;
const UUID_LEN: usize = 37;
const RETRY_AFTER_OFFSET: usize = 61;
/// The longest cool-down believed, seconds from now: 48 h. libfreshclam sets `retry_after`
/// to now + 24 h after a 403, and after a 429 to now + the CDN's Retry-After (4 h when it
/// sends none): 48 h is twice the longest it sets itself. Anything further is a clock that
/// was far ahead when freshclam wrote the file, a corrupted file or a planted one, and would
/// otherwise silence every repair for as long as it says (up to the year 292 billion).
pub(crate) const MAX_COOLDOWN_SECS: i64 = 48 * 3600;

/// What freshclam.dat says about the CDN cool-down at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cooldown {
    /// No cool-down, or one that has ended.
    None,
    /// An active cool-down until this epoch second: freshclam will not contact the CDN.
    Until(i64),
    /// `retry_after` more than [`MAX_COOLDOWN_SECS`] ahead: not obeyed, worth an audit line.
    Bogus(i64),
}

/// Why freshclam.dat tells nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DatError {
    #[error("not a freshclam.dat file")]
    NotDat,
    #[error("truncated ({0} bytes)")]
    Truncated(usize),
    #[error(transparent)]
    Read(#[from] DbReadError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreshclamDat {
    pub(crate) uuid: String,
    /// Epoch seconds until which freshclam will not contact the CDN; 0 = no cool-down.
    pub(crate) retry_after: i64,
}

impl FreshclamDat {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, DatError> {
        if !bytes.starts_with(MAGIC) {
            return Err(DatError::NotDat);
        }
        if bytes.len() < RETRY_AFTER_OFFSET + 8 {
            return Err(DatError::Truncated(bytes.len()));
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
    /// The directory belongs to clamav: opened like the databases
    /// ([`crate::clamav::cvd::open_db_file`]: no symlink is followed, only a regular file is
    /// read, never a FIFO or device), and at most 4 KiB of it.
    pub(crate) fn read(database_directory: &Path) -> Result<Option<Self>, DatError> {
        use std::io::Read;
        let f = match crate::clamav::cvd::open_db_file(&database_directory.join(FILE_NAME)) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut b = Vec::new();
        f.take(4096).read_to_end(&mut b).map_err(DbReadError::Io)?;
        Self::parse(&b).map(Some)
    }

    /// The cool-down at `now`: none, active until a time, or bogus (too far ahead).
    pub(crate) fn cooldown(&self, now: i64) -> Cooldown {
        let t = self.retry_after;
        if t <= now {
            Cooldown::None
        } else if t.saturating_sub(now) > MAX_COOLDOWN_SECS {
            Cooldown::Bogus(t)
        } else {
            Cooldown::Until(t)
        }
    }

    /// The end of an active cool-down, if `now` is before it. A bogus one (see
    /// [`Self::cooldown`]) is `None`: not obeyed. Callers that must report it use `cooldown`.
    #[cfg(test)]
    pub(crate) fn cooldown_until(&self, now: i64) -> Option<i64> {
        match self.cooldown(now) {
            Cooldown::Until(t) => Some(t),
            Cooldown::None | Cooldown::Bogus(_) => None,
        }
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
    fn a_cooldown_more_than_48h_ahead_is_bogus_and_not_obeyed() {
        let now = 1_800_000_000;
        let at = |t: i64| FreshclamDat::parse(&encode("u", t)).unwrap();
        assert_eq!(at(0).cooldown(now), Cooldown::None);
        assert_eq!(at(now).cooldown(now), Cooldown::None);
        assert_eq!(at(i64::MIN).cooldown(now), Cooldown::None);
        assert_eq!(at(now + 1).cooldown(now), Cooldown::Until(now + 1));
        let edge = now + MAX_COOLDOWN_SECS;
        assert_eq!(at(edge).cooldown(now), Cooldown::Until(edge));
        assert_eq!(at(edge).cooldown_until(now), Some(edge));
        assert_eq!(at(edge + 1).cooldown(now), Cooldown::Bogus(edge + 1));
        assert_eq!(at(edge + 1).cooldown_until(now), None, "not obeyed");
        assert_eq!(at(i64::MAX).cooldown(now), Cooldown::Bogus(i64::MAX));
        assert_eq!(at(i64::MAX).cooldown_until(now), None);
        // A negative `now` (a clock before 1970) does not overflow either.
        assert_eq!(at(i64::MAX).cooldown(-5), Cooldown::Bogus(i64::MAX));
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
        let e = FreshclamDat::read(d.path()).unwrap_err().to_string();
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
