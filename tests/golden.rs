//! Golden tests: the check's whole output for the common states, and the order of the audit
//! steps of a repair, frozen so that a restructuring cannot change what monitors and
//! admins read without a test saying so. Times are relative to the test's own now.

mod support;

use support::dns::{DnsServer, Mode};
use support::fixture::Fixture;
use support::{check_dir, now, txt, utc, write_daily};
use tempfile::tempdir;

/// (database version, published, expected exit code, expected output with `{built}` for the
/// build time). The database was built five hours ago.
#[test]
fn check_output_is_frozen() {
    let cases: &[(u32, Option<u32>, i32, &str)] = &[
        (
            27472,
            Some(27472),
            0,
            "CLAMAV OK - daily 27472 is current, built {built} (5h 0m ago) | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0;\n",
        ),
        (
            27471,
            Some(27472),
            1,
            "CLAMAV WARNING - daily 27471 is 1 revision behind published 27472, built {built} (5h 0m ago) | daily=27471 published=27472 lag=1;0;1;0; age=18000s;;;0;\n",
        ),
        (
            27469,
            Some(27472),
            2,
            "CLAMAV CRITICAL - daily 27469 is 3 revisions behind published 27472, built {built} (5h 0m ago) | daily=27469 published=27472 lag=3;0;1;0; age=18000s;;;0;\n",
        ),
        (
            27472,
            None,
            3,
            "CLAMAV UNKNOWN - cannot learn the published version: {name} does not exist (NXDOMAIN from {server}); local daily 27472 built {built} (5h 0m ago) | daily=27472 age=18000s;;;0;\n",
        ),
    ];
    for &(local, published, code, want) in cases {
        let d = tempdir().unwrap();
        let built = now() - 5 * 3600;
        write_daily(d.path(), local, built);
        let srv = DnsServer::start(match published {
            Some(p) => txt(p),
            None => Mode::NxDomain,
        });
        let (got_code, out) = check_dir(d.path(), &srv, &[]);
        let want = want
            .replace("{built}", &utc(built))
            .replace("{name}", "current.cvd.clamav.net")
            .replace("{server}", &srv.arg());
        assert_eq!((got_code, out.as_str()), (code, want.as_str()));
    }
}

#[test]
fn no_database_is_critical_text_is_frozen() {
    let d = tempdir().unwrap();
    let srv = DnsServer::start(txt(27472));
    let (code, out) = check_dir(d.path(), &srv, &[]);
    assert_eq!(code, 2);
    assert_eq!(
        out,
        format!(
            "CLAMAV CRITICAL - cannot read the local daily database: no daily.cvd or daily.cld in {}\n",
            d.path().display()
        )
    );
}

/// The audit steps of a successful repair through `handle`, in order (fields may grow; the
/// steps and their order may not change silently).
#[test]
fn repair_audit_steps_are_frozen() {
    let fx = Fixture::new();
    fx.systemd();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "3"])
        .assert()
        .success();
    fx.wait_repairs(1);
    let steps: Vec<String> = fx
        .syslog()
        .iter()
        .filter_map(|l| l.split_once("event=").map(|(_, r)| r))
        .map(|r| r.split(' ').next().unwrap_or_default().to_string())
        .filter(|e| e != "freshclam-output")
        .collect();
    let want = [
        "invoke",
        "config",
        "decision",
        "spawn",
        "invoke",
        "config",
        "repair-start",
        "freshclam-conf",
        "daemon-stop",
        "freshclam-version",
        "freshclam",
        "daemon-start",
        "repair-end",
        "state",
        "nagios-recheck",
    ];
    assert_eq!(steps, want, "{:#?}", fx.syslog());
}
