//! Golden tests: the check's whole output for the common states, and the order of the audit
//! steps of a repair, frozen so that a restructuring cannot change what monitors and
//! admins read without a test saying so. Times are relative to the test's own now.

mod support;

use support::clamd::{FakeClamd, Reply};
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
        // The age is seconds since the build: 18000 unless a second ticked meanwhile.
        let out = match out.split_once(" age=") {
            Some((head, tail)) => {
                let (secs, rest) = tail.split_once('s').unwrap();
                let secs: i64 = secs.parse().unwrap();
                assert!((18000..18010).contains(&secs), "{out}");
                format!("{head} age=18000s{rest}")
            }
            None => out,
        };
        let want = want
            .replace("{built}", &utc(built))
            .replace("{name}", "current.cvd.clamav.net")
            .replace("{server}", &srv.arg());
        assert_eq!((got_code, out.as_str()), (code, want.as_str()));
    }
}

/// The same with clamd asked (a fake on a Unix socket, clamd.conf run by the tests' user):
/// (clamd's daily or None for no clamd at its socket, minutes since the daily file
/// appeared, expected exit code, expected output). The database is current, built five
/// hours ago; the grace is the default 15 minutes.
#[test]
fn check_output_with_clamd_is_frozen() {
    let cases: &[(Option<u32>, u64, i32, &str)] = &[
        (
            Some(27472),
            60,
            0,
            "CLAMAV OK - daily 27472 is current, built {built} (5h 0m ago); clamd loaded 27472 | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0; clamd_daily=27472\n",
        ),
        (
            Some(27471),
            5,
            0,
            "CLAMAV OK - daily 27472 is current, built {built} (5h 0m ago); clamd loaded 27471, reload pending: daily 27472 on disk for 5m (grace 15m) | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0; clamd_daily=27471\n",
        ),
        (
            Some(27471),
            20,
            1,
            "CLAMAV WARNING - clamd loaded 27471, not reloaded: daily 27472 on disk for 20m (grace 15m); daily 27472 is current, built {built} (5h 0m ago) | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0; clamd_daily=27471\n",
        ),
        (
            Some(27471),
            40,
            2,
            "CLAMAV CRITICAL - clamd loaded 27471, not reloaded: daily 27472 on disk for 40m (grace 15m); daily 27472 is current, built {built} (5h 0m ago) | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0; clamd_daily=27471\n",
        ),
        (
            None,
            60,
            2,
            "CLAMAV CRITICAL - mail is not scanned: clamd at {socket} not answering: cannot connect: No such file or directory (os error 2); daily 27472 is current, built {built} (5h 0m ago) | daily=27472 published=27472 lag=0;0;1;0; age=18000s;;;0;\n",
        ),
    ];
    let srv = DnsServer::start(txt(27472));
    for &(clamd, minutes, code, want) in cases {
        let d = tempdir().unwrap();
        let built = now() - 5 * 3600;
        write_daily(d.path(), 27472, built);
        support::set_mtime_ago(&d.path().join("daily.cvd"), minutes * 60);
        let fake = FakeClamd::unix(Reply::daily(clamd.unwrap_or(1)));
        let conf = fake.conf(&support::me(), "");
        let socket = match clamd {
            Some(_) => fake.socket.clone(),
            None => {
                // No clamd at the socket clamd.conf names.
                let gone = d.path().join("gone.ctl");
                let text = std::fs::read_to_string(&conf).unwrap();
                std::fs::write(&conf, text.replace(&fake.socket, gone.to_str().unwrap())).unwrap();
                gone.to_str().unwrap().to_string()
            }
        };
        let (got_code, out) = check_dir(d.path(), &srv, &["--clamd-conf", conf.to_str().unwrap()]);
        let out = normalize_age(&out);
        let want = want
            .replace("{built}", &utc(built))
            .replace("{socket}", &socket);
        assert_eq!((got_code, out.as_str()), (code, want.as_str()));
    }
}

/// `age=18003s` as `age=18000s`: a second may tick during a run (asserted under 10).
fn normalize_age(out: &str) -> String {
    match out.split_once(" age=") {
        Some((head, tail)) => {
            let (secs, rest) = tail.split_once('s').unwrap();
            let secs: i64 = secs.parse().unwrap();
            assert!((18000..18010).contains(&secs), "{out}");
            format!("{head} age=18000s{rest}")
        }
        None => out.to_string(),
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
    // Steps per process (`clamav-freshen[PID]:`): the handler's and the worker's lines
    // interleave as they like, each one's own order is what is frozen.
    let mut by_pid: Vec<(String, Vec<String>)> = Vec::new();
    for l in fx.syslog() {
        let Some((head, rest)) = l.split_once("]: event=") else {
            continue;
        };
        let pid = head.rsplit_once('[').map_or("", |(_, p)| p).to_string();
        let step = rest.split(' ').next().unwrap_or_default().to_string();
        if step == "freshclam-output" {
            continue;
        }
        match by_pid.iter_mut().find(|(p, _)| *p == pid) {
            Some((_, steps)) => steps.push(step),
            None => by_pid.push((pid, vec![step])),
        }
    }
    let steps: Vec<Vec<String>> = by_pid.into_iter().map(|(_, s)| s).collect();
    let handler = ["invoke", "config", "decision", "spawn"];
    let worker = [
        "invoke",
        "config",
        "repair-start",
        "freshclam-conf",
        "preflight",
        "daemon-stop",
        "freshclam-version",
        "freshclam",
        "daemon-start",
        "repair-end",
        "state",
        "nagios-recheck",
    ];
    assert_eq!(steps, [&handler[..], &worker[..]], "{:#?}", fx.syslog());
}
