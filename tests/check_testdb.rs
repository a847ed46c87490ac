//! The check on ClamAV's real signed test databases ($CLAMAV_TESTDB, default
//! ../shared/clamav-testdb beside the repository). Prints SKIP and passes when absent.

mod support;

use support::dns::DnsServer;
use support::{check_dir, status, testdb, txt};
use tempfile::tempdir;

#[test]
fn real_test_databases() {
    let Some(db) = testdb("real_test_databases") else {
        return;
    };
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

    // test-6 as daily.cld beside test-3's daily.cvd: the newer one counts.
    std::fs::copy(db.join("test-6.cvd"), d.path().join("daily.cld")).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains("daily 6 is newer than published 5"),
        "{out}"
    );

    // Years old and DNS silent on the name: stale, CRITICAL.
    let srv = DnsServer::start(support::dns::Mode::NxDomain);
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("daily 6 is stale"), "{out}");
}
