//! The 512-byte text header of a ClamAV database (`.cvd` / `.cld`).
//!
//! `ClamAV-VDB:<build time>:<version>:<sigs>:<f-level>:<md5>:<dsig>:<builder>:<stime>`,
//! space padded. Only the header is parsed here: the version is all `clamscan -V` reports
//! too. Whether the rest of the file can be loaded is the check's question
//! (`check::integrity`); this module hands it the open file.

use crate::system::secure_open::{self, Access, OpenError, Rules};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Size of the text header at the start of every CVD/CLD file.
pub(crate) const HEADER_LEN: usize = 512;
const MAGIC: &[u8] = b"ClamAV-VDB:";

#[derive(Debug, thiserror::Error)]
pub(crate) enum CvdError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: DbReadError },
    #[error("{path}: header is truncated ({len} of {HEADER_LEN} bytes)")]
    Truncated { path: PathBuf, len: usize },
    #[error("{path}: not a ClamAV database header ({reason})")]
    Corrupt { path: PathBuf, reason: HeaderError },
    #[error("no daily.cvd or daily.cld in {0}")]
    NoDatabase(PathBuf),
}

/// What the header says about one database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CvdHeader {
    /// Build time as written, e.g. `22 Jun 2021 21-34 -0400`.
    pub(crate) build_time: String,
    pub(crate) version: u32,
    pub(crate) sigs: u64,
    pub(crate) flevel: u32,
    /// Field 6: MD5 of everything after the header, as ClamAV built it (lowercase hex in a
    /// .cvd; in a .cld it still names the .cvd body the header came from).
    pub(crate) md5: String,
    pub(crate) builder: String,
    /// Build time in seconds since the epoch (field 8); absent in very old headers.
    pub(crate) stime: Option<i64>,
}

impl CvdHeader {
    /// Build time as seconds since the epoch: `stime` when present, else the text time.
    pub(crate) fn build_epoch(&self) -> Option<i64> {
        self.stime.or_else(|| parse_build_time(&self.build_time))
    }
}

/// Why 512 bytes are not a ClamAV database header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error("missing ClamAV-VDB magic")]
    NoMagic,
    #[error("header is not ASCII text")]
    NotAscii,
    #[error("expected at least 8 fields, found {0}")]
    TooFewFields(usize),
    #[error("{field} {value:?} is not a number")]
    NotANumber { field: &'static str, value: String },
    #[error("{field} {value:?} is out of range")]
    OutOfRange { field: &'static str, value: String },
    /// A number that does not fit its field's type.
    #[error("{0} is out of range")]
    TooLarge(&'static str),
    #[error("build time {0:?} is not a number")]
    BuildTime(String),
}

/// Parses a header from the first bytes of a file. `bytes` may be longer than 512.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<CvdHeader, HeaderError> {
    let head = &bytes[..bytes.len().min(HEADER_LEN)];
    if !head.starts_with(MAGIC) {
        return Err(HeaderError::NoMagic);
    }
    let text = std::str::from_utf8(head).map_err(|_| HeaderError::NotAscii)?;
    if !text.is_ascii() {
        return Err(HeaderError::NotAscii);
    }
    let text = text.trim_end_matches([' ', '\0', '\n', '\r']);
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() < 8 {
        return Err(HeaderError::TooFewFields(fields.len()));
    }
    let num = |i: usize, field: &'static str| -> Result<u64, HeaderError> {
        let f = fields[i].trim();
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeaderError::NotANumber {
                field,
                value: f.to_string(),
            });
        }
        f.parse::<u64>().map_err(|_| HeaderError::OutOfRange {
            field,
            value: f.to_string(),
        })
    };
    let version =
        u32::try_from(num(2, "version")?).map_err(|_| HeaderError::TooLarge("version"))?;
    let sigs = num(3, "signature count")?;
    let flevel = u32::try_from(num(4, "f-level")?).map_err(|_| HeaderError::TooLarge("f-level"))?;
    let stime = match fields.get(8).map(|s| s.trim()) {
        Some(s) if !s.is_empty() => Some(
            s.parse::<i64>()
                .ok()
                .filter(|t| *t >= 0)
                .ok_or_else(|| HeaderError::BuildTime(s.to_string()))?,
        ),
        _ => None,
    };
    Ok(CvdHeader {
        build_time: fields[1].trim().to_string(),
        version,
        sigs,
        flevel,
        md5: fields[5].trim().to_string(),
        builder: fields[7].trim().to_string(),
        stime,
    })
}

/// How a file in the database directory must be: a regular file of anyone's (clamav's),
/// never reached through a symlink, opened without blocking on a FIFO or a device.
pub(crate) const DB_FILE: Rules = Rules::foreign_file();

/// Why a file in the database directory could not be read, in the words the check has
/// always used (after the file's path).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbReadError {
    #[error("is a symbolic link (not followed)")]
    Symlink,
    #[error("not a regular file")]
    NotRegular,
    #[error("{}", std::io::Error::from(nix::errno::Errno::ENOENT))]
    NotFound,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// What [`DB_FILE`] does not ask about (an owner, a mode, a size): never seen here.
    #[error(transparent)]
    Refused(OpenError),
}

impl DbReadError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, DbReadError::NotFound)
    }
}

impl From<OpenError> for DbReadError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::NotFound { .. } => DbReadError::NotFound,
            OpenError::Symlink { .. } => DbReadError::Symlink,
            OpenError::Kind { .. } => DbReadError::NotRegular,
            OpenError::Open { source, .. } => DbReadError::Io(source.into()),
            OpenError::Read { source, .. } | OpenError::Connect { source, .. } => {
                DbReadError::Io(source)
            }
            e @ (OpenError::Owner { .. }
            | OpenError::Writable { .. }
            | OpenError::TooLarge { .. }) => DbReadError::Refused(e),
        }
    }
}

/// Opens a file in the database directory for reading, which the clamav user can write,
/// through the one secure open ([`DB_FILE`]): a symlink is not followed, and anything but a
/// regular file (a FIFO would block the open or the read forever, a device like /dev/zero
/// never ends) is refused.
pub(crate) fn open_db_file(path: &Path) -> Result<File, DbReadError> {
    Ok(secure_open::open(path, Access::Read, &DB_FILE)?)
}

/// Reads and parses the header of one file and keeps the file open (positioned after the
/// header), so that whatever is checked next is the same file, not a later replacement.
pub(crate) fn open_header(path: &Path) -> Result<(CvdHeader, File), CvdError> {
    let io = |source: DbReadError| CvdError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = open_db_file(path).map_err(io)?;
    let mut buf = [0u8; HEADER_LEN];
    let mut len = 0;
    while len < HEADER_LEN {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e.into())),
        }
    }
    if len < HEADER_LEN {
        return Err(CvdError::Truncated {
            path: path.to_path_buf(),
            len,
        });
    }
    let header = parse_header(&buf).map_err(|reason| CvdError::Corrupt {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok((header, f))
}

/// The local daily database: whichever of daily.cvd / daily.cld has the higher version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalDb {
    pub(crate) file: PathBuf,
    pub(crate) header: CvdHeader,
}

/// The two containers a database comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbFormat {
    /// As published: header + tar.gz, the header's MD5 covers the body.
    Cvd,
    /// As freshclam builds it from incremental updates: header copied from the .info file,
    /// body a plain tar (or a tar.gz with `CompressLocalDatabase yes`).
    Cld,
}

impl LocalDb {
    /// From the file name, as libclamav decides it.
    pub(crate) fn format(&self) -> DbFormat {
        match self.file.extension().and_then(|e| e.to_str()) {
            Some("cld") => DbFormat::Cld,
            _ => DbFormat::Cvd,
        }
    }

    /// `daily.cvd`, for messages.
    pub(crate) fn name(&self) -> String {
        self.file.file_name().map_or_else(
            || self.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// Finds the newest daily database in `dir`, like `clamscan -V` does.
///
/// A file that exists but cannot be read or parsed is an error, even when the other one is
/// fine: a corrupt database is a fault the admin must hear about.
pub(crate) fn local_daily(dir: &Path) -> Result<LocalDb, CvdError> {
    local_db(dir, "daily")
}

/// Same as [`local_daily`] for any database name (`main`, `bytecode`, ...).
pub(crate) fn local_db(dir: &Path, name: &str) -> Result<LocalDb, CvdError> {
    let mut all = open_local_db(dir, name)?;
    Ok(all.swap_remove(0).0)
}

/// Every `<name>.cvd` / `<name>.cld` in `dir` with its header and open file, the one with
/// the higher version first (the .cvd on a tie, as [`local_db`] picks it). Never empty:
/// none is [`CvdError::NoDatabase`]. Both matter to a scanner: libclamav refuses to load a
/// database whose duplicate (.cvd beside .cld) fails its own verification.
pub(crate) fn open_local_db(dir: &Path, name: &str) -> Result<Vec<(LocalDb, File)>, CvdError> {
    let mut found: Vec<(LocalDb, File)> = Vec::with_capacity(2);
    for ext in ["cvd", "cld"] {
        let file = dir.join(format!("{name}.{ext}"));
        let (header, f) = match open_header(&file) {
            Err(CvdError::Read { source, .. }) if source.is_not_found() => continue,
            r => r?,
        };
        found.push((LocalDb { file, header }, f));
    }
    if found.len() == 2 && found[1].0.header.version > found[0].0.header.version {
        found.swap(0, 1);
    }
    if found.is_empty() {
        return Err(CvdError::NoDatabase(dir.to_path_buf()));
    }
    Ok(found)
}

/// Parses `22 Jun 2021 21-34 -0400` into seconds since the epoch.
pub(crate) fn parse_build_time(s: &str) -> Option<i64> {
    let mut it = s.split_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = it.next()?.parse().ok()?;
    let (h, m) = it.next()?.split_once('-')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let tz = it.next()?;
    // The year bound keeps the arithmetic below from overflowing on a hostile header; the
    // ASCII check keeps the byte slicing of `tz` on character boundaries.
    if it.next().is_some()
        || !(1..=31).contains(&day)
        || !(1..=9999).contains(&year)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&m)
        || tz.len() != 5
        || !tz.is_ascii()
    {
        return None;
    }
    let sign = match &tz[..1] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let tzh: i64 = tz[1..3].parse().ok()?;
    let tzm: i64 = tz[3..5].parse().ok()?;
    let local = days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60;
    Some(local - sign * (tzh * 3600 + tzm * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(HEADER_LEN, b' ');
        v
    }

    const REAL: &str = "ClamAV-VDB:22 Jun 2021 21-34 -0400:6:14:81:3e249e00076b0b15bb54ced37be880c7:Dou6:micasnyd:1624412045";

    #[test]
    fn parses_a_real_header() {
        let h = parse_header(&header(REAL)).unwrap();
        assert_eq!(h.version, 6);
        assert_eq!(h.sigs, 14);
        assert_eq!(h.flevel, 81);
        assert_eq!(h.md5, "3e249e00076b0b15bb54ced37be880c7");
        assert_eq!(h.builder, "micasnyd");
        assert_eq!(h.stime, Some(1624412045));
        assert_eq!(h.build_epoch(), Some(1624412045));
    }

    #[test]
    fn text_build_time_matches_stime() {
        // 21:34 -0400 is 01:34 UTC the next day; stime is a few seconds later.
        let t = parse_build_time("22 Jun 2021 21-34 -0400").unwrap();
        assert_eq!(t, 1624412040);
        assert_eq!(parse_build_time("1 Jan 1970 00-00 +0000"), Some(0));
        assert_eq!(parse_build_time("31 Foo 2021 00-00 +0000"), None);
        assert_eq!(parse_build_time("1 Jan 2021 25-00 +0000"), None);
        assert_eq!(parse_build_time(""), None);
        // Hostile values: no overflow, no slicing inside a character, just "unknown".
        assert_eq!(
            parse_build_time("1 Jan 9223372036854775807 00-00 +0000"),
            None
        );
        assert_eq!(
            parse_build_time("1 Jan -9223372036854775808 00-00 +0000"),
            None
        );
        assert_eq!(parse_build_time("1 Jan 2021 -5-00 +0000"), None);
        assert_eq!(parse_build_time("1 Jan 2021 00-00 \u{e9}+12"), None);
    }

    #[test]
    fn header_without_stime_uses_text_time() {
        let h = parse_header(&header(
            "ClamAV-VDB:22 Jun 2021 21-34 -0400:6:14:81:md5:dsig:b",
        ))
        .unwrap();
        assert_eq!(h.stime, None);
        assert_eq!(h.build_epoch(), Some(1624412040));
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(parse_header(b"").is_err());
        assert!(parse_header(&header("ClamAV-VDC:x:1:2:3:4:5:6:7")).is_err());
        assert!(
            parse_header(&header("ClamAV-VDB:x:1:2")).is_err(),
            "missing fields"
        );
        assert!(
            parse_header(&header("ClamAV-VDB:x::2:3:4:5:6:7")).is_err(),
            "empty version"
        );
        assert!(
            parse_header(&header("ClamAV-VDB:x:-1:2:3:4:5:6:7")).is_err(),
            "negative"
        );
        assert!(
            parse_header(&header("ClamAV-VDB:x:99999999999:2:3:4:5:6:7")).is_err(),
            "overflow"
        );
        assert!(
            parse_header(&header("ClamAV-VDB:x:1:2:3:4:5:6:abc")).is_err(),
            "bad stime"
        );
        let mut non_ascii = header("ClamAV-VDB:x:1:2:3:4:5:6:7");
        non_ascii[20] = 0xe9;
        assert!(parse_header(&non_ascii).is_err(), "non-ASCII");
    }

    #[test]
    fn local_daily_takes_the_higher_of_cvd_and_cld() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            local_daily(d.path()),
            Err(CvdError::NoDatabase(_))
        ));
        std::fs::write(
            d.path().join("daily.cvd"),
            header(&REAL.replace(":6:14:", ":5:14:")),
        )
        .unwrap();
        std::fs::write(d.path().join("daily.cld"), header(REAL)).unwrap();
        let db = local_daily(d.path()).unwrap();
        assert_eq!(db.header.version, 6);
        assert!(db.file.ends_with("daily.cld"));
        assert_eq!(db.format(), DbFormat::Cld);
        assert_eq!(db.name(), "daily.cld");
        // Both, the newer first, each with its own open file.
        let all = open_local_db(d.path(), "daily").unwrap();
        let names: Vec<String> = all.iter().map(|(l, _)| l.name()).collect();
        assert_eq!(names, ["daily.cld", "daily.cvd"]);
        assert_eq!(all[1].0.format(), DbFormat::Cvd);
        // A tie keeps the .cvd first.
        std::fs::write(d.path().join("daily.cvd"), header(REAL)).unwrap();
        assert!(local_daily(d.path()).unwrap().file.ends_with("daily.cvd"));
    }

    #[test]
    fn fifo_device_and_symlink_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let good = d.path().join("good.cvd");
        std::fs::write(&good, header(REAL)).unwrap();
        // A FIFO without a writer would block open/read forever.
        nix::unistd::mkfifo(
            &d.path().join("daily.cld"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let e = local_daily(d.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_file(d.path().join("daily.cld")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.path().join("daily.cld")).unwrap();
        let e = local_daily(d.path()).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        std::fs::remove_file(d.path().join("daily.cld")).unwrap();
        std::os::unix::fs::symlink(&good, d.path().join("daily.cvd")).unwrap();
        assert!(
            local_daily(d.path()).is_err(),
            "a symlink is never followed"
        );
        assert_eq!(open_header(&good).unwrap().0.version, 6);
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_an_error_even_beside_a_good_one() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("daily.cvd"), header(REAL)).unwrap();
        std::fs::write(d.path().join("daily.cld"), &REAL.as_bytes()[..100]).unwrap();
        assert!(matches!(
            local_daily(d.path()),
            Err(CvdError::Truncated { len: 100, .. })
        ));
        std::fs::write(d.path().join("daily.cld"), vec![0u8; 600]).unwrap();
        assert!(matches!(
            local_daily(d.path()),
            Err(CvdError::Corrupt { .. })
        ));
    }
}
