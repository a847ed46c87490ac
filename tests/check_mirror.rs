//! The published version from a mirror (issue 15): the check asks the first 512 bytes of
//! daily.cld/daily.cvd as freshclam does, and every way a web server, CDN or proxy answers
//! leaves it right or UNKNOWN (never OK without knowing). In-process HTTP(S) mirror and DNS
//! responder; the real check binary.

mod support;

use support::dns::{DnsServer, Mode as Dns};
use support::http::{HttpServer, Mode, TestCa, files};
use support::{check, check_dir, cvd, header, now, status, txt, write_daily};
use tempfile::tempdir;

fn db(version: u32) -> tempfile::TempDir {
    let d = tempdir().unwrap();
    write_daily(d.path(), version, now() - 3600);
    d
}

/// The check on `dir` against the mirror `url` (-m), a DNS server that is never asked.
fn with_mirror(dir: &std::path::Path, url: &str, extra: &[&str]) -> (i32, String) {
    let dns = DnsServer::start(Dns::ServFail);
    let mut args = vec!["-m", url];
    args.extend_from_slice(extra);
    let r = check_dir(dir, &dns, &args);
    assert!(dns.seen().is_empty(), "DNS asked with -m: {:?}", dns.seen());
    r
}

#[test]
fn range_honoured_gives_the_mirrors_daily_and_names_it() {
    let d = db(27470);
    let m = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27472, now() - 600))]),
        range: true,
    });
    let (code, out) = with_mirror(d.path(), &m.url(), &[]);
    assert_eq!(code, 2, "{out}");
    let want = format!(
        "daily 27470 is 2 revisions behind published 27472 (published by mirror {}: daily 27472)",
        m.url()
    );
    assert!(status(&out).contains(&want), "{out}");
    assert!(status(&out).contains("published=27472"), "{out}");
    let seen = m.seen();
    // .cld first (a private mirror may hold one), then .cvd; each with freshclam's Range.
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /daily.cld HTTP/1.1\r\n"),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with("GET /daily.cvd HTTP/1.1\r\n"),
        "{seen:?}"
    );
    assert!(seen[1].contains("\r\nRange: bytes=0-511\r\n"), "{seen:?}");
    assert!(
        seen[1].contains(&format!("\r\nHost: 127.0.0.1:{}\r\n", m.port)),
        "{seen:?}"
    );

    let d = db(27472);
    let (code, out) = with_mirror(d.path(), &m.url(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains("daily 27472 is current (published by mirror"),
        "{out}"
    );
}

#[test]
fn a_cld_on_the_mirror_wins_and_a_path_is_kept() {
    let d = db(27472);
    let m = HttpServer::start(Mode::Files {
        files: files(&[
            ("daily.cld", cvd(27474, now())),
            ("daily.cvd", cvd(27472, now())),
        ]),
        range: true,
    });
    let (code, out) = with_mirror(d.path(), &format!("{}/clamav/", m.url()), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("published 27474"), "{out}");
    assert!(
        m.seen()[0].starts_with("GET /clamav/daily.cld "),
        "{:?}",
        m.seen()
    );
}

#[test]
fn range_ignored_reads_only_the_header_of_the_whole_file() {
    let d = db(27472);
    let m = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27472, now()))]),
        range: false,
    });
    let (code, out) = with_mirror(d.path(), &m.url(), &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("daily.cvd Range bytes=0-511: HTTP 200 OK"),
        "{out}"
    );
}

#[test]
fn chunked_replies_are_decoded() {
    let d = db(27470);
    let m = HttpServer::start(Mode::Chunked(files(&[("daily.cvd", cvd(27471, now()))])));
    let (code, out) = with_mirror(d.path(), &m.url(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        status(&out).contains("1 revision behind published 27471"),
        "{out}"
    );
}

fn assert_unknown(mode: Mode, reason: &str) -> String {
    let d = db(27472);
    let m = HttpServer::start(mode);
    let (code, out) = with_mirror(d.path(), &m.url(), &["-t", "2"]);
    assert_eq!(code, 3, "{out}");
    let line = status(&out).to_string();
    assert!(
        line.contains("cannot learn the published version: mirror http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains(reason), "want {reason:?}: {line}");
    line
}

#[test]
fn every_failure_is_unknown_with_its_reason() {
    assert_unknown(
        Mode::Status(404),
        "daily.cld: not found, daily.cvd: not found",
    );
    assert_unknown(Mode::Status(500), "daily.cld: HTTP 500 Status 500");
    assert_unknown(
        Mode::Files {
            files: files(&[("daily.cvd", b"tiny".to_vec())]),
            range: true,
        },
        "daily.cvd: HTTP 416: the file is smaller than 512 bytes",
    );
    assert_unknown(
        Mode::Files {
            files: files(&[("daily.cvd", b"tiny".to_vec())]),
            range: false,
        },
        "daily.cvd: only 4 of 512 bytes",
    );
    assert_unknown(
        Mode::Files {
            files: files(&[("daily.cvd", vec![b'<'; 4096])]),
            range: true,
        },
        "daily.cvd: not a ClamAV database header (missing ClamAV-VDB magic)",
    );
    assert_unknown(
        Mode::Raw(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()),
        "bad reply: not an HTTP/1.x status line",
    );
    assert_unknown(Mode::Raw(Vec::new()), "connection closed before the reply");
    let line = assert_unknown(Mode::Hang, "timed out");
    // A timeout on the first file is the mirror's: the second is not asked.
    assert!(!line.contains("daily.cvd"), "{line}");
}

#[test]
fn redirects_are_followed_a_few_times() {
    let d = db(27470);
    let m = HttpServer::start(Mode::Redirect {
        location: "/real/daily.cvd".into(),
        target: "/real/".into(),
        files: files(&[("daily.cvd", cvd(27472, now()))]),
    });
    let (code, out) = with_mirror(d.path(), &m.url(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("published 27472"), "{out}");
    // A loop ends.
    let d = db(27470);
    let m = HttpServer::start(Mode::Redirect {
        location: "/again".into(),
        target: "/never/".into(),
        files: files(&[]),
    });
    let (code, out) = with_mirror(d.path(), &m.url(), &[]);
    assert_eq!(code, 3, "{out}");
    assert!(status(&out).contains("more than 3 redirects"), "{out}");
}

#[test]
fn https_with_the_sites_ca_and_without() {
    let ca = TestCa::new();
    let d = db(27470);
    let pem = ca.write(d.path());
    let m = HttpServer::start_tls(
        Mode::Files {
            files: files(&[("daily.cvd", cvd(27472, now()))]),
            range: true,
        },
        Some(&ca),
    );
    let url = format!("https://localhost:{}", m.port);
    let (code, out) = with_mirror(d.path(), &url, &["--ca-file", pem.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains(&format!("published by mirror {url}: daily 27472")),
        "{out}"
    );
    // An IP address in the certificate works too.
    let url = format!("https://127.0.0.1:{}", m.port);
    let (code, out) = with_mirror(d.path(), &url, &["--ca-file", pem.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    // The system's CAs do not know the test CA: UNKNOWN, named.
    let (code, out) = with_mirror(
        d.path(),
        &format!("https://localhost:{}", m.port),
        &["-t", "3"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(status(&out).contains("TLS"), "{out}");
    // Plain HTTP to the TLS port is no answer either.
    let (code, _) = with_mirror(
        d.path(),
        &format!("http://127.0.0.1:{}", m.port),
        &["-t", "2"],
    );
    assert_eq!(code, 3);
}

fn conf(dir: &std::path::Path, text: &str) -> String {
    let p = dir.join("freshclam.conf");
    std::fs::write(&p, format!("DatabaseDirectory {}\n{text}", dir.display())).unwrap();
    p.to_str().unwrap().to_string()
}

/// The check with this freshclam.conf (no -d, no -m, no -H), DNS at `dns`.
fn with_conf(dir: &std::path::Path, text: &str, dns: &DnsServer, extra: &[&str]) -> (i32, String) {
    let c = conf(dir, text);
    let nope = dir.join("nope");
    let mut args = vec![
        "-f",
        &c,
        "--cache-dir",
        nope.to_str().unwrap(),
        "--clamd-conf",
        nope.to_str().unwrap(),
        "-t",
        "3",
    ];
    let s = dns.arg();
    args.extend(["-s", &s]);
    args.extend_from_slice(extra);
    check(&args)
}

#[test]
fn private_mirror_in_freshclam_conf_is_the_truth_and_dns_is_not_asked() {
    let d = db(27472);
    let m = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27473, now()))]),
        range: true,
    });
    let dns = DnsServer::start(txt(27480));
    let (code, out) = with_conf(d.path(), &format!("PrivateMirror {}\n", m.url()), &dns, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        status(&out).contains("behind published 27473 (published by mirror"),
        "{out}"
    );
    assert!(dns.seen().is_empty(), "air-gapped: no DNS question");
    // DNSDatabaseInfo no with a DatabaseMirror: the same.
    let (code, out) = with_conf(
        d.path(),
        &format!("DNSDatabaseInfo no\nDatabaseMirror {}\n", m.url()),
        &dns,
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(dns.seen().is_empty());
}

#[test]
fn a_mirror_behind_dns_is_its_own_state() {
    let d = db(27472);
    let m = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27472, now()))]),
        range: true,
    });
    let dns = DnsServer::start(txt(27475));
    let text = format!("PrivateMirror {}\n", m.url());
    let (code, out) = with_conf(d.path(), &text, &dns, &["--compare-dns"]);
    assert_eq!(code, 1, "{out}");
    let line = status(&out);
    assert!(
        line.contains("daily 27472 is current (published by mirror")
            && line.contains(
                "the mirror lags the published daily by 3 (DNS says 27475): repair the mirror"
            ),
        "{line}"
    );
    assert!(line.contains("mirror_lag=3;;;0;"), "{line}");
    // Without --compare-dns the filter is current with its mirror: OK.
    let (code, out) = with_conf(d.path(), &text, &dns, &[]);
    assert_eq!(code, 0, "{out}");
    // DNS failing the comparison changes nothing.
    let dead = DnsServer::start(Dns::ServFail);
    let (code, out) = with_conf(d.path(), &text, &dead, &["--compare-dns"]);
    assert_eq!(code, 0, "{out}");
    // A filter behind its lagging mirror: the filter's lag decides, the mirror is named.
    let d = db(27470);
    let (code, out) = with_conf(d.path(), &text, &dns, &["--compare-dns"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("the mirror lags the published daily by 3"),
        "{out}"
    );
}

#[test]
fn a_stale_txt_record_gives_way_to_freshclam_confs_mirror() {
    let d = db(27470);
    let m = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27471, now()))]),
        range: true,
    });
    let stale = support::txt_text(27480, now() - 13 * 3600);
    let dns = DnsServer::start(Dns::txt(&stale));
    let (code, out) = with_conf(
        d.path(),
        &format!("DatabaseMirror {}\n", m.url()),
        &dns,
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        status(&out).contains("(the DNS record is stale; published by mirror"),
        "{out}"
    );
    // The mirror failing too: UNKNOWN with both reasons.
    let dead = HttpServer::start(Mode::Status(503));
    let (code, out) = with_conf(
        d.path(),
        &format!("DatabaseMirror {}\n", dead.url()),
        &dns,
        &[],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        status(&out).contains("12-hour limit; no mirror told instead: mirror http://127.0.0.1:"),
        "{out}"
    );
}

#[test]
fn through_freshclams_proxy() {
    let d = db(27470);
    let proxy = HttpServer::start(Mode::Files {
        files: files(&[("daily.cvd", cvd(27472, now()))]),
        range: true,
    });
    let dns = DnsServer::start(Dns::ServFail);
    let text = format!(
        "PrivateMirror mirror.invalid\nHTTPProxyServer 127.0.0.1\nHTTPProxyPort {}\n\
         HTTPProxyUsername user\nHTTPProxyPassword secret\n",
        proxy.port
    );
    let (code, out) = with_conf(d.path(), &text, &dns, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("published by mirror http://mirror.invalid: daily 27472"),
        "{out}"
    );
    let seen = proxy.seen();
    assert!(
        seen.last()
            .unwrap()
            .starts_with("GET http://mirror.invalid/daily.cvd HTTP/1.1\r\n"),
        "{seen:?}"
    );
    assert!(
        seen.last()
            .unwrap()
            .contains("\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n"),
        "{seen:?}"
    );
}

#[test]
fn clamavs_cdn_is_asked_at_most_hourly() {
    use std::os::unix::fs::PermissionsExt;
    let d = db(27470);
    let cache = d.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    let h = String::from_utf8(header(27475, now() - 600)).unwrap();
    let entry = |age: i64| {
        format!(
            "clamav-freshen cdn-header 1\n{} https://database.clamav.net {}\n",
            now() - age,
            h.trim_end()
        )
    };
    std::fs::write(cache.join("cdn-header"), entry(60)).unwrap();
    let dns = DnsServer::start(Dns::ServFail);
    let args = [
        "-m",
        "https://database.clamav.net",
        "--cache-dir",
        cache.to_str().unwrap(),
        "-v",
    ];
    let (code, out) = check_dir(d.path(), &dns, &args);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("published by mirror https://database.clamav.net: daily 27475"),
        "{out}"
    );
    assert!(out.contains("from the cache (1m ago"), "{out}");
    // An hour later it is asked again (and here, offline, cannot answer).
    std::fs::write(cache.join("cdn-header"), entry(3700)).unwrap();
    let mut args = args.to_vec();
    args.extend(["-t", "2"]);
    let (code, out) = check_dir(d.path(), &dns, &args);
    assert_eq!(code, 3, "{out}");
    assert!(!out.contains("from the cache"), "{out}");
}

#[test]
fn bad_mirror_urls_are_bad_arguments() {
    for bad in ["ftp://m", "http://u:p@m/", "http://m/a?b", "http://m:0"] {
        let (code, out) = check(&["-m", bad]);
        assert_eq!(code, 3, "{bad}: {out}");
        assert!(out.contains("invalid mirror URL"), "{bad}: {out}");
    }
    let (code, out) = check(&["-m", "http://m", "-H", "current.example"]);
    assert_eq!(code, 3, "{out}");
}
