//! The real check binary with a fake clamd (tests/support/clamd.rs) on a Unix socket or on
//! TCP: what clamd has loaded against the files, every way clamd fails, the peer check, the
//! engine against the TXT record, and that without clamd.conf nothing changes. Times are
//! relative to the test's now: the database was built five hours ago, its file's mtime is
//! set per test.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::clamd::{FakeClamd, Reply};
use support::dns::{DnsServer, Mode};
use support::{check_dir, me, now, set_mtime_ago, status, txt, txt_text, utc, write_daily};
use tempfile::tempdir;

/// A database directory with daily `27472` built five hours ago, its file `ago` seconds old.
fn db(ago: u64) -> (tempfile::TempDir, i64) {
    let d = tempdir().unwrap();
    let built = now() - 5 * 3600;
    write_daily(d.path(), 27472, built);
    set_mtime_ago(&d.path().join("daily.cvd"), ago);
    (d, built)
}

/// The check on `dir` with `fake`'s clamd.conf (run by the tests' user) and `extra`.
fn run(dir: &Path, srv: &DnsServer, fake: &FakeClamd, extra: &[&str]) -> (i32, String) {
    let conf = fake.conf(&me(), "");
    let mut args = vec!["--clamd-conf", conf.to_str().unwrap()];
    args.extend_from_slice(extra);
    check_dir(dir, srv, &args)
}

/// `age=18003s` as `age=AGE`: seconds tick during a test.
fn norm(out: &str) -> String {
    match out.split_once(" age=") {
        Some((head, tail)) => {
            let (_, rest) = tail.split_once('s').unwrap();
            format!("{head} age=AGE{rest}")
        }
        None => out.to_string(),
    }
}

fn built_text(built: i64) -> String {
    format!("built {} (5h 0m ago)", utc(built))
}

#[test]
fn clamd_current_is_ok_and_reported() {
    let (d, built) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27472));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        norm(&out),
        format!(
            "CLAMAV OK - daily 27472 is current, {}; clamd loaded 27472 | daily=27472 \
             published=27472 lag=0;0;1;0; age=AGE;;;0; clamd_daily=27472\n",
            built_text(built)
        )
    );
    assert_eq!(fake.seen(), [b"zVERSION\0".to_vec()], "one z-command");
}

#[test]
fn clamd_behind_within_grace_is_ok_with_a_note() {
    let (d, _) = db(60);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27471));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with("CLAMAV OK - daily 27472 is current, built ")
            && line.contains(
                "; clamd loaded 27471, reload pending: daily 27472 on disk for 1m (grace 15m) | "
            ),
        "default grace: SelfCheck 600 s + 300 s: {line}"
    );
    assert!(line.ends_with(" clamd_daily=27471"), "{line}");
}

#[test]
fn clamd_behind_past_grace_warns_then_is_critical() {
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27471));
    for (ago, code, state) in [(20 * 60, 1, "WARNING"), (40 * 60, 2, "CRITICAL")] {
        let (d, built) = db(ago);
        let (c, out) = run(d.path(), &srv, &fake, &[]);
        assert_eq!(c, code, "{out}");
        // clamd's part is the worse one: it leads the text.
        assert_eq!(
            norm(&out),
            format!(
                "CLAMAV {state} - clamd loaded 27471, not reloaded: daily 27472 on disk for {}m \
                 (grace 15m); daily 27472 is current, {} | daily=27472 published=27472 \
                 lag=0;0;1;0; age=AGE;;;0; clamd_daily=27471\n",
                ago / 60,
                built_text(built)
            )
        );
    }
}

#[test]
fn grace_from_selfcheck_or_the_option() {
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27471));
    let (d, _) = db(10 * 60);
    // SelfCheck 60: grace 6m, so 10 minutes is past it.
    let conf = fake.conf(&me(), "SelfCheck 60\n");
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", conf.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(status(&out).contains("on disk for 10m (grace 6m)"), "{out}");
    let (code, out) = check_dir(
        d.path(),
        &srv,
        &[
            "--clamd-conf",
            conf.to_str().unwrap(),
            "--clamd-grace",
            "3600",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("(grace 1h 0m)"), "{out}");
    // How many revisions behind does not matter, only how long.
    let far = FakeClamd::unix(Reply::daily(27000));
    let (code, out) = run(d.path(), &srv, &far, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn clamd_newer_than_the_files_is_ok() {
    let (d, _) = db(60);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27473));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains("; clamd loaded 27473, newer than daily 27472 on disk | "),
        "{out}"
    );
}

/// CRITICAL with `reason`, the files' part after it, within `limit`.
fn assert_not_scanned(fake: &FakeClamd, extra: &[&str], reason: &str, limit: Duration) {
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let t = Instant::now();
    let (code, out) = run(d.path(), &srv, fake, extra);
    let took = t.elapsed();
    assert_eq!(code, 2, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with("CLAMAV CRITICAL - mail is not scanned: "),
        "{line}"
    );
    assert!(line.contains(reason), "want {reason:?} in {line}");
    assert!(line.contains("; daily 27472 is current, built "), "{line}");
    assert!(
        !line.contains("clamd_daily"),
        "no clamd perfdata without an answer: {line}"
    );
    assert!(took < limit, "took {took:?}");
}

#[test]
fn silent_clamd_is_critical_within_dash_t() {
    let fake = FakeClamd::unix(Reply::Silent);
    let reason = format!("clamd at {} not answering: no reply within ", fake.socket);
    assert_not_scanned(&fake, &["-t", "2"], &reason, Duration::from_secs(4));
}

#[test]
fn hung_clamd_with_a_full_queue_cannot_hold_the_check() {
    // A blocking connect(2) would wait here for good: the connect is non-blocking, so a
    // full queue is refused at once (the check's own deadline would end it otherwise).
    let fake = FakeClamd::hung();
    let reason = format!(
        "clamd at {} not answering: cannot connect: listen queue full (busy or hung)",
        fake.socket
    );
    assert_not_scanned(&fake, &["-t", "1"], &reason, Duration::from_secs(3));
}

#[test]
fn slow_clamd_in_time_is_fine_too_slow_is_critical() {
    let version = b"ClamAV 1.4.6/27472/x\0".to_vec();
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::Slow(Duration::from_millis(300), version.clone()));
    let (code, out) = run(d.path(), &srv, &fake, &["-t", "3"]);
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("; clamd loaded 27472 | "), "{out}");

    let fake = FakeClamd::unix(Reply::Slow(Duration::from_secs(4), version));
    let reason = "not answering: no reply within ";
    assert_not_scanned(&fake, &["-t", "1"], reason, Duration::from_secs(3));
}

#[test]
fn garbage_or_an_early_close_is_critical() {
    let fake = FakeClamd::unix(Reply::Bytes(b"garbage\0".to_vec()));
    let reason = format!(
        "clamd at {} answered \"garbage\", not a version",
        fake.socket
    );
    assert_not_scanned(&fake, &[], &reason, Duration::from_secs(5));

    let fake = FakeClamd::unix(Reply::Bytes(b"\x1b]2;pwned\x07|x\0".to_vec()));
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 2);
    assert!(
        status(&out).contains("answered \"?]2;pwned?!x\", not a version"),
        "hostile replies are made printable: {out}"
    );

    let fake = FakeClamd::unix(Reply::Close);
    let reason = "not answering: closed the connection without a reply";
    assert_not_scanned(&fake, &[], reason, Duration::from_secs(5));

    // Closed before the command was read: the kernel resets the connection.
    let fake = FakeClamd::unix(Reply::Reset);
    assert_not_scanned(&fake, &[], "not answering: ", Duration::from_secs(5));
}

#[test]
fn a_socket_served_by_another_user_gets_nothing() {
    let fake = FakeClamd::unix(Reply::daily(27472));
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    // The fake runs as the tests' user: clamd.conf says clamd runs as someone else.
    let other = if me() == "nobody" { "root" } else { "nobody" };
    let conf = fake.conf(other, "");
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", conf.to_str().unwrap()]);
    if nix::unistd::geteuid().is_root() {
        // Root's socket is accepted whatever clamd.conf's User: under systemd the listening
        // socket is clamav-daemon.socket's, made by PID 1.
        assert_eq!(code, 0, "{out}");
        assert!(status(&out).contains("; clamd loaded 27472 | "), "{out}");
        println!("SKIP: a socket of another user than root and clamd's needs a non-root test run");
    } else {
        let uid = nix::unistd::User::from_name(other).unwrap().unwrap().uid;
        assert_eq!(code, 2, "{out}");
        let want = format!(
            "CLAMAV CRITICAL - mail is not scanned: {} is served by uid {}, not by clamd's User \
             {other} (uid {uid}): refusing to talk to it; daily 27472 is current",
            fake.socket,
            nix::unistd::geteuid()
        );
        assert!(status(&out).starts_with(&want), "{out}");
        // The connection was made (to ask the kernel who serves it) but nothing was sent.
        let until = Instant::now() + Duration::from_secs(5);
        while fake.seen().is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(fake.seen(), [Vec::<u8>::new()]);
    }
    let seen = fake.seen().len();

    // A User this host does not know: refused before connecting.
    let conf = fake.conf("no-such-user-clamav-freshen", "");
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", conf.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains(
            "mail is not scanned: clamd's User \"no-such-user-clamav-freshen\" (clamd.conf) is \
             unknown here: refusing to ask "
        ),
        "{out}"
    );
    assert_eq!(fake.seen().len(), seen, "no second connection");
}

#[test]
fn tcp_endpoint_from_clamd_conf_or_dash_c() {
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::tcp(Reply::daily(27472));
    let (code, out) = run(d.path(), &srv, &fake, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("; clamd loaded 27472 | "), "{out}");
    assert!(
        out.contains(&format!(
            "clamd: asking {} for VERSION (TCP: the peer cannot be verified)",
            fake.socket
        )),
        "{out}"
    );
    // -C IP:PORT without any clamd.conf.
    let missing = d.path().join("missing-clamd.conf");
    let (code, out) = check_dir(
        d.path(),
        &srv,
        &[
            "-C",
            &fake.socket,
            "--clamd-conf",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("; clamd loaded 27472 | "), "{out}");
    // A closed port is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, out) = check_dir(d.path(), &srv, &["--clamd", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains(&format!(
            "mail is not scanned: clamd at 127.0.0.1:{port} not answering: cannot connect: "
        )),
        "{out}"
    );
}

#[test]
fn dash_c_names_a_unix_socket_clamd_conf_still_names_the_user() {
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27472));
    // clamd.conf's socket is elsewhere; -C points at the fake.
    let conf = fake.path().join("other.conf");
    std::fs::write(
        &conf,
        format!("LocalSocket /nonexistent/clamd.ctl\nUser {}\n", me()),
    )
    .unwrap();
    let (code, out) = check_dir(
        d.path(),
        &srv,
        &["--clamd-conf", conf.to_str().unwrap(), "-C", &fake.socket],
    );
    assert_eq!(code, 0, "{out}");
    assert!(status(&out).contains("; clamd loaded 27472 | "), "{out}");
}

#[test]
fn without_clamd_conf_or_with_no_clamd_nothing_changes() {
    let (d, built) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27000));
    let want = format!(
        "CLAMAV OK - daily 27472 is current, {} | daily=27472 published=27472 lag=0;0;1;0; \
         age=AGE;;;0;\n",
        built_text(built)
    );
    // clamd.conf absent: no clamav-daemon here.
    let missing = d.path().join("absent-clamd.conf");
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", missing.to_str().unwrap()]);
    assert_eq!((code, norm(&out)), (0, want.clone()));
    // --no-clamd.
    let (code, out) = check_dir(d.path(), &srv, &["--no-clamd"]);
    assert_eq!((code, norm(&out)), (0, want.clone()));
    assert!(fake.seen().is_empty(), "clamd was not asked");
    // -v says why clamd was not asked.
    let (_, out) = check_dir(
        d.path(),
        &srv,
        &["--clamd-conf", missing.to_str().unwrap(), "-v"],
    );
    assert!(
        out.contains("absent-clamd.conf not found, clamd not asked"),
        "{out}"
    );
    let (_, out) = check_dir(d.path(), &srv, &["-v", "--no-clamd"]);
    assert!(out.contains("clamd: not asked (--no-clamd)"), "{out}");
}

#[test]
fn clamd_conf_without_a_socket_or_unreadable_is_unknown() {
    let (d, _) = db(3600);
    let srv = DnsServer::start(txt(27472));
    let conf = d.path().join("clamd.conf");
    std::fs::write(&conf, format!("User {}\nSelfCheck 600\n", me())).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", conf.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    assert!(
        status(&out).starts_with(&format!(
            "CLAMAV UNKNOWN - {} names no LocalSocket or TCPSocket: clamd cannot be asked",
            conf.display()
        )),
        "{out}"
    );
    // A symlinked clamd.conf is not followed.
    let link = d.path().join("link.conf");
    std::os::unix::fs::symlink(&conf, &link).unwrap();
    let (code, out) = check_dir(d.path(), &srv, &["--clamd-conf", link.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    assert!(status(&out).contains("cannot use clamd.conf: "), "{out}");
}

#[test]
fn clamd_is_reported_when_dns_or_the_files_fail() {
    let fake = FakeClamd::unix(Reply::daily(27472));
    // DNS down: UNKNOWN, and what clamd has in the text.
    let (d, _) = db(3600);
    let srv = DnsServer::start(Mode::NxDomain);
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 3, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with("CLAMAV UNKNOWN - cannot learn the published version: "),
        "{line}"
    );
    assert!(
        line.contains(" (5h 0m ago); clamd loaded 27472 | daily=27472 age="),
        "{line}"
    );
    assert!(line.ends_with(" clamd_daily=27472"), "{line}");
    // DNS down and clamd behind past its grace: WARNING beats not knowing.
    let behind = FakeClamd::unix(Reply::daily(27471));
    let (d, _) = db(20 * 60);
    let (code, out) = run(d.path(), &srv, &behind, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        status(&out).starts_with("CLAMAV WARNING - clamd loaded 27471, not reloaded: "),
        "{out}"
    );
    // No database: CRITICAL for the files, clamd's answer still told.
    let empty = tempdir().unwrap();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = run(empty.path(), &srv, &fake, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).starts_with(
            "CLAMAV CRITICAL - cannot read the local daily database: no daily.cvd or daily.cld in "
        ) && status(&out).ends_with("; clamd loaded 27472 | clamd_daily=27472"),
        "{out}"
    );
}

#[test]
fn notes_keep_their_place_after_clamd() {
    let (d, _) = db(3600);
    let until = now() + 4 * 3600;
    std::fs::write(
        d.path().join("freshclam.dat"),
        clamav_freshen::test_support::freshclam_dat("uuid", until),
    )
    .unwrap();
    let srv = DnsServer::start(txt(27472));
    let fake = FakeClamd::unix(Reply::daily(27472));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).contains(&format!(
            "; clamd loaded 27472; freshclam CDN cool-down until {} | ",
            utc(until)
        )),
        "{out}"
    );
}

/// A TXT record like ClamAV's, with `newest` in field 0, `warn` in field 4 and `flevel` in
/// field 5.
fn record(newest: &str, warn: u8, flevel: u32) -> Mode {
    let t = txt_text(27472, now() - 3600);
    let f: Vec<&str> = t.split(':').collect();
    Mode::txt(&format!(
        "{newest}:{}:{}:{}:{warn}:{flevel}:{}:{}",
        f[1], f[2], f[3], f[6], f[7]
    ))
}

#[test]
fn an_engine_below_the_published_functionality_level_is_critical() {
    let (d, _) = db(3600);
    let srv = DnsServer::start(record("1.5.1", 1, 240));
    let fake = FakeClamd::unix(Reply::Version {
        engine: "1.4.2".into(),
        daily: 27472,
    });
    let (code, out) = run(d.path(), &srv, &fake, &["-v"]);
    assert_eq!(code, 2, "{out}");
    let line = status(&out);
    assert!(
        line.starts_with(
            "CLAMAV CRITICAL - ClamAV 1.4.2 can no longer use the published signatures: they \
             need functionality level 240, this engine has 212 (upgrade ClamAV); daily 27472 is \
             current, built "
        ),
        "{line}"
    );
    assert!(line.contains("; clamd loaded 27472 | "), "{line}");
    assert!(
        out.contains(
            "engine: ClamAV 1.4.2 (from clamd), functionality level 212; the databases need 240"
        ),
        "{out}"
    );
    // An engine after ClamAV's chart may have any level: not CRITICAL on a guess.
    let new = FakeClamd::unix(Reply::Version {
        engine: "2.0.0".into(),
        daily: 27472,
    });
    let (code, out) = run(d.path(), &srv, &new, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_engine_older_than_the_newest_release_is_only_a_note() {
    let (d, _) = db(3600);
    let fake = FakeClamd::unix(Reply::daily(27472)); // engine 1.4.6
    let srv = DnsServer::start(record("1.4.7", 1, 90));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out)
            .contains("; clamd loaded 27472; ClamAV 1.4.6 is outdated, 1.4.7 recommended | "),
        "{out}"
    );
    // Field 4 `0`: freshclam does not warn, nor does the check.
    let srv = DnsServer::start(record("1.4.7", 0, 90));
    let (code, out) = run(d.path(), &srv, &fake, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!status(&out).contains("outdated"), "{out}");
    // The engine as new as the newest: nothing.
    let srv = DnsServer::start(record("1.4.6", 1, 90));
    let (_, out) = run(d.path(), &srv, &fake, &[]);
    assert!(!status(&out).contains("outdated"), "{out}");
}

#[test]
fn bad_clamd_arguments_are_unknown_with_usage() {
    for (args, reason) in [
        (
            &["-C", "clamd.ctl"][..],
            "invalid clamd socket \"clamd.ctl\" for -C",
        ),
        (&["--clamd", "localhost:3310"], "invalid clamd socket"),
        (
            &["--no-clamd", "-C", "/run/clamav/clamd.ctl"],
            "cannot be used with",
        ),
        (&["--clamd-grace", "0"], "--clamd-grace"),
        (&["--clamd-grace", "soon"], "--clamd-grace"),
    ] {
        let (code, out) = support::check(args);
        assert_eq!(code, 3, "{args:?}: {out}");
        assert!(
            out.starts_with("CLAMAV UNKNOWN - ") && out.lines().next().unwrap().contains(reason),
            "{args:?}: want {reason:?}: {out}"
        );
        assert!(out.contains("[-C SOCKET]"), "usage: {out}");
    }
}
