//! Could a scanner load this database file? What the check verifies beyond the header, so
//! that it never vouches for a daily.cvd/daily.cld that libclamav would refuse.
//!
//! - **Size, both formats.** The body (everything after the 512-byte header) must exist and
//!   hold at least one byte per [`MAX_SIGS_PER_BODY_BYTE`] signatures the header claims.
//! - **.cvd: MD5.** Field 6 of the header is the MD5 of the body (libclamav's
//!   `cli_cvdverify` compares it before loading; `tail -c +513 daily.cvd | md5sum` shows
//!   it). The body is streamed through MD5 in 64 KiB reads, only when the file changed: a
//!   file whose (device, inode, size, mtime, ctime) and header MD5 are in the
//!   [`VerifiedCache`] was verified before. (The RSA signature over that MD5, field 7, is
//!   not checked: this catches corruption and truncation, not forgery by someone who can
//!   write the database directory.)
//! - **.cld: structure.** freshclam builds a .cld from a .cvd and incremental updates: its
//!   header is copied from the database's `.info` file, so field 6 is still the MD5 of the
//!   *published .cvd's* body, not of this file, and nothing in the header covers what
//!   follows; libclamav skips the MD5 for a .cld and trusts the SHA-256 sums inside the
//!   signed `.info` member. Checking those would mean unpacking the tar (and verifying
//!   ClamAV's RSA signature), so the check does what is sound and cheap instead: the size
//!   rule; then, as libclamav's loader decides, a body starting with `COPYING` is a plain
//!   tar whose member headers are walked (at most [`MAX_TAR_MEMBERS`] 512-byte reads,
//!   never the data): every name without `/`, type regular, size octal, every member's data
//!   present up to the end of the file, so a truncated or overwritten .cld is caught; any
//!   other body must be gzip (`CompressLocalDatabase yes`), checked by its magic bytes.
//!
//! The file is the one whose header was read (kept open), a regular file opened through the
//! one secure open (`cvd::open_db_file`: no symlink followed, never blocking); reads stop at
//! the size fstat reported, so nothing here can hang or read without end.

use super::verified_cache::{CacheError, FileId, VerifiedCache};
use crate::clamav::cvd::{DbFormat, HEADER_LEN, LocalDb};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

/// The size rule: at most 16 signatures per byte of body, i.e. at least 1 byte per 16.
///
/// Real databases are two to three orders of magnitude above it: a daily.cvd holds about
/// 2 million signatures in about 60 MB of tar.gz (~30 bytes a signature) and main.cvd
/// ~6.6 million in ~160 MB (~24); a daily.cld holds the same signatures uncompressed, more
/// bytes still. Most signatures carry a 16-byte MD5/SHA hash or a hex pattern that does not
/// compress away. ClamAV's signed test databases, with a dozen signatures in ~9 KB, are far
/// above any bound. At 1/16, 2 million signatures need at least 128 KiB: a 512-byte
/// header-only daily.cvd claiming them is caught, as is a daily.cvd cut off in its first
/// few hundred KB, and no real database comes within a factor of 400 of the limit.
pub(crate) const MAX_SIGS_PER_BODY_BYTE: u64 = 16;
/// Members walked in a .cld tar; a real daily.cld has about 40.
pub(crate) const MAX_TAR_MEMBERS: usize = 10_000;
const TAR_BLOCK: u64 = 512;
const CHUNK: usize = 64 * 1024;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// A database file a scanner cannot load: CRITICAL, the reason is the check's text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Unloadable {
    #[error("{name} is only a header claiming {sigs} signatures: no database after it")]
    NoBody { name: String, sigs: u64 },
    #[error(
        "{name} is too small for the {sigs} signatures its header claims: {body} bytes after \
         the header, at least {min} expected"
    )]
    TooSmall {
        name: String,
        sigs: u64,
        body: u64,
        min: u64,
    },
    #[error("{name} is corrupt: MD5 mismatch (header {expected}, content {actual})")]
    Md5Mismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("{name} is corrupt: {reason}")]
    Corrupt { name: String, reason: String },
}

/// Why a file could not be judged either way.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum IntegrityError {
    #[error(transparent)]
    Unloadable(#[from] Unloadable),
    /// Not a verdict on the file: UNKNOWN.
    #[error("cannot verify {name}: {reason}")]
    Unverified { name: String, reason: String },
}

/// Why a .cvd verified now is not remembered for the next run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotRemembered {
    #[error("no cache")]
    NoCache,
    #[error(transparent)]
    Write(#[from] CacheError),
}

/// How a file was found sound, for `-v`.
#[derive(Debug)]
pub(crate) enum Verified {
    /// A .cvd verified by an earlier run, unchanged since.
    Md5Cached,
    /// A .cvd whose body was read now; `cached` says whether the cache remembers it.
    Md5Read {
        bytes: u64,
        cached: Result<(), NotRemembered>,
    },
    /// A plain-tar .cld whose member headers were walked.
    CldTar { members: usize },
    /// A gzip-compressed .cld: magic and size only.
    CldGzip,
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verified::Md5Cached => write!(f, "MD5 verified by an earlier run, file unchanged"),
            Verified::Md5Read { bytes, cached } => {
                write!(f, "MD5 of {bytes} bytes verified")?;
                match cached {
                    Ok(()) => write!(f, ", remembered"),
                    Err(e) => write!(f, ", not remembered ({e})"),
                }
            }
            Verified::CldTar { members } => write!(
                f,
                "size and tar structure verified ({members} members); a .cld carries no \
                 checksum of itself"
            ),
            Verified::CldGzip => write!(
                f,
                "size and gzip magic verified; a .cld carries no checksum of itself"
            ),
        }
    }
}

/// The least body a header claiming `sigs` signatures needs (never 0: a file with nothing
/// after its header holds no database, whatever it claims).
pub(crate) fn min_body(sigs: u64) -> u64 {
    sigs.div_ceil(MAX_SIGS_PER_BODY_BYTE).max(1)
}

/// Verifies `file`, the open file `db` was read from. `cache` is used for a .cvd's MD5 only.
/// Reading stops at `deadline` (an error then, not a verdict).
pub(crate) fn verify(
    db: &LocalDb,
    file: &File,
    cache: Option<&mut VerifiedCache>,
    deadline: Instant,
) -> Result<Verified, IntegrityError> {
    let name = db.name();
    let unverified = |reason: String| IntegrityError::Unverified {
        name: name.clone(),
        reason,
    };
    let meta = file.metadata().map_err(|e| unverified(e.to_string()))?;
    let body = meta.len().saturating_sub(HEADER_LEN as u64);
    let sigs = db.header.sigs;
    if body == 0 {
        return Err(Unloadable::NoBody { name, sigs }.into());
    }
    let min = min_body(sigs);
    if body < min {
        return Err(Unloadable::TooSmall {
            name,
            sigs,
            body,
            min,
        }
        .into());
    }
    match db.format() {
        DbFormat::Cvd => verify_md5(db, file, &meta, cache, deadline),
        DbFormat::Cld => verify_cld(&name, file, meta.len(), deadline),
    }
}

fn verify_md5(
    db: &LocalDb,
    file: &File,
    meta: &std::fs::Metadata,
    cache: Option<&mut VerifiedCache>,
    deadline: Instant,
) -> Result<Verified, IntegrityError> {
    let name = db.name();
    let expected = db.header.md5.as_str();
    // libclamav compares with its own lowercase hex: anything else can never match.
    if expected.len() != 32
        || !expected
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Unloadable::Corrupt {
            name,
            reason: format!(
                "MD5 field {:?} of the header is not 32 hex digits",
                expected
            ),
        }
        .into());
    }
    let id = FileId::of(meta);
    if cache.as_ref().is_some_and(|c| c.contains(&id, expected)) {
        return Ok(Verified::Md5Cached);
    }
    let actual = body_md5(&name, file, meta.len(), deadline)?;
    if actual != expected {
        return Err(Unloadable::Md5Mismatch {
            name,
            expected: expected.to_string(),
            actual,
        }
        .into());
    }
    let cached = match cache {
        Some(c) => c.record(id, expected).map_err(NotRemembered::from),
        None => Err(NotRemembered::NoCache),
    };
    Ok(Verified::Md5Read {
        bytes: meta.len() - HEADER_LEN as u64,
        cached,
    })
}

/// Lowercase hex MD5 of bytes 512..`len` of `file`, streamed.
fn body_md5(
    name: &str,
    file: &File,
    len: u64,
    deadline: Instant,
) -> Result<String, IntegrityError> {
    use md5::Digest;
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; CHUNK];
    let mut off = HEADER_LEN as u64;
    while off < len {
        if Instant::now() >= deadline {
            return Err(IntegrityError::Unverified {
                name: name.to_string(),
                reason: format!(
                    "time limit reached after {} of {} bytes of its MD5",
                    off - HEADER_LEN as u64,
                    len - HEADER_LEN as u64
                ),
            });
        }
        let want = usize::try_from(len - off).map_or(CHUNK, |r| r.min(CHUNK));
        let n = read_at(name, file, &mut buf[..want], off)?;
        if n == 0 {
            return Err(corrupt(
                name,
                format!("ends at byte {off}, before its size {len}"),
            ));
        }
        md5.update(&buf[..n]);
        off += n as u64;
    }
    Ok(hex(&md5.finalize()))
}

fn verify_cld(
    name: &str,
    file: &File,
    len: u64,
    deadline: Instant,
) -> Result<Verified, IntegrityError> {
    let mut magic = [0u8; 7];
    let n = read_full(name, file, &mut magic, HEADER_LEN as u64)?;
    // libclamav: fewer than 7 bytes is "truncated file?", COPYING a plain tar, else gzip.
    if n < magic.len() {
        return Err(corrupt(
            name,
            format!("truncated: {n} bytes after the header"),
        ));
    }
    if &magic == b"COPYING" {
        return walk_tar(name, file, len, deadline);
    }
    if magic.starts_with(GZIP_MAGIC) {
        return Ok(Verified::CldGzip);
    }
    Err(corrupt(
        name,
        "its body is neither a tar starting with COPYING nor gzip".into(),
    ))
}

/// Walks the member headers of the plain tar after the header, as libclamav's loader reads
/// it: it stops at the end of the file or at a block starting with NUL; a partial block is
/// "Incomplete block read".
fn walk_tar(
    name: &str,
    file: &File,
    len: u64,
    deadline: Instant,
) -> Result<Verified, IntegrityError> {
    let mut off = HEADER_LEN as u64;
    let mut members = 0;
    let mut block = [0u8; TAR_BLOCK as usize];
    while off < len {
        if members == MAX_TAR_MEMBERS {
            return Err(corrupt(
                name,
                format!("more than {MAX_TAR_MEMBERS} tar members"),
            ));
        }
        if Instant::now() >= deadline {
            return Err(IntegrityError::Unverified {
                name: name.to_string(),
                reason: format!("time limit reached at tar member {members}"),
            });
        }
        let n = read_full(name, file, &mut block, off)?;
        if n < block.len() {
            return Err(corrupt(
                name,
                format!("truncated: {n} bytes of a tar block at byte {off}"),
            ));
        }
        if block[0] == 0 {
            break;
        }
        let member = tar_member(&block).map_err(|r| {
            corrupt(
                name,
                format!("tar member {} at byte {off}: {r}", members + 1),
            )
        })?;
        let data_end = off + TAR_BLOCK + member.size;
        if data_end > len {
            return Err(corrupt(
                name,
                format!(
                    "truncated: member {} needs {} bytes, the file ends {} bytes short",
                    member.name.escape_default(),
                    member.size,
                    data_end - len
                ),
            ));
        }
        members += 1;
        off = data_end.div_ceil(TAR_BLOCK) * TAR_BLOCK;
    }
    if members == 0 {
        return Err(corrupt(name, "its tar holds no member".into()));
    }
    Ok(Verified::CldTar { members })
}

struct TarMember {
    name: String,
    size: u64,
}

/// A tar member header libclamav's loader refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum TarError {
    #[error("name {0:?} holds a slash")]
    Slash(String),
    #[error("type {0:?} is not a regular file")]
    Type(char),
    #[error("invalid size")]
    InvalidSize,
    #[error("size out of range")]
    SizeOutOfRange,
}

/// One tar header block, with libclamav's rules (`cli_tgzload`).
fn tar_member(block: &[u8; TAR_BLOCK as usize]) -> Result<TarMember, TarError> {
    let raw = &block[..100];
    let raw = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
    let name = String::from_utf8_lossy(raw).into_owned();
    if raw.contains(&b'/') {
        return Err(TarError::Slash(name));
    }
    match block[156] {
        b'0' | 0 => {}
        t => return Err(TarError::Type(t as char)),
    }
    // sscanf("%o") of the 12-byte size field: blanks, then octal digits.
    let field = &block[124..136];
    let field = &field[..field.iter().position(|b| *b == 0).unwrap_or(field.len())];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if digits.is_empty() {
        return Err(TarError::InvalidSize);
    }
    let size = digits
        .iter()
        .try_fold(0u64, |v, d| {
            v.checked_mul(8)?.checked_add(u64::from(d - b'0'))
        })
        .filter(|s| *s <= u64::from(u32::MAX))
        .ok_or(TarError::SizeOutOfRange)?;
    Ok(TarMember { name, size })
}

fn corrupt(name: &str, reason: String) -> IntegrityError {
    Unloadable::Corrupt {
        name: name.to_string(),
        reason,
    }
    .into()
}

/// One read at `off`; EINTR retried. An I/O error is a file the scanner cannot read either.
fn read_at(name: &str, file: &File, buf: &mut [u8], off: u64) -> Result<usize, IntegrityError> {
    loop {
        match file.read_at(buf, off) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(corrupt(name, format!("read error at byte {off}: {e}"))),
        }
    }
}

/// Fills `buf` from `off` unless the file ends first; returns the bytes read.
fn read_full(name: &str, file: &File, buf: &mut [u8], off: u64) -> Result<usize, IntegrityError> {
    let mut got = 0;
    while got < buf.len() {
        let n = read_at(name, file, &mut buf[got..], off + got as u64)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clamav::cvd;
    use std::path::Path;
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    fn header(sigs: u64, md5: &str) -> Vec<u8> {
        let mut h =
            format!("ClamAV-VDB:22 Jun 2021 21-34 -0400:6:{sigs}:81:{md5}:sig:builder:1624412045")
                .into_bytes();
        h.resize(HEADER_LEN, b' ');
        h
    }

    fn md5_hex(b: &[u8]) -> String {
        use md5::Digest;
        hex(&md5::Md5::digest(b))
    }

    /// A tar member as ClamAV's own writer makes it (no ustar magic, zero padded).
    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:o}", data.len());
        h[124..124 + size.len()].copy_from_slice(size.as_bytes());
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum::<u32>() + 256;
        let sum = format!("{sum:06o}");
        h[148..154].copy_from_slice(sum.as_bytes());
        h.extend_from_slice(data);
        h.resize(h.len().div_ceil(512) * 512, 0);
        h
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> (LocalDb, File) {
        std::fs::write(dir.join(name), bytes).unwrap();
        let all = cvd::open_local_db(dir, name.split('.').next().unwrap()).unwrap();
        all.into_iter().find(|(l, _)| l.name() == name).unwrap()
    }

    fn check(dir: &Path, name: &str, bytes: &[u8]) -> Result<Verified, IntegrityError> {
        let (db, f) = write(dir, name, bytes);
        verify(&db, &f, None, later())
    }

    #[test]
    fn size_rule() {
        assert_eq!(min_body(0), 1);
        assert_eq!(min_body(16), 1);
        assert_eq!(min_body(17), 2);
        assert_eq!(min_body(2_000_000), 125_000);
        assert_eq!(min_body(u64::MAX), u64::MAX / 16 + 1);
        let d = tempfile::tempdir().unwrap();
        for name in ["daily.cvd", "daily.cld"] {
            for sigs in [0, 14, 2_000_000] {
                let e = check(d.path(), name, &header(sigs, "x")).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    format!(
                        "{name} is only a header claiming {sigs} signatures: no database after it"
                    )
                );
            }
            let mut f = header(2_000_000, "x");
            f.extend(vec![0u8; 124_999]);
            let e = check(d.path(), name, &f).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{name} is too small for the 2000000 signatures its header claims: 124999 \
                     bytes after the header, at least 125000 expected"
                )
            );
        }
    }

    #[test]
    fn cvd_md5_is_verified() {
        let d = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut good = header(14, &md5_hex(&body));
        good.extend(&body);
        let v = check(d.path(), "daily.cvd", &good).unwrap();
        assert!(matches!(
            v,
            Verified::Md5Read {
                bytes: 200_000,
                cached: Err(NotRemembered::NoCache)
            }
        ));
        // One byte flipped deep in the body.
        let mut bad = good.clone();
        bad[150_000] ^= 1;
        let e = check(d.path(), "daily.cvd", &bad).unwrap_err();
        let mut flipped = body.clone();
        flipped[150_000 - 512] ^= 1;
        assert_eq!(
            e.to_string(),
            format!(
                "daily.cvd is corrupt: MD5 mismatch (header {}, content {})",
                md5_hex(&body),
                md5_hex(&flipped)
            )
        );
        // Truncated.
        assert!(matches!(
            check(d.path(), "daily.cvd", &good[..100_000]),
            Err(IntegrityError::Unloadable(Unloadable::Md5Mismatch { .. }))
        ));
        // A header MD5 libclamav could never match.
        let mut upper = header(14, &md5_hex(&body).to_uppercase());
        upper.extend(&body);
        let e = check(d.path(), "daily.cvd", &upper)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not 32 hex digits"), "{e}");
        // A past deadline is no verdict.
        let (db, f) = write(d.path(), "daily.cvd", &good);
        let e = verify(&db, &f, None, Instant::now()).unwrap_err();
        assert!(matches!(e, IntegrityError::Unverified { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("cannot verify daily.cvd: time limit reached after 0 of 200000 bytes"),
            "{e}"
        );
    }

    #[test]
    fn cvd_md5_uses_and_fills_the_cache() {
        let d = tempfile::tempdir().unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            cache_dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let body = vec![7u8; 4096];
        let mut good = header(14, &md5_hex(&body));
        good.extend(&body);
        let (db, f) = write(d.path(), "daily.cvd", &good);
        let mut c = VerifiedCache::open(cache_dir.path()).unwrap();
        let v = verify(&db, &f, Some(&mut c), later()).unwrap();
        assert!(matches!(
            v,
            Verified::Md5Read {
                bytes: 4096,
                cached: Ok(())
            }
        ));
        let mut c = VerifiedCache::open(cache_dir.path()).unwrap();
        assert!(matches!(
            verify(&db, &f, Some(&mut c), later()).unwrap(),
            Verified::Md5Cached
        ));
        // Even past the deadline: nothing to read.
        assert!(matches!(
            verify(&db, &f, Some(&mut c), Instant::now()).unwrap(),
            Verified::Md5Cached
        ));
        // Rewritten in place with the same size and mtime put back: ctime still tells.
        let mtime = f.metadata().unwrap().modified().unwrap();
        let mut bad = good.clone();
        bad[1000] ^= 1;
        std::fs::write(d.path().join("daily.cvd"), &bad).unwrap();
        let w = std::fs::OpenOptions::new()
            .write(true)
            .open(d.path().join("daily.cvd"))
            .unwrap();
        w.set_modified(mtime).unwrap();
        let e = verify(&db, &f, Some(&mut c), later()).unwrap_err();
        assert!(
            matches!(
                e,
                IntegrityError::Unloadable(Unloadable::Md5Mismatch { .. })
            ),
            "{e}"
        );
    }

    #[test]
    fn cld_plain_tar_is_walked() {
        let d = tempfile::tempdir().unwrap();
        let mut tar = member("COPYING", b"AS IS\n");
        tar.extend(member("daily.info", b"ClamAV-VDB:...\n"));
        tar.extend(member("daily.hdb", &vec![b'a'; 5000]));
        let mut cld = header(14, "md5-of-the-published-cvd");
        cld.extend(&tar);
        assert!(matches!(
            check(d.path(), "daily.cld", &cld).unwrap(),
            Verified::CldTar { members: 3 }
        ));
        // Trailing end-of-archive blocks are fine.
        let mut ended = cld.clone();
        ended.extend([0u8; 1024]);
        assert!(matches!(
            check(d.path(), "daily.cld", &ended).unwrap(),
            Verified::CldTar { members: 3 }
        ));
        // The last member's padding may be missing.
        let unpadded = &cld[..cld.len() - (512 - 5000 % 512)];
        assert!(matches!(
            check(d.path(), "daily.cld", unpadded).unwrap(),
            Verified::CldTar { members: 3 }
        ));
        for (cut, want) in [
            (
                cld.len() - 600,
                "truncated: member daily.hdb needs 5000 bytes, the file ends",
            ),
            (512 + 512 + 512 + 100, "truncated: 100 bytes of a tar block"),
        ] {
            let e = check(d.path(), "daily.cld", &cld[..cut])
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("daily.cld is corrupt: "), "{e}");
            assert!(e.contains(want), "{e}");
        }
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = cld.clone();
            f(&mut v);
            check(d.path(), "daily.cld", &v).unwrap_err().to_string()
        };
        // The second member's header: after the file header, COPYING's header and data.
        const M2: usize = 512 * 3;
        let e = with(&|v| v[M2 + 5] = b'/');
        assert!(
            e.contains("tar member 2 at byte 1536: name \"daily/info\" holds a slash"),
            "{e}"
        );
        assert!(with(&|v| v[M2 + 156] = b'5').contains("type '5' is not a regular file"));
        assert!(with(&|v| v[M2 + 124..M2 + 136].fill(b'x')).contains("invalid size"));
        let e = with(&|v| v[M2 + 124..M2 + 136].copy_from_slice(b"37777777777\0"));
        assert!(
            e.contains("truncated: member daily.info needs 4294967295 bytes"),
            "{e}"
        );
        let e = with(&|v| v[M2 + 124..M2 + 136].copy_from_slice(b"77777777777\0"));
        assert!(e.contains("size out of range"), "{e}");
        assert!(
            with(&|v| v[512..519].copy_from_slice(b"NOTCOPY"))
                .contains("neither a tar starting with COPYING nor gzip")
        );
        // Compressed: magic only.
        let mut gz = header(14, "x");
        gz.extend([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        assert!(matches!(
            check(d.path(), "daily.cld", &gz).unwrap(),
            Verified::CldGzip
        ));
        let e = check(d.path(), "daily.cld", &gz[..512 + 6])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "daily.cld is corrupt: truncated: 6 bytes after the header"
        );
        // A .cld's header MD5 is not its own: never compared.
        assert!(check(d.path(), "daily.cld", &cld).is_ok());
    }

    #[test]
    fn cld_member_bound() {
        let d = tempfile::tempdir().unwrap();
        let mut cld = header(0, "x");
        cld.extend(member("COPYING", b""));
        for _ in 0..MAX_TAR_MEMBERS {
            cld.extend(member("x", b""));
        }
        let e = check(d.path(), "daily.cld", &cld).unwrap_err().to_string();
        assert!(e.contains("more than 10000 tar members"), "{e}");
    }

    #[test]
    fn verified_text() {
        assert_eq!(
            Verified::Md5Read {
                bytes: 9440,
                cached: Ok(())
            }
            .to_string(),
            "MD5 of 9440 bytes verified, remembered"
        );
        assert_eq!(
            Verified::Md5Read {
                bytes: 1,
                cached: Err(NotRemembered::NoCache)
            }
            .to_string(),
            "MD5 of 1 bytes verified, not remembered (no cache)"
        );
    }
}
