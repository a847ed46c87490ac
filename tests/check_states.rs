//! The real check binary against temp database directories and an in-process DNS server:
//! every state, thresholds, configuration sources, cool-down and -v.

mod support;

use clamav_freshen::test_support::freshclam_dat;
use support::dns::{DnsServer, Mode};
use support::{check, check_dir, now, status, txt, utc, write_daily};
use tempfile::tempdir;

#[test]
fn ok_when_current() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 3600);
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    let line = status(&out);
    assert_eq!(code, 0, "{out}");
    assert!(
        line.starts_with("CLAMAV OK - daily 27472 is current, built "),
        "{line}"
    );
    let perf = line.split_once(" | ").unwrap().1;
    let fields: Vec<&str> = perf.split(' ').collect();
    assert_eq!(
        fields[..3],
        ["daily=27472", "published=27472", "lag=0;0;1;0;"],
        "{perf}"
    );
    let age: i64 = fields[3]
        .strip_prefix("age=")
        .unwrap()
        .strip_suffix("s;;;0;")
        .unwrap()
        .parse()
        .unwrap();
    assert!((3600..3700).contains(&age), "{age}");
    assert!(
        line.contains("(1h 0m ago)") || line.contains("(1h 1m ago)"),
        "{line}"
    );
    assert_eq!(out.lines().count(), 1, "no details without -v: {out}");
    assert_eq!(srv.seen(), ["udp current.cvd.clamav.net"]);
}

#[test]
fn local_newer_than_published_is_ok() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27473, now());
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains("daily 27473 is newer than published 27472"),
        "{out}"
    );
    assert!(out.contains(" lag=0;"), "{out}");
}

#[test]
fn one_behind_warns_two_behind_is_critical() {
    let srv = DnsServer::start(txt(27472));
    for (local, code, state, text) in [
        (
            27471,
            1,
            "WARNING",
            "daily 27471 is 1 revision behind published 27472",
        ),
        (
            27470,
            2,
            "CRITICAL",
            "daily 27470 is 2 revisions behind published 27472",
        ),
        (
            27000,
            2,
            "CRITICAL",
            "daily 27000 is 472 revisions behind published 27472",
        ),
    ] {
        let d = tempdir().unwrap();
        write_daily(d.path(), local, now() - 7200);
        let (c, out) = check_dir(d.path(), &srv, &[]);
        let line = status(&out);
        assert_eq!(c, code, "{out}");
        assert!(
            line.starts_with(&format!("CLAMAV {state} - {text}, built")),
            "{line}"
        );
        assert!(
            line.contains(&format!("lag={};0;1;0;", 27472 - local)),
            "{line}"
        );
    }
}

#[test]
fn threshold_variations() {
    let srv = DnsServer::start(txt(100));
    let cases: &[(&[&str], u32, i32)] = &[
        (&["-w", "5", "-c", "10"], 3, 0),
        (&["-w", "5", "-c", "10"], 6, 1),
        (&["-w", "5", "-c", "10"], 11, 2),
        (&["-w", "~:2", "-c", "~:4"], 2, 0),
        (&["-w", "~:2", "-c", "~:4"], 3, 1),
        (&["-w", "~:2", "-c", "~:4"], 5, 2),
        (&["-w", "@1:2", "-c", "@3:5"], 0, 0),
        (&["-w", "@1:2", "-c", "@3:5"], 2, 1),
        (&["-w", "@1:2", "-c", "@3:5"], 4, 2),
        (&["-w", "@1:2", "-c", "@3:5"], 6, 0),
        (&["-w", "10:"], 0, 1), // alert below 10
        (&["-w", "2:4", "-c", "~:"], 3, 0),
        (&["-w", "2:4", "-c", "~:"], 1, 1),
        (&["--warning=0", "--critical=0"], 1, 2),
    ];
    for (args, lag, code) in cases {
        let d = tempdir().unwrap();
        write_daily(d.path(), 100 - lag, now());
        let (c, out) = check_dir(d.path(), &srv, args);
        assert_eq!(c, *code, "{args:?} lag {lag}: {out}");
        status(&out);
    }
    let d = tempdir().unwrap();
    write_daily(d.path(), 96, now());
    let (c, out) = check_dir(d.path(), &srv, &["-w", "@1:2", "-c", "@3:5"]);
    assert_eq!(c, 2);
    assert!(
        out.contains(" lag=4;@1:2;@3:5;0;"),
        "perfdata carries the ranges: {out}"
    );
}

#[test]
fn no_database_is_critical() {
    let d = tempdir().unwrap();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with(
            "CLAMAV CRITICAL - cannot read the local daily database: no daily.cvd or daily.cld in "
        ),
        "{line}"
    );
    let missing = d.path().join("missing");
    let (code, out) = check_dir(&missing, &srv, &[]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn corrupt_or_truncated_header_is_critical() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    std::fs::write(d.path().join("daily.cvd"), vec![b'x'; 600]).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("not a ClamAV database header"),
        "{out}"
    );

    std::fs::write(
        d.path().join("daily.cvd"),
        &support::header(27472, now())[..100],
    )
    .unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("header is truncated (100 of 512 bytes)"),
        "{out}"
    );

    // A good daily.cvd does not hide a corrupt daily.cld.
    write_daily(d.path(), 27472, now());
    std::fs::write(d.path().join("daily.cld"), b"ClamAV-VDB:garbage").unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(status(&out).contains("daily.cld"), "{out}");
}

#[test]
fn cld_newer_than_cvd_wins() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27400, now());
    std::fs::write(d.path().join("daily.cld"), support::cld(27472, now())).unwrap();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("daily.cld version 27472"), "{out}");
}

#[test]
fn stale_database_is_critical_whatever_dns_says() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 72 * 3600);
    let srv = DnsServer::start(Mode::NxDomain);
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    let line = status(&out);
    assert!(line.contains("daily 27472 is stale"), "{line}");
    assert!(
        line.contains("over the 48h limit, whatever DNS says"),
        "{line}"
    );
    assert!(line.contains("NXDOMAIN"), "the DNS reason is kept: {line}");
    assert!(line.contains("age=2592"), "{line}");
    // A larger --max-age makes the same run UNKNOWN.
    let (code, out) = check_dir(d.path(), &srv, &["--max-age", "100"]);
    assert_eq!(code, 3, "{out}");
    // And when DNS answers, the age does not matter: current is current.
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn cooldown_is_reported() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27470, now());
    let until = now() + 4 * 3600;
    std::fs::write(d.path().join("freshclam.dat"), freshclam_dat("uuid", until)).unwrap();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    let want = format!("; freshclam CDN cool-down until {}", support::utc(until));
    assert!(status(&out).contains(&want), "{out}");
    let tail = format!("{want} | daily=27470 published=27472 lag=2;0;1;0; age=");
    assert!(
        status(&out).contains(&tail),
        "the note ends the text: {out}"
    );

    // Also on a database fault, where the admin needs it most.
    std::fs::remove_file(d.path().join("daily.cvd")).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2);
    assert!(status(&out).contains(&want), "{out}");

    // A past cool-down is not mentioned.
    write_daily(d.path(), 27472, now());
    std::fs::write(
        d.path().join("freshclam.dat"),
        freshclam_dat("uuid", now() - 10),
    )
    .unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("cool-down"), "{out}");
}

#[test]
fn bogus_cooldown_is_named_and_ignored() {
    let srv = DnsServer::start(txt(27472));
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 3600);
    let until = now() + 49 * 3600;
    std::fs::write(d.path().join("freshclam.dat"), freshclam_dat("u", until)).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    let line = status(&out);
    assert!(
        line.contains(&format!(
            "; bogus cool-down in freshclam.dat (until {}) ignored | ",
            utc(until)
        )),
        "{line}"
    );
    assert!(!line.contains("CDN cool-down until"), "{line}");
    // 47 h is a real one.
    let until = now() + 47 * 3600;
    std::fs::write(d.path().join("freshclam.dat"), freshclam_dat("u", until)).unwrap();
    let (_, out) = check_dir(d.path(), &srv, &[]);
    assert!(
        status(&out).contains(&format!(
            "; freshclam CDN cool-down until {} | ",
            utc(until)
        )),
        "{out}"
    );
    // The largest time there is: no overflow, still bogus.
    std::fs::write(d.path().join("freshclam.dat"), freshclam_dat("u", i64::MAX)).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains("; bogus cool-down in freshclam.dat (until "),
        "{out}"
    );
}

#[test]
fn database_directory_from_conf_and_dash_d_overrides_it() {
    let conf_dir = tempdir().unwrap();
    let (a, b) = (tempdir().unwrap(), tempdir().unwrap());
    write_daily(a.path(), 27472, now());
    write_daily(b.path(), 27470, now());
    let conf = conf_dir.path().join("freshclam.conf");
    std::fs::write(
        &conf,
        format!("# test\nDatabaseDirectory {}\n", a.path().display()),
    )
    .unwrap();
    let srv = DnsServer::start(txt(27472));
    let (conf, s) = (conf.to_str().unwrap(), srv.arg());
    let (code, out) = check(&["-f", conf, "-s", &s]);
    assert_eq!(code, 0, "conf's directory holds 27472: {out}");
    let (code, out) = check(&["-f", conf, "-s", &s, "-d", b.path().to_str().unwrap()]);
    assert_eq!(code, 2, "-d's directory holds 27470: {out}");
    assert!(out.contains("daily 27470"), "{out}");
}

#[test]
fn unreadable_conf_without_dash_d_is_unknown() {
    let d = tempdir().unwrap();
    let srv = DnsServer::start(txt(27472));
    let missing = d.path().join("freshclam.conf");
    let (code, out) = check(&["-f", missing.to_str().unwrap(), "-s", &srv.arg()]);
    assert_eq!(code, 3, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with(&format!(
            "CLAMAV UNKNOWN - cannot use freshclam.conf: {} does not exist",
            missing.display()
        )),
        "{line}"
    );
    // A syntax error is no better.
    std::fs::write(&missing, "DatabaseDirectory relative/path\n").unwrap();
    let (code, out) = check(&["-f", missing.to_str().unwrap(), "-s", &srv.arg()]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("line 1"), "{out}");
    assert!(
        srv.seen().is_empty(),
        "no DNS traffic when the check cannot even start"
    );
}

#[test]
fn txt_name_from_conf_and_dash_h_overrides_it() {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now());
    let conf = d.path().join("freshclam.conf");
    std::fs::write(&conf, "DNSDatabaseInfo versions.example.org\n").unwrap();
    let (conf, dir) = (conf.to_str().unwrap(), d.path().to_str().unwrap());

    let srv = DnsServer::start(txt(27472));
    let (code, out) = check(&["-f", conf, "-d", dir, "-s", &srv.arg()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(srv.seen(), ["udp versions.example.org"]);

    let srv = DnsServer::start(txt(27472));
    let (code, out) = check(&[
        "-f",
        conf,
        "-d",
        dir,
        "-s",
        &srv.arg(),
        "-H",
        "other.example.net",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(srv.seen(), ["udp other.example.net"]);

    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        srv.seen(),
        ["udp current.cvd.clamav.net"],
        "freshclam's default name"
    );
}

#[test]
fn verbose_details() {
    let d = tempdir().unwrap();
    let built = now() - 5 * 3600;
    let published = now() - 3600;
    write_daily(d.path(), 27471, built);
    let record = support::txt_text(27472, published);
    let srv = DnsServer::start(Mode::txt(&record));
    let (code, out) = check_dir(d.path(), &srv, &["-v"]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() > 4, "{out}");
    status(&out);
    let rest = lines[1..].join("\n");
    for want in [
        format!("database directory: {}", d.path().display()),
        format!("local: {}/daily.cvd version 27471", d.path().display()),
        format!(
            "built {} ({}), 2076543 signatures, f-level 90, builder builder",
            support::cvd_date(built),
            support::utc(built)
        ),
        "freshclam.dat: none".into(),
        format!("asking {} for TXT current.cvd.clamav.net", srv.arg()),
        format!("{} UDP: TXT \"{record}\"", srv.arg()),
        format!(
            "published: ClamAV 1.4.6, main 62, daily 27472, record time {}",
            support::utc(published)
        ),
        "not found, using freshclam's defaults".into(),
    ] {
        assert!(rest.contains(&want), "missing {want:?} in:\n{out}");
    }
    assert!(rest.lines().all(|l| !l.contains('|')), "{out}");
}
