//! Every way DNS can fail leaves the check UNKNOWN (never OK), with the reason; a stale
//! database turns it CRITICAL. Runs the real binary against the in-process DNS server.

mod support;

use std::time::{Duration, Instant};
use support::dns::{DnsServer, Mode};
use support::{check_dir, now, status, txt, write_daily};
use tempfile::tempdir;

/// A database exactly current and young, so only DNS can spoil the result.
fn fresh_db() -> tempfile::TempDir {
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 600);
    d
}

fn assert_unknown(mode: Mode, extra: &[&str], reason: &str) -> String {
    let d = fresh_db();
    let srv = DnsServer::start(mode.clone());
    let (code, out) = check_dir(d.path(), &srv, extra);
    let line = status(&out).to_string();
    assert_eq!(code, 3, "{mode:?}: {out}");
    assert!(
        line.starts_with("CLAMAV UNKNOWN - cannot learn the published version: "),
        "{line}"
    );
    assert!(line.contains(reason), "{mode:?}: want {reason:?} in {line}");
    assert!(line.contains("local daily 27472 built"), "{line}");
    assert!(
        line.ends_with(";;;0;") && line.contains("| daily=27472 age="),
        "{line}"
    );
    assert!(
        !line.contains("lag="),
        "no lag without a published version: {line}"
    );
    line
}

#[test]
fn nxdomain() {
    assert_unknown(
        Mode::NxDomain,
        &[],
        "current.cvd.clamav.net does not exist (NXDOMAIN from 127.0.0.1:",
    );
}

#[test]
fn servfail() {
    assert_unknown(Mode::ServFail, &[], "answered SERVFAIL");
}

#[test]
fn no_txt_record() {
    assert_unknown(
        Mode::NoData,
        &[],
        "current.cvd.clamav.net has no TXT record",
    );
}

#[test]
fn silent_server_times_out_within_dash_t() {
    let start = Instant::now();
    assert_unknown(
        Mode::Silent,
        &["-t", "1"],
        "no answer for current.cvd.clamav.net within",
    );
    // Loose bound: proves -t 1 was used rather than the 10 s default.
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn garbage_is_ignored_then_times_out() {
    assert_unknown(
        Mode::Garbage,
        &["-t", "1"],
        "invalid or mismatched packet(s) ignored",
    );
}

#[test]
fn wrong_id_is_ignored_then_times_out() {
    let line = assert_unknown(
        Mode::WrongId(b"1.4.6:62:27472".to_vec()),
        &["-t", "1"],
        "ignored",
    );
    assert!(line.contains("no answer"), "{line}");
}

#[test]
fn closed_port_is_unknown() {
    let d = fresh_db();
    let srv = DnsServer::start(Mode::Silent);
    let s = srv.arg();
    drop(srv); // nobody listens on that port any more
    let conf = d.path().join("none.conf");
    let (code, out) = support::check(&[
        "-f",
        conf.to_str().unwrap(),
        "-d",
        d.path().to_str().unwrap(),
        "-s",
        &s,
        "-t",
        "2",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(
        status(&out).contains("cannot learn the published version"),
        "{out}"
    );
}

#[test]
fn truncated_udp_answer_is_asked_again_over_tcp() {
    let d = fresh_db();
    let record = support::txt_text(27472, support::now() - 3600);
    let srv = DnsServer::start(Mode::Truncated(record.clone().into_bytes()));
    let (code, out) = check_dir(d.path(), &srv, &["-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        status(&out).starts_with("CLAMAV OK - daily 27472 is current"),
        "{out}"
    );
    assert_eq!(
        srv.seen(),
        ["udp current.cvd.clamav.net", "tcp current.cvd.clamav.net"]
    );
    assert!(out.contains("UDP: truncated, asking over TCP"), "{out}");
    assert!(out.contains(&format!(" TCP: TXT \"{record}\"")), "{out}");
}

#[test]
fn unparsable_txt_records_are_unknown() {
    for (text, reason) in [
        (
            &b"garbage"[..],
            "TXT record has 1 field(s), expected at least 3",
        ),
        (b"1.4.6:62", "TXT record has 2 field(s)"),
        (
            b"1.4.6:62:",
            "TXT field 2 (daily) \"\" is not a version number",
        ),
        (
            b"1.4.6:62:99999999999",
            "TXT field 2 (daily) \"99999999999\" is not a version number",
        ),
        (
            b"1.4.6:62:27472\xc3\xa9",
            "TXT record is not printable ASCII",
        ),
        (b"1.4.6:62:27|472", "\"27!472\""), // a '|' cannot break the output
    ] {
        let line = assert_unknown(Mode::Txt(text.to_vec()), &[], reason);
        assert!(
            line.contains("(from 127.0.0.1:"),
            "the TXT source is named: {line}"
        );
    }
}

#[test]
fn dns_failure_with_a_stale_database_is_critical() {
    for mode in [
        Mode::NxDomain,
        Mode::ServFail,
        Mode::Txt(b"nonsense".to_vec()),
    ] {
        let d = tempdir().unwrap();
        write_daily(d.path(), 27472, now() - 49 * 3600);
        let srv = DnsServer::start(mode.clone());
        let (code, out) = check_dir(d.path(), &srv, &[]);
        assert_eq!(code, 2, "{mode:?}: {out}");
        assert!(status(&out).contains("is stale"), "{out}");
    }
    // Silence too, with a short -t and --max-age 1.
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 2 * 3600);
    let srv = DnsServer::start(Mode::Silent);
    let (code, out) = check_dir(d.path(), &srv, &["-t", "1", "--max-age", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("over the 1h limit, whatever DNS says (no answer"),
        "{out}"
    );
}

#[test]
fn working_server_answers_after_a_good_txt() {
    // Control for the fault tests: the same setup with a good answer is OK.
    let d = fresh_db();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &["-t", "1"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_txt_record_older_than_freshclams_limit_is_not_the_published_version() {
    // 12 h is freshclam's limit: a record just inside is used, one past it is not.
    let fresh = support::txt_text(27480, now() - 12 * 3600 + 120);
    let d = fresh_db();
    let srv = DnsServer::start(Mode::txt(&fresh));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "8 revisions behind a trusted record: {out}");

    let stale = support::txt_text(27480, now() - 13 * 3600);
    let line = assert_unknown(Mode::txt(&stale), &[], "is stale: record time ");
    assert!(
        line.contains("(13h 0m ago), older than freshclam's 12-hour limit"),
        "{line}"
    );
    // A database past --max-age with a stale record: CRITICAL, and the record named.
    let d = tempdir().unwrap();
    write_daily(d.path(), 27472, now() - 49 * 3600);
    let srv = DnsServer::start(Mode::txt(&stale));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        status(&out).contains("DNS TXT record from 127.0.0.1:"),
        "{out}"
    );
}
