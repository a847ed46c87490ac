//! The TXT record `current.cvd.clamav.net`: `1.4.6:62:27472:1732530000:1:90:49192:336`.
//!
//! The fields, as libfreshclam reads them (`libfreshclam_internal.h` names 0, 3, 4 and 5;
//! `textrecordfield()` in `libfreshclam_internal.c` maps the databases to 1, 2, 6, 7):
//! 0 the newest ClamAV release (`DNS_UPDATEINFO_NEWVERSION`), 1 main, 2 daily, 3 the
//! record's time (`RECORDTIME`; freshclam distrusts a record over 12 h old), 4 the
//! version-warning flag (`VERSIONWARNING`: `0` silences freshclam's "Your ClamAV
//! installation is OUTDATED!"), 5 the functionality level of the published databases
//! (`REMOTEFLEVEL`: the f-level field of their CVD headers, 90 = ClamAV 0.100.0 for years;
//! freshclam 0.103 and later define it but no longer read it), 6 safebrowsing, 7 bytecode.

/// The fields of the TXT record the check uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsInfo {
    /// Field 0, e.g. `1.4.6`.
    pub(crate) clamav_version: String,
    /// Field 1.
    pub(crate) main: u32,
    /// Field 2: the published daily version.
    pub(crate) daily: u32,
    /// Field 3, when present and numeric.
    pub(crate) record_time: Option<i64>,
    /// Field 4: freshclam warns of an older engine than field 0 unless this is `0` (absent:
    /// no warning, as freshclam gives up on such a record).
    pub(crate) version_warning: bool,
    /// Field 5, when present and numeric: the functionality level the published databases
    /// need.
    pub(crate) flevel: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TxtError {
    #[error("TXT record is not printable ASCII")]
    NotAscii,
    #[error("TXT record has {0} field(s), expected at least 3")]
    TooFewFields(usize),
    #[error("TXT field {index} ({name}) {value:?} is not a version number")]
    BadNumber {
        index: usize,
        name: &'static str,
        value: String,
    },
}

/// Parses `1.4.6:62:27472:1732530000:1:90:49192:336`. Fields past the third are optional and
/// extra fields are ignored: ClamAV has added fields before.
pub(crate) fn parse_txt(bytes: &[u8]) -> Result<DnsInfo, TxtError> {
    if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(TxtError::NotAscii);
    }
    // All printable ASCII, so this cannot fail.
    let text = std::str::from_utf8(bytes)
        .map_err(|_| TxtError::NotAscii)?
        .trim();
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() < 3 {
        return Err(TxtError::TooFewFields(fields.len()));
    }
    let num = |index: usize, name: &'static str| -> Result<u32, TxtError> {
        let v = fields[index].trim();
        let bad = || TxtError::BadNumber {
            index,
            name,
            value: v.to_string(),
        };
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        v.parse().map_err(|_| bad())
    };
    Ok(DnsInfo {
        clamav_version: fields[0].trim().to_string(),
        main: num(1, "main")?,
        daily: num(2, "daily")?,
        record_time: fields.get(3).and_then(|t| t.trim().parse().ok()),
        version_warning: fields.get(4).is_some_and(|f| !f.trim().starts_with('0')),
        flevel: fields
            .get(5)
            .map(|f| f.trim())
            .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|f| f.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_record_fields() {
        let i = parse_txt(b"1.4.6:62:27472:1732530000:1:90:49192:336").unwrap();
        assert_eq!(i.clamav_version, "1.4.6");
        assert_eq!(
            (i.main, i.daily, i.record_time),
            (62, 27472, Some(1732530000))
        );
        // Extra and missing optional fields are fine.
        assert_eq!(
            parse_txt(b"1.4.6:62:27472:1:2:3:4:5:6:7:new")
                .unwrap()
                .daily,
            27472
        );
        assert_eq!((i.version_warning, i.flevel), (true, Some(90)));
        assert_eq!(parse_txt(b"1.4.6:62:27472").unwrap().record_time, None);
        let short = parse_txt(b"1.4.6:62:27472").unwrap();
        assert_eq!((short.version_warning, short.flevel), (false, None));
        let quiet = parse_txt(b"1.4.6:62:27472:1:0:x").unwrap();
        assert_eq!((quiet.version_warning, quiet.flevel), (false, None));
        assert_eq!(parse_txt(b"1.4.6:62:27472:1:1:+9").unwrap().flevel, None);
        assert_eq!(parse_txt(b" 1.4.6:62:27472:x ").unwrap().record_time, None);
    }

    #[test]
    fn bad_txt_records() {
        assert_eq!(parse_txt(b""), Err(TxtError::TooFewFields(1)));
        assert_eq!(
            parse_txt(b"1.4.6:62"),
            Err(TxtError::TooFewFields(2)),
            "truncated"
        );
        assert_eq!(
            parse_txt("1.4.6:62:2747é".as_bytes()),
            Err(TxtError::NotAscii)
        );
        assert_eq!(
            parse_txt(b"1.4.6:62:27472\n"),
            Err(TxtError::NotAscii),
            "control char"
        );
        assert_eq!(parse_txt(b"1.4.6:62:\xff"), Err(TxtError::NotAscii));
        for bad in [
            &b"1.4.6:62:99999999999"[..], // overflows u32
            b"1.4.6:62:",                 // missing daily
            b"1.4.6:62:-1",
            b"1.4.6:62:+5",
            b"1.4.6:62:27472.5",
            b"1.4.6:x:27472",
        ] {
            assert!(
                matches!(parse_txt(bad), Err(TxtError::BadNumber { .. })),
                "{}",
                bad.escape_ascii()
            );
        }
        let e = parse_txt(b"1.4.6:62:abc").unwrap_err().to_string();
        assert!(e.contains("daily") && e.contains("abc"), "{e}");
    }
}
