//! The real check binary against databases no scanner could load.

mod support;

use clamav_freshen::test_support::freshclam_dat;
use support::dns::DnsServer;
use support::{check_dir, cvd, now, status, txt, utc, write_daily};
use tempfile::tempdir;

#[test]
fn header_only_or_too_small_files_are_critical() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    // 512 bytes claiming two million signatures, as a failed download could leave it.
    std::fs::write(d.path().join("daily.cvd"), support::header(27472, now())).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        status(&out),
        "CLAMAV CRITICAL - daily.cvd is only a header claiming 2076543 signatures: no \
         database after it"
    );
    assert!(
        srv.seen().is_empty(),
        "no DNS needed to know: {:?}",
        srv.seen()
    );
    // Zero signatures claimed: still no database.
    std::fs::write(
        d.path().join("daily.cvd"),
        support::header_with(27472, now(), 0, "x"),
    )
    .unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("is only a header claiming 0 signatures"),
        "{out}"
    );
    // A body, but far too small for the count (a cut-off download).
    let mut f = cvd(27472, now());
    f.truncate(512 + 4000);
    std::fs::write(d.path().join("daily.cvd"), &f).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains(
            "daily.cvd is too small for the 2076543 signatures its header claims: 4000 bytes \
             after the header, at least 129784 expected"
        ),
        "{out}"
    );
    // The same for a header-only daily.cld, even beside a good daily.cvd.
    write_daily(d.path(), 27472, now());
    std::fs::write(d.path().join("daily.cld"), support::header(27400, now())).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("daily.cld is only a header"), "{out}");
    // And the cool-down note still ends the text.
    let until = now() + 3600;
    std::fs::write(d.path().join("freshclam.dat"), freshclam_dat("u", until)).unwrap();
    let (_, out) = check_dir(d.path(), &srv, &[]);
    assert!(
        status(&out).ends_with(&format!("; freshclam CDN cool-down until {}", utc(until))),
        "{out}"
    );
}

#[test]
fn md5_mismatch_in_a_cvd_is_critical() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    let good = cvd(27472, now() - 600);
    let mut bad = good.clone();
    let i = good.len() - 1000;
    bad[i] ^= 0x40;
    std::fs::write(d.path().join("daily.cvd"), &bad).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    let want = format!(
        "CLAMAV CRITICAL - daily.cvd is corrupt: MD5 mismatch (header {}, content {})",
        support::md5_hex(&good[512..]),
        support::md5_hex(&bad[512..])
    );
    assert_eq!(status(&out), want);
    // The MD5 the header names is what md5sum says of everything after it.
    std::fs::write(d.path().join("daily.cvd"), &good).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daily.cvd: MD5 of 133880 bytes verified"),
        "{out}"
    );
}

#[test]
fn a_broken_cld_is_critical_a_whole_one_is_fine() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    let cld = support::cld(27472, now() - 600);
    std::fs::write(d.path().join("daily.cld"), &cld).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daily.cld: size and tar structure verified (3 members)"),
        "{out}"
    );
    // Cut short in the middle of daily.hdb.
    std::fs::write(d.path().join("daily.cld"), &cld[..cld.len() - 100_000]).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).starts_with(
            "CLAMAV CRITICAL - daily.cld is corrupt: truncated: member daily.hdb needs 519135 \
             bytes, the file ends"
        ),
        "{out}"
    );
    // Overwritten with something that is neither tar nor gzip.
    let mut junk = cld.clone();
    junk[512..1024].fill(b'A');
    std::fs::write(d.path().join("daily.cld"), &junk).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("neither a tar starting with COPYING nor gzip"),
        "{out}"
    );
}
