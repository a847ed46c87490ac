//! The real check binary against databases no scanner could load, implausible versions,
//! and its verification cache (hit, miss, hostile).

mod support;

use clamav_freshen::test_support::freshclam_dat;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use support::dns::DnsServer;
use support::{check_dir, cvd, now, status, txt, utc, write_daily};
use tempfile::{TempDir, tempdir};

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

#[test]
fn implausible_versions_are_critical() {
    let srv = DnsServer::start(txt(27472));
    for (version, built, want) in [
        (
            u32::MAX,
            now(),
            "daily 4294967295 is implausible: 4294939823 revisions ahead of the published \
             27472 (at most 8 expected), built "
                .to_string(),
        ),
        (
            27473,
            0,
            "daily 27473 is implausible: ahead of the published 27472 but older than 48h, \
             built 1970-01-01 00:00 UTC ("
                .to_string(),
        ),
        (
            27473,
            now() - 49 * 3600,
            "daily 27473 is implausible: ahead of the published 27472 but older than 48h, \
             built "
                .to_string(),
        ),
        (
            27474,
            now() + 3 * 86400,
            "daily 27474 is implausible: ahead of the published 27472 but built in the future"
                .to_string(),
        ),
    ] {
        let d = tempdir().unwrap();
        write_daily(d.path(), version, built);
        let (code, out) = check_dir(d.path(), &srv, &[]);
        assert_eq!(code, 2, "{out}");
        let line = status(&out);
        assert!(
            line.starts_with(&format!("CLAMAV CRITICAL - {want}")),
            "{line}\nwant {want}"
        );
        assert!(line.contains(" lag=0;0;1;0;"), "{line}");
    }
    // A small lead of a fresh build is normal: the TXT record lags the mirror.
    for (version, built) in [(27473, now() - 3600), (27480, now() - 47 * 3600)] {
        let d = tempdir().unwrap();
        write_daily(d.path(), version, built);
        let (code, out) = check_dir(d.path(), &srv, &[]);
        assert_eq!(code, 0, "{out}");
        assert!(
            status(&out).contains(&format!("daily {version} is newer than published 27472")),
            "{out}"
        );
    }
}

// ---- the verification cache ----------------------------------------------------------

/// A cache directory as the package makes it: the check's own, 0755.
fn cache_dir() -> TempDir {
    let d = tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// The check with `-v` and `--cache-dir cache`.
fn check_cached(dir: &Path, srv: &DnsServer, cache: &Path) -> (i32, String) {
    check_dir(dir, srv, &["-v", "--cache-dir", cache.to_str().unwrap()])
}

const READ: &str = "daily.cvd: MD5 of ";
const HIT: &str = "daily.cvd: MD5 verified by an earlier run, file unchanged";

#[test]
fn cache_miss_then_hit_then_miss_when_the_file_changes() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    let cache = cache_dir();
    write_daily(d.path(), 27472, now() - 600);
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daily.cvd: MD5 of 133880 bytes verified, remembered"),
        "{out}"
    );
    let state = std::fs::read_to_string(cache.path().join("verified")).unwrap();
    assert!(state.starts_with("clamav-freshen verified 1\n"), "{state}");
    assert_eq!(state.lines().count(), 2, "{state}");

    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(HIT), "{out}");
    assert!(!out.contains(READ), "{out}");

    // Corrupted in place, the mtime put back: same inode, size and mtime, ctime differs.
    let path = d.path().join("daily.cvd");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100_000] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("daily.cvd is corrupt: MD5 mismatch"),
        "{out}"
    );
    // And stays so: a mismatch is never remembered.
    let (code, _) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 2);

    // A new daily (freshclam renames a new file in): read once, then remembered.
    write_daily(d.path(), 27473, now() - 60);
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(READ), "{out}");
    let (_, out) = check_cached(d.path(), &srv, cache.path());
    assert!(out.contains(HIT), "{out}");
}

#[test]
fn hostile_or_garbage_cache_files_are_ignored_and_replaced() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 600);
    let cache = cache_dir();
    let (_, out) = check_cached(d.path(), &srv, cache.path());
    assert!(out.contains(READ), "{out}");
    let good = std::fs::read(cache.path().join("verified")).unwrap();
    let file = cache.path().join("verified");

    // Garbage: ignored, verified anyway, rewritten.
    std::fs::write(&file, b"\x00\xffnot a cache\n").unwrap();
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("verification cache: file ignored (not a cache file of this format)"),
        "{out}"
    );
    assert!(out.contains(READ), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), good);

    // A symlink to a valid cache file elsewhere: never followed, replaced by a real file.
    let elsewhere = cache.path().join("elsewhere");
    std::fs::write(&elsewhere, &good).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("file ignored (is a symbolic link (not followed))"),
        "{out}"
    );
    assert!(out.contains(READ), "{out}");
    assert!(
        !std::fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&elsewhere).unwrap(), good, "target untouched");

    // Huge: not read.
    std::fs::File::create(&file)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("larger than 4096"), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), good);

    // A FIFO: no hang.
    std::fs::remove_file(&file).unwrap();
    nix::unistd::mkfifo(&file, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (code, out) = check_cached(d.path(), &srv, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("file ignored (not a regular file)"), "{out}");

    // Another user's file (needs root to make one).
    if nix::unistd::geteuid().is_root() {
        std::fs::remove_file(&file).unwrap();
        std::fs::write(&file, &good).unwrap();
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        let (code, out) = check_cached(d.path(), &srv, cache.path());
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("file ignored (owned by uid 65534, not 0)"),
            "{out}"
        );
        assert!(out.contains(READ), "{out}");
        assert_eq!(
            std::fs::metadata(&file).unwrap().uid(),
            0,
            "replaced by our own"
        );
    }
    let (_, out) = check_cached(d.path(), &srv, cache.path());
    assert!(out.contains(HIT), "{out}");
}

#[test]
fn an_unusable_cache_directory_means_verifying_every_run() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 600);
    let base = cache_dir();
    let real = base.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = base.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let cases: Vec<(&Path, &str)> = vec![
        (&link, "is a symbolic link (not followed)"),
        (Path::new("/nonexistent/cache"), "No such file or directory"),
    ];
    for (dir, why) in cases {
        for _ in 0..2 {
            let (code, out) = check_cached(d.path(), &srv, dir);
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("verification cache: not used ("), "{out}");
            assert!(out.contains(why), "{out}");
            assert!(
                out.contains("MD5 of 133880 bytes verified, not remembered"),
                "{out}"
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(&real).unwrap().count(),
        0,
        "nothing written through"
    );
    // Writable by others: someone else could plant entries.
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, out) = check_cached(d.path(), &srv, &real);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("is writable by group or others (mode 0777)"),
        "{out}"
    );
    // Another user's directory (nobody's, as the check would see /var/cache/clamav-freshen
    // when run as root, or by the wrong user).
    if nix::unistd::geteuid().is_root() {
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
        let (code, out) = check_cached(d.path(), &srv, &real);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("is owned by uid 65534, not by this check's uid 0"),
            "{out}"
        );
        assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    }
}
