//! The check on ClamAV's real signed test databases ($CLAMAV_TESTDB, default
//! ../shared/clamav-testdb beside the repository). Prints SKIP and passes when absent.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::dns::DnsServer;
use support::{check_dir, status, testdb, txt};
use tempfile::tempdir;

/// One test, so that absent databases make one SKIP line.
#[test]
fn real_test_databases() {
    let Some(db) = testdb("real_test_databases") else {
        return;
    };
    versions_and_states(&db);
    every_signed_database_verifies_and_is_remembered(&db);
    a_flipped_byte_in_a_signed_database_is_caught(&db);
}

fn versions_and_states(db: &Path) {
    let d = tempdir().unwrap();
    std::fs::copy(db.join("test-3.cvd"), d.path().join("daily.cvd")).unwrap();

    let srv = DnsServer::start(txt(3));
    let (code, out) = check_dir(d.path(), &srv, &["-v", "--max-age", "87600"]);
    assert_eq!(code, 0, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with("CLAMAV OK - daily 3 is current, built 2021-06-23 00:40 UTC"),
        "{line}"
    );
    assert!(
        out.contains("daily.cvd version 3, built 22 Jun 2021 20-40 -0400"),
        "{out}"
    );
    assert!(
        out.contains("11 signatures, f-level 81, builder raynman"),
        "{out}"
    );

    let srv = DnsServer::start(txt(5));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("daily 3 is 2 revisions behind published 5"),
        "{out}"
    );

    // test-6 as daily.cld beside test-3's daily.cvd: the newer one counts. (A .cld with a
    // .cvd's gzip body is what `CompressLocalDatabase yes` makes.)
    std::fs::copy(db.join("test-6.cvd"), d.path().join("daily.cld")).unwrap();
    let srv6 = DnsServer::start(txt(6));
    let (code, out) = check_dir(d.path(), &srv6, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("daily 6 is current"), "{out}");
    assert!(
        out.contains("daily.cld: size and gzip magic verified"),
        "{out}"
    );
    assert!(
        out.contains("daily.cvd: MD5 of 8971 bytes verified"),
        "{out}"
    );

    // Ahead of the published 5 yet built in 2021: not "newer than published", implausible.
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).starts_with(
            "CLAMAV CRITICAL - daily 6 is implausible: ahead of the published 5 but older \
             than 48h, built 2021-06-23 01:34 UTC ("
        ),
        "{out}"
    );

    // Years old and DNS silent on the name: stale, CRITICAL.
    let srv = DnsServer::start(support::dns::Mode::NxDomain);
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("daily 6 is stale"), "{out}");
}

fn every_signed_database_verifies_and_is_remembered(db: &Path) {
    let cache = tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = cache.path().to_str().unwrap();
    for n in 1..=6 {
        let d = tempdir().unwrap();
        let src = db.join(format!("test-{n}.cvd"));
        std::fs::copy(&src, d.path().join("daily.cvd")).unwrap();
        let body = std::fs::metadata(&src).unwrap().len() - 512;
        let srv = DnsServer::start(txt(n));
        let args = ["-v", "--max-age", "87600", "--cache-dir", c];
        let (code, out) = check_dir(d.path(), &srv, &args);
        assert_eq!(code, 0, "test-{n}: {out}");
        assert!(
            out.contains(&format!(
                "daily.cvd: MD5 of {body} bytes verified, remembered"
            )),
            "test-{n}: {out}"
        );
        let (code, out) = check_dir(d.path(), &srv, &args);
        assert_eq!(code, 0, "test-{n}: {out}");
        assert!(
            out.contains("daily.cvd: MD5 verified by an earlier run, file unchanged"),
            "test-{n}: {out}"
        );
    }
}

fn a_flipped_byte_in_a_signed_database_is_caught(db: &Path) {
    let d = tempdir().unwrap();
    let mut bytes = std::fs::read(db.join("test-6.cvd")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(d.path().join("daily.cvd"), &bytes).unwrap();
    let srv = DnsServer::start(txt(6));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).starts_with(
            "CLAMAV CRITICAL - daily.cvd is corrupt: MD5 mismatch (header \
             3e249e00076b0b15bb54ced37be880c7, content "
        ),
        "{out}"
    );
}
