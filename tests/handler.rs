//! Hermetic tests of the real `clamav-freshen` binary in test mode.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use support::fixture::{BIN, Fixture, header};
use support::http::{HttpServer, Mode, TestCa};

// ---- decisions -------------------------------------------------------------------------

#[test]
fn ok_and_unknown_do_nothing() {
    let fx = Fixture::new();
    for st in ["OK", "UNKNOWN"] {
        for t in ["SOFT", "HARD"] {
            fx.cmd().args(["handle", st, t, "1"]).assert().success();
        }
    }
    assert_eq!(fx.runs(), 0);
    assert!(fx.service_calls().is_empty());
    let decisions = fx
        .syslog()
        .iter()
        .filter(|l| l.contains("event=decision action=skip"))
        .count();
    assert_eq!(decisions, 4);
    assert!(fx.logged("reason=\"state OK: nothing to repair\""));
}

#[test]
fn critical_hard_repairs_and_restarts_daemon() {
    let fx = Fixture::new();
    let out = fx
        .cmd()
        .args(["handle", "CRITICAL", "HARD", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("repair started"));
    fx.wait_repairs(1);
    assert_eq!(fx.runs(), 1);
    assert_eq!(fx.daily(), 101);
    // The last status: the start is verified.
    assert_eq!(fx.service_calls(), ["stop", "status", "start", "status"]);
    assert!(fx.daemon_active());
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
    assert!(fx.logged("event=repair-end outcome=updated before=100 after=101"));
    assert!(fx.logged("event=freshclam-output line=\"daily.cvd updated (version: 101)\""));
    assert!(
        fx.read("var/lib/clamav-freshen/last-repair")
            .contains("outcome=updated")
    );
    // freshclam got a clean environment and never the repair lock.
    let env = fx.read("fake/freshclam.env");
    assert!(!env.contains("CLAMAV_FRESHEN_TEST_ROOT"), "{env}");
    assert!(
        !fx.read("fake/freshclam.fds").contains("repair.lock"),
        "{}",
        fx.read("fake/freshclam.fds")
    );
    assert!(fx.read("fake/freshclam.runs").contains("--config-file="));
}

#[test]
fn soft_attempt_threshold() {
    let fx = Fixture::with_config("soft_attempt = 3\nfreshclam_timeout_secs = 3\n");
    fx.cmd()
        .args(["handle", "WARNING", "SOFT", "2"])
        .assert()
        .success();
    assert!(fx.logged("below soft_attempt 3"));
    assert_eq!(fx.runs(), 0);
    fx.cmd()
        .args(["handle", "WARNING", "SOFT", "3"])
        .assert()
        .success();
    fx.wait_repairs(1);
    assert_eq!(fx.runs(), 1);
}

#[test]
fn rate_limit_then_admin_bypass() {
    let fx = Fixture::new();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_repairs(1);
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "2"])
        .assert()
        .success();
    assert!(fx.logged("reason=\"rate limit: last repair finished at"));
    assert_eq!(fx.runs(), 1);
    fx.mode("ok 102");
    fx.cmd()
        .args(["repair", "--wait"])
        .assert()
        .success()
        .stdout(predicates::str::contains("updated (daily 101 -> 102"));
    assert!(fx.logged("rate limit bypassed"));
    assert_eq!(fx.runs(), 2);
}

#[test]
fn cooldown_respected_and_overridden() {
    let now = support::now();
    let fx = Fixture::new();
    fs::write(
        fx.p("var/lib/clamav/freshclam.dat"),
        clamav_freshen::test_support::freshclam_dat("u", now + 3600),
    )
    .unwrap();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    assert!(fx.logged("reason=\"freshclam CDN cool-down until"));
    assert_eq!(fx.runs(), 0);

    let fx2 = Fixture::with_config("respect_cooldown = false\nfreshclam_timeout_secs = 3\n");
    fs::write(
        fx2.p("var/lib/clamav/freshclam.dat"),
        clamav_freshen::test_support::freshclam_dat("u", now + 3600),
    )
    .unwrap();
    fx2.mode("cooldown");
    fx2.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx2.wait_repairs(1);
    assert!(fx2.logged("overridden"));
    assert!(fx2.logged("event=repair-end outcome=cool-down"));
    assert!(
        fx2.p("var/lib/clamav/freshclam.dat").exists(),
        "freshclam.dat never deleted"
    );
}

#[test]
fn fifty_concurrent_handles_one_freshclam_run() {
    let fx = Fixture::new();
    fx.mode("slow 1");
    let children: Vec<_> = (0..50)
        .map(|_| {
            fx.std_cmd()
                .args(["handle", "CRITICAL", "SOFT", "1"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    fx.wait_repairs(1);
    assert_eq!(fx.runs(), 1, "{}", fx.read("fake/freshclam.runs"));
    let repairs = fx
        .syslog()
        .iter()
        .filter(|l| l.contains("event=decision action=repair"))
        .count();
    assert_eq!(repairs, 1);
    let skips = fx
        .syslog()
        .iter()
        .filter(|l| l.contains("event=decision action=skip"))
        .count();
    assert_eq!(skips, 49);
}

// ---- the ladder through the real binary -------------------------------------------------

#[test]
fn every_freshclam_failure_restarts_daemon() {
    for (mode, want) in [
        // exit 5 is freshclam's connection error: named as such (the cause).
        ("fail 5", "outcome=\"failed: cannot connect to the mirror\""),
        ("fail 17", "outcome=forbidden"),
        ("fail 18", "outcome=cool-down"),
        ("current", "outcome=current"),
        ("hang", "outcome=\"failed: freshclam timed out"),
    ] {
        let fx = Fixture::new();
        fx.mode(mode);
        let t = Instant::now();
        let code = fx
            .cmd()
            .args(["repair", "--wait"])
            .output()
            .unwrap()
            .status
            .code();
        assert_eq!(code, Some(if mode == "current" { 0 } else { 1 }), "{mode}");
        assert!(t.elapsed() < Duration::from_secs(15));
        assert!(fx.logged(want), "{mode}: {:#?}", fx.syslog());
        assert_eq!(
            fx.service_calls()[fx.service_calls().len() - 2..],
            ["start", "status"],
            "{mode}: started, then verified"
        );
        assert!(fx.daemon_active());
    }
}

#[test]
fn hanging_freshclam_group_is_killed() {
    let fx = Fixture::new();
    fx.mode("hang");
    fx.cmd().args(["repair", "--wait"]).assert().code(1);
    let run = fx.read("fake/freshclam.runs");
    let pid: i32 = run.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err(),
        "fake freshclam still alive"
    );
}

#[test]
fn dead_daemon_is_started_too() {
    let fx = Fixture::new();
    fs::write(fx.p("fake/daemon.state"), "inactive\n").unwrap();
    fx.mode("fail 11");
    fx.cmd().args(["repair", "--wait"]).assert().code(1);
    assert!(fx.daemon_active());
}

#[test]
fn systemd_mode_uses_systemctl_and_scope() {
    let fx = Fixture::new();
    fx.systemd();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_repairs(1);
    let calls = fx.service_calls();
    assert_eq!(calls[0], "--no-ask-password stop clamav-freshclam.service");
    assert_eq!(
        calls[calls.len() - 2..],
        [
            "--no-ask-password start clamav-freshclam.service",
            "--no-ask-password is-active --quiet clamav-freshclam.service"
        ],
        "started, then verified"
    );
    let run = fx.read("fake/systemd-run.calls");
    assert!(
        run.starts_with("--scope --quiet --collect --unit=clamav-freshen-repair-"),
        "{run}"
    );
    assert!(
        run.trim_end()
            .ends_with(&format!("-- {BIN} worker --by monitor")),
        "{run}"
    );
    assert_eq!(fx.daily(), 101);
}

#[test]
fn stuck_systemd_stop_is_killed() {
    let fx = Fixture::new();
    fx.systemd();
    fs::write(fx.p("fake/stop.hang"), "").unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    let calls = fx.service_calls().join("\n");
    assert!(
        calls.contains("kill --signal=KILL clamav-freshclam.service"),
        "{calls}"
    );
    assert!(fx.daemon_active());
}

#[test]
fn cron_mode_touches_no_daemon() {
    let fx = Fixture::new();
    fx.cron();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(fx.service_calls().is_empty());
    assert!(fx.logged("event=repair-start mode=cron"));
}

#[test]
fn masked_unit_is_never_started() {
    let fx = Fixture::new();
    fx.systemd();
    fs::create_dir_all(fx.p("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink(
        "/dev/null",
        fx.p("etc/systemd/system/clamav-freshclam.service"),
    )
    .unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(fx.service_calls().is_empty(), "{:?}", fx.service_calls());
    assert!(fx.logged("event=repair-start mode=none"));
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
}

#[test]
fn worker_sigterm_restarts_daemon() {
    let fx = Fixture::new();
    fx.mode("hang");
    let mut child = fx
        .std_cmd()
        .args(["repair", "--wait"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    fx.wait_for("freshclam to start", || fx.runs() == 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(1));
    assert!(
        fx.logged("outcome=\"failed: interrupted by signal 15\""),
        "{:#?}",
        fx.syslog()
    );
    assert!(fx.daemon_active());
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
}

#[test]
fn detached_worker_sigterm_restarts_daemon() {
    let fx = Fixture::new();
    fx.mode("hang");
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_for("freshclam to start", || fx.runs() == 1);
    let pid = worker_pid(&fx);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    fx.wait_repairs(1);
    assert!(fx.logged("interrupted by signal 15"));
    assert!(fx.daemon_active());
}

fn worker_pid(fx: &Fixture) -> i32 {
    let line = fx
        .syslog()
        .into_iter()
        .find(|l| l.contains("event=spawn result=ok"))
        .unwrap();
    line.rsplit("pid=").next().unwrap().trim().parse().unwrap()
}

#[test]
fn worker_sigkill_next_run_restarts_daemon() {
    let fx = Fixture::new();
    fx.mode("hang");
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_for("freshclam to start", || fx.runs() == 1);
    assert!(!fx.daemon_active());
    assert!(fx.p("run/clamav-freshen/daemon-stopped").exists());
    let pid = worker_pid(&fx);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The orphaned fake freshclam is in its own group; kill it as a stuck freshclam would be.
    let fpid: i32 = fx
        .read("fake/freshclam.runs")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(fpid),
        nix::sys::signal::Signal::SIGKILL,
    );
    fx.wait_for("lock release", || fx.lock_free());
    assert!(!fx.daemon_active());
    // Any command notices; `status` included.
    fx.cmd()
        .args(["handle", "OK", "HARD", "1"])
        .assert()
        .success();
    assert!(fx.logged("event=recover"));
    assert!(fx.daemon_active());
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
}

// ---- database directory safety -----------------------------------------------------------

#[test]
fn tmp_dirs_removed_without_following_symlinks_and_freshclam_dat_kept() {
    let fx = Fixture::new();
    let db = fx.p("var/lib/clamav");
    let outside = fx.p("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("precious"), "x").unwrap();
    fs::create_dir_all(db.join("tmp.1234/sub")).unwrap();
    std::os::unix::fs::symlink(&outside, db.join("tmp.1234/sub/escape")).unwrap();
    std::os::unix::fs::symlink(&outside, db.join("tmp.link")).unwrap();
    fs::write(
        db.join("freshclam.dat"),
        clamav_freshen::test_support::freshclam_dat("u", 0),
    )
    .unwrap();
    fs::write(db.join("mirrors.dat"), "x").unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(!db.join("tmp.1234").exists());
    assert!(outside.join("precious").exists());
    assert!(fs::symlink_metadata(db.join("tmp.link")).is_ok());
    assert!(db.join("freshclam.dat").exists());
    assert!(
        db.join("mirrors.dat").exists(),
        "1.4.6 never uses mirrors.dat: left alone"
    );
    assert!(fx.logged("event=remove-tmp name=tmp.1234 result=ok"));
}

#[test]
fn fifos_planted_in_the_database_directory_never_block_the_repair() {
    // clamav owns the DB dir: a FIFO named like a database (or freshclam.dat) must neither
    // hang `handle` nor keep the worker from starting the daemon again.
    let fx = Fixture::new();
    let db = fx.p("var/lib/clamav");
    for name in ["daily.cld", "freshclam.dat"] {
        nix::unistd::mkfifo(
            &db.join(name),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
    }
    let t = Instant::now();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    assert!(t.elapsed() < Duration::from_secs(5));
    fx.wait_repairs(1);
    assert!(fx.daemon_active());
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
    assert!(fx.logged("event=freshclam-dat result=\"unreadable: not a regular file\""));
    fx.cmd()
        .arg("status")
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1);
}

#[test]
fn ownership_fix_never_follows_links() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: ownership_fix_never_follows_links: chown needs root");
        return;
    }
    // DatabaseOwner: a real unprivileged user, so root-owned files need fixing; root's
    // config names it too, and the database directory is already that user's.
    let owner = ["clamav", "nobody", "daemon"]
        .into_iter()
        .find_map(|n| nix::unistd::User::from_name(n).ok().flatten())
        .expect("an unprivileged user");
    let fx = Fixture::with_config(&format!(
        "start_verify_secs = 0\ndatabase_owner = \"{}\"\n",
        owner.name
    ));
    let conf = fx.read("etc/clamav/freshclam.conf").replace(
        &format!("DatabaseOwner {}", support::fixture::me()),
        &format!("DatabaseOwner {}", owner.name),
    );
    fs::write(fx.p("etc/clamav/freshclam.conf"), conf).unwrap();
    let db = fx.p("var/lib/clamav");
    fx.give_to(owner.uid.as_raw(), owner.gid.as_raw());
    let outside = fx.p("outside-file");
    fs::write(&outside, "secret").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&outside, db.join("evil-link.cvd")).unwrap();
    fs::hard_link(&outside, db.join("evil-hard.cld")).unwrap();
    fs::write(db.join("main.cvd"), header(60)).unwrap();
    // The fake freshclam writes its call log as the owner now.
    fs::set_permissions(fx.p("fake"), fs::Permissions::from_mode(0o777)).unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(&outside).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o7777),
        (0, 0o600),
        "outside file untouched"
    );
    assert_eq!(
        fs::metadata(db.join("main.cvd")).unwrap().uid(),
        owner.uid.as_raw()
    );
    assert_eq!(fs::metadata(&db).unwrap().uid(), owner.uid.as_raw());
    assert!(fx.logged("event=skip-symlink name=\"evil-link.cvd (symlink)\""));
    assert!(fx.logged("event=skip-hardlink name=\"evil-hard.cld (file)\""));
}

// ---- Nagios command file -------------------------------------------------------------------

#[test]
fn nagios_fifo_gets_forced_check() {
    let fx = Fixture::new();
    let fifo = fx.p("var/lib/nagios4/rw/nagios.cmd");
    fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o660)).unwrap();
    let reader = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap()
    };
    fx.cmd().args(["repair", "--wait"]).assert().success();
    let mut s = String::new();
    let _ = std::io::Read::read_to_string(&mut &reader, &mut s);
    assert!(
        s.contains("] SCHEDULE_FORCED_SVC_CHECK;localhost;ClamAV signatures;"),
        "{s:?}"
    );
    assert!(fx.logged("event=nagios-recheck result=sent"));
}

#[test]
fn nagios_fifo_without_reader_does_not_hang() {
    let fx = Fixture::new();
    let fifo = fx.p("var/lib/nagios4/rw/nagios.cmd");
    fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o660)).unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(fx.logged("event=nagios-recheck result=\"error: no reader on the command FIFO\""));
}

// ---- Icinga 2's API: the re-check after a repair --------------------------------------------

/// Root's icinga2-api.toml for an API at `port` whose certificate the test CA signed.
fn icinga_api_file(fx: &Fixture, ca: &TestCa, port: u16, mode: u32) {
    ca.write(&fx.p(""));
    let p = fx.p("etc/clamav-freshen/icinga2-api.toml");
    fs::write(
        &p,
        format!(
            "url = \"https://127.0.0.1:{port}\"\nuser = \"clamav-freshen\"\n\
             password = \"pa ss\"\nca_file = \"/test-ca.pem\"\nserver_name = \"localhost\"\n\
             host = \"mailfilter1\"\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Icinga 2's answer to a reschedule-check that found the service.
fn icinga_ok() -> Vec<u8> {
    let body = r#"{"results":[{"code":200.0,"status":"Successfully rescheduled check for object 'mailfilter1!ClamAV signatures'."}]}"#;
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn icinga_api_is_asked_to_recheck_after_a_repair() {
    let ca = TestCa::new();
    let api = HttpServer::start_tls(Mode::Raw(icinga_ok()), Some(&ca));
    let fx = Fixture::new();
    icinga_api_file(&fx, &ca, api.port, 0o600);
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(
        fx.logged(&format!(
            "event=icinga-recheck result=\"sent: Successfully rescheduled check for object 'mailfilter1!ClamAV signatures'.\" url=https://127.0.0.1:{}",
            api.port
        )),
        "{}",
        fx.syslog().join("\n")
    );
    assert!(!fx.logged("event=nagios-recheck"), "the pipe was used too");
    let seen = api.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let req = &seen[0];
    assert!(
        req.starts_with("POST /v1/actions/reschedule-check HTTP/1.1\r\n"),
        "{req}"
    );
    // "clamav-freshen:pa ss"
    assert!(
        req.contains("\r\nAuthorization: Basic Y2xhbWF2LWZyZXNoZW46cGEgc3M=\r\n"),
        "{req}"
    );
    assert!(req.contains("\r\nAccept: application/json\r\n"), "{req}");
    assert!(
        req.ends_with(r#"{"type":"Service","filter":"host.name==h&&service.name==s","filter_vars":{"h":"mailfilter1","s":"ClamAV signatures"},"force":true}"#),
        "{req}"
    );
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "re-check:     Icinga 2 API https://127.0.0.1:{} as clamav-freshen for 'mailfilter1!ClamAV signatures'; if it fails: none (no command file",
            api.port
        )),
        "{text}"
    );
}

#[test]
fn icinga_api_refusing_falls_back_to_the_command_file() {
    let ca = TestCa::new();
    let api = HttpServer::start_tls(Mode::Status(401), Some(&ca));
    let fx = Fixture::new();
    icinga_api_file(&fx, &ca, api.port, 0o600);
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(
        fx.logged(
            "event=icinga-recheck result=\"error: HTTP 401: the API refused user and password\""
        ),
        "{}",
        fx.syslog().join("\n")
    );
    assert!(fx.logged("event=nagios-recheck result=\"skipped: no command file\""));
}

#[test]
fn icinga_api_with_a_certificate_of_another_ca_gets_no_password() {
    let (ours, theirs) = (TestCa::new(), TestCa::new());
    let api = HttpServer::start_tls(Mode::Raw(icinga_ok()), Some(&theirs));
    let fx = Fixture::new();
    icinga_api_file(&fx, &ours, api.port, 0o600);
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(
        fx.logged("event=icinga-recheck result=\"error: TLS: "),
        "{}",
        fx.syslog().join("\n")
    );
    assert!(
        api.seen().iter().all(|r| !r.contains("Authorization")),
        "the password went to an untrusted server"
    );
    assert!(fx.logged("event=nagios-recheck"));
}

#[test]
fn icinga_api_file_readable_by_others_is_refused_and_said() {
    let ca = TestCa::new();
    let api = HttpServer::start_tls(Mode::Raw(icinga_ok()), Some(&ca));
    let fx = Fixture::new();
    icinga_api_file(&fx, &ca, api.port, 0o644);
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(
        fx.logged("event=icinga-recheck result=\"refused: "),
        "{}",
        fx.syslog().join("\n")
    );
    assert!(fx.logged("it holds a password"));
    assert!(api.seen().is_empty());
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("re-check:     REFUSED Icinga 2 API: "),
        "{text}"
    );
    assert!(text.contains("overall:      NOT healthy"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}

// ---- hostile callers ---------------------------------------------------------------------------

fn refused(fx: &Fixture, args: &[&std::ffi::OsStr]) -> String {
    let out = fx.cmd().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one-line reason: {err:?}");
    err
}

#[test]
fn hostile_arguments_refused_and_audited() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let fx = Fixture::new();
    // Linux caps one argument at 128 KiB (MAX_ARG_STRLEN): the largest single argument a
    // caller can pass, and ~1 MiB across eight of them.
    let big = "A".repeat(128 * 1024 - 1);
    let big = big.as_str();
    let text: &[&[&str]] = &[
        &["handle", "CRITICAL;rm -rf /", "HARD", "1"],
        &["handle", "$(reboot)", "`id`", "1|x"],
        &["handle", "critical", "HARD", "1"],
        &["handle", "CRITICAL", "HARD", "0"],
        &["handle", "CRITICAL", "HARD", "1000"],
        &["handle", "CRITICAL", "HARD", big],
        &[big; 8],
        &["handle", "CRITICAL", "HARD", "1", "extra"],
        &["handle", "CRITICAL"],
        &["frobnicate"],
        &["--config=/tmp/evil.toml", "repair"],
        &["repair", "--now"],
        &["status", "/etc/shadow"],
        &[],
    ];
    let mut cases: Vec<Vec<&OsStr>> = text
        .iter()
        .map(|c| c.iter().map(OsStr::new).collect())
        .collect();
    cases.push(vec![
        OsStr::new("handle"),
        OsStr::from_bytes(b"CRIT\xffICAL"),
        OsStr::new("HARD"),
        OsStr::new("1"),
    ]);
    for args in &cases {
        refused(&fx, args);
    }
    assert_eq!(fx.runs(), 0);
    assert!(fx.service_calls().is_empty());
    let refusals = fx
        .syslog()
        .iter()
        .filter(|l| l.contains("event=refused"))
        .count();
    assert_eq!(refusals, cases.len());
    for l in fx.syslog() {
        assert!(l.len() < 4096, "bounded syslog line: {}", l.len());
    }
    assert!(fx.logged(&format!("...(len={})", 128 * 1024 - 1)));
    assert!(fx.logged("\\xff"), "non-UTF-8 escaped");
    assert!(fx.logged("\"CRITICAL;rm -rf /\""));
}

#[test]
fn worker_misuse_refused() {
    let fx = Fixture::new();
    let err = refused(&fx, &["worker".as_ref()]);
    assert!(err.contains("internal command"), "{err}");
    // An fd 3 that is some other file is refused too.
    let out = std::process::Command::new("/bin/sh")
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
        .arg("-c")
        .arg("exec \"$0\" worker 3<\"$1\"")
        .arg(BIN)
        .arg(fx.p("etc/clamav/freshclam.conf"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the held repair lock"));
    // The lock file itself, while someone else holds the lock: not ours, no second repair.
    let run = fx.p("run/clamav-freshen");
    let lock = run.join("repair.lock");
    let held = clamav_freshen::test_support::hold_repair_lock(&run, &lock);
    let out = std::process::Command::new("/bin/sh")
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
        .arg("-c")
        .arg("exec \"$0\" worker 3<\"$1\"")
        .arg(BIN)
        .arg(&lock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the held repair lock"));
    drop(held);
    assert_eq!(fx.runs(), 0);
    assert!(fx.service_calls().is_empty());
}

#[test]
fn test_root_refused_under_sudo() {
    let fx = Fixture::new();
    for var in ["SUDO_UID", "SUDO_USER", "SUDO_COMMAND"] {
        let out = fx
            .cmd()
            .env(var, "1000")
            .args(["repair", "--wait"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not honoured under sudo"), "{err}");
    }
    // Real and effective ids differ (a setuid or setgid run): refused too.
    if nix::unistd::geteuid().is_root() && std::path::Path::new("/usr/bin/setpriv").exists() {
        for ids in [
            ["--ruid", "65534", "--euid", "0"],
            ["--rgid", "65534", "--egid", "0"],
        ] {
            let out = std::process::Command::new("/usr/bin/setpriv")
                .args(ids)
                .arg("--keep-groups")
                .arg(BIN)
                .args(["repair", "--wait"])
                .env_clear()
                .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{ids:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("not honoured under sudo or setuid"), "{err}");
        }
    }
    assert_eq!(fx.runs(), 0);
    // The refusal goes to the real syslog, never to the test root's socket.
    assert!(!fx.logged("event=refused"));
}

#[test]
fn test_root_must_be_owned_and_closed_to_others() {
    let fx = Fixture::new();
    for mode in [0o775, 0o757, 0o1777] {
        fs::set_permissions(&fx.root, fs::Permissions::from_mode(mode)).unwrap();
        let out = fx
            .cmd()
            .args(["handle", "OK", "HARD", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode:o}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not group/world-writable"),
            "{mode:o}"
        );
    }
    fs::set_permissions(&fx.root, fs::Permissions::from_mode(0o755)).unwrap();
    let link = fx.root.with_extension("link");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&fx.root, &link).unwrap();
    let out = fx
        .cmd()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &link)
        .args(["handle", "OK", "HARD", "1"])
        .output()
        .unwrap();
    fs::remove_file(&link).unwrap();
    assert_eq!(out.status.code(), Some(2), "a symlinked root is refused");
    if nix::unistd::geteuid().is_root() {
        nix::unistd::chown(&fx.root, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        fx.cmd()
            .args(["handle", "OK", "HARD", "1"])
            .assert()
            .code(2);
        nix::unistd::chown(&fx.root, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    }
    fx.cmd()
        .args(["handle", "OK", "HARD", "1"])
        .assert()
        .success();
    assert_eq!(fx.runs(), 0);
}

#[test]
fn config_not_owned_or_writable_refused() {
    let fx = Fixture::new();
    let cfg = fx.p("etc/clamav-freshen/clamav-freshen.toml");
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o664)).unwrap();
    let err = refused(
        &fx,
        &[
            "handle".as_ref(),
            "CRITICAL".as_ref(),
            "HARD".as_ref(),
            "1".as_ref(),
        ],
    );
    assert!(err.contains("writable by group or others"), "{err}");
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o646)).unwrap();
    refused(&fx, &["repair".as_ref()]);
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o644)).unwrap();
    if nix::unistd::geteuid().is_root() {
        nix::unistd::chown(&cfg, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let err = refused(&fx, &["repair".as_ref()]);
        assert!(err.contains("owned by uid 65534"), "{err}");
    } else {
        eprintln!("note: the config ownership part of this test needs root to chown; not run");
    }
    assert!(fx.logged("event=config result=refused"));
    assert_eq!(fx.runs(), 0);
}

#[test]
fn config_symlink_and_unknown_key_refused() {
    let fx = Fixture::with_config("rate_limit = 5\n");
    let err = refused(&fx, &["repair".as_ref()]);
    assert!(err.contains("unknown field"), "{err}");
    assert!(fx.logged("event=config result=refused reason=\""));
    assert!(fx.logged("unknown field"));
    let fx2 = Fixture::new();
    let cfg = fx2.p("etc/clamav-freshen/clamav-freshen.toml");
    let real = fx2.p("real.toml");
    fs::rename(&cfg, &real).unwrap();
    std::os::unix::fs::symlink(&real, &cfg).unwrap();
    refused(&fx2, &["repair".as_ref()]);
}

#[test]
fn missing_config_uses_defaults_audited() {
    let fx = Fixture::new();
    fs::remove_file(fx.p("etc/clamav-freshen/clamav-freshen.toml")).unwrap();
    fx.cmd()
        .args(["handle", "OK", "SOFT", "1"])
        .assert()
        .success();
    assert!(fx.logged("event=config result=\"missing, built-in defaults\""));
}

#[test]
fn caller_environment_does_not_reach_children() {
    let fx = Fixture::new();
    fx.cmd()
        .env("LD_PRELOAD", "/tmp/evil.so")
        .env("FOO_EVIL", "1")
        .args(["repair", "--wait"])
        .assert()
        .success();
    let env = fx.read("fake/freshclam.env");
    assert!(
        !env.contains("LD_PRELOAD") && !env.contains("FOO_EVIL"),
        "{env}"
    );
    assert!(env.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin"));
}

#[test]
fn syslog_unreachable_said_once_and_still_works() {
    let fx = Fixture::new();
    let out = fx
        .cmd()
        .env("CLAMAV_FRESHEN_TEST_ROOT", fx.p("var/lib"))
        .args(["handle", "OK", "HARD", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("syslog unreachable").count(), 1, "{err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn syslog_that_stopped_reading_does_not_hang_the_repair() {
    // A syslog daemon that no longer reads: its socket queue is full and a blocking send
    // would wait forever, with the freshclam daemon stopped.
    use std::os::unix::net::UnixDatagram;
    let fx = Fixture::new();
    let log = fx.p("dev/log");
    fs::remove_file(&log).unwrap();
    let _stuck = UnixDatagram::bind(&log).unwrap();
    let mut senders = Vec::new();
    'fill: for _ in 0..1000 {
        let s = UnixDatagram::unbound().unwrap();
        s.set_nonblocking(true).unwrap();
        let mut sent = 0;
        loop {
            match s.send_to(b"x", &log) {
                Ok(_) => sent += 1,
                Err(_) if sent == 0 => break 'fill,
                Err(_) => break,
            }
        }
        senders.push(s);
    }
    let t = Instant::now();
    let out = fx.cmd().args(["repair", "--wait"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(err.matches("syslog unreachable").count(), 1, "{err}");
    assert!(fx.daemon_active());
    assert!(
        fx.read("var/lib/clamav-freshen/last-repair")
            .contains("outcome=updated")
    );
}

// ---- timing ---------------------------------------------------------------------------------

#[test]
fn handle_returns_at_once_while_repair_runs() {
    let fx = Fixture::new();
    fx.mode("hang");
    let t = Instant::now();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    let first = t.elapsed();
    let t = Instant::now();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    let second = t.elapsed();
    // Generous bounds: this proves "does not wait for the repair", not a latency target.
    // `assert()` reads stdout and stderr to EOF, so this also proves the worker holds
    // neither pipe (Nagios reads the handler's stdout until EOF).
    assert!(
        first < Duration::from_secs(2) && second < Duration::from_secs(2),
        "{first:?} {second:?}"
    );
    assert!(
        fx.logged("reason=\"a repair is already running\""),
        "{:#?}",
        fx.syslog()
    );
    fx.wait_repairs(1);
}

#[test]
fn status_reports_and_exit_code() {
    let fx = Fixture::new();
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("freshclam:    sysv (running)"), "{text}");
    assert!(text.contains("local daily:  100"), "{text}");
    assert!(text.contains("last repair:  never"), "{text}");
    // No DNS server configured in this root: the check cannot be OK, so not healthy.
    assert_eq!(out.status.code(), Some(1));
    fs::write(fx.p("fake/daemon.state"), "inactive\n").unwrap();
    let out = fx.cmd().arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT running"));
    assert_eq!(out.status.code(), Some(1));
}

// ---- stray freshclam holding the log lock ---------------------------------------------------

/// perl (essential in Debian) takes a POSIX write lock on the log file, like freshclam does.
const PERL_LOCK: &str = r#"use Fcntl; open(my $f, ">>", $ENV{LOG}) or die; my $s = pack("s s x4 q q i x4", F_WRLCK, SEEK_SET, 0, 0, 0); fcntl($f, F_SETLK, $s) or die "lock: $!"; open(my $r, ">", $ENV{READY}); close $r; sleep 1000;"#;

#[test]
fn stray_freshclam_holding_log_lock_is_killed_others_are_not() {
    if !std::path::Path::new("/usr/bin/perl").exists() {
        eprintln!(
            "SKIP: stray_freshclam_holding_log_lock_is_killed_others_are_not: no /usr/bin/perl"
        );
        return;
    }
    let fx = Fixture::new();
    let log = fx.p("var/log/clamav/freshclam.log");
    // A perl script installed AS the configured freshclam: the kernel runs it as
    // `perl <root>/usr/bin/freshclam`, so its argv[1] is the freshclam path.
    let fake = fx.p("usr/bin/freshclam");
    let sh_fake = fx.p("usr/bin/freshclam.sh");
    fs::rename(&fake, &sh_fake).unwrap();
    fs::write(
        &fake,
        format!(
            "#!/usr/bin/perl\nif (@ARGV && $ARGV[0] eq 'hold') {{ {PERL_LOCK} }}\nexec('{}', @ARGV);\n",
            sh_fake.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let spawn_holder = |cmd: &mut std::process::Command, ready: &str| {
        let child = cmd
            .env("LOG", &log)
            .env("READY", fx.p(ready))
            .process_group(0)
            .spawn()
            .unwrap();
        fx.wait_for(ready, || fx.p(ready).exists());
        child
    };
    use std::os::unix::process::CommandExt;
    let mut stray = spawn_holder(std::process::Command::new(&fake).arg("hold"), "fake/ready1");
    fx.cmd().args(["repair", "--wait"]).assert().success();
    let st = stray.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));
    assert!(
        fx.logged(&format!("event=kill-lock-holder pid={} ", stray.id())),
        "{:#?}",
        fx.syslog()
    );
    assert_eq!(fx.runs(), 1);

    // A lock holder that is not the configured freshclam is left alone.
    let mut other = spawn_holder(
        std::process::Command::new("/usr/bin/perl")
            .arg("-e")
            .arg(PERL_LOCK),
        "fake/ready2",
    );
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(
        other.try_wait().unwrap().is_none(),
        "foreign lock holder must survive"
    );
    assert!(!fx.logged(&format!("pid={} ", other.id())));
    other.kill().unwrap();
    other.wait().unwrap();
}

// ---- process hygiene ---------------------------------------------------------------------------

#[test]
fn closed_std_fds_are_survived() {
    let fx = Fixture::new();
    let st = std::process::Command::new("/bin/sh")
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
        .arg("-c")
        .arg("exec \"$0\" handle CRITICAL HARD 1 <&- >&- 2>&-")
        .arg(BIN)
        .status()
        .unwrap();
    assert!(st.success());
    fx.wait_repairs(1);
    assert!(fx.logged("event=repair-end outcome=updated"));
    // Nothing was written into a file that happened to get fd 1 or 2.
    assert_eq!(
        fx.read("etc/clamav-freshen/clamav-freshen.toml")
            .lines()
            .count(),
        5
    );
}

#[test]
fn callers_signals_and_limits_do_not_reach_the_repair() {
    // sudo keeps the caller's rlimits and ignored signals: a hostile caller could make root
    // fail to wait for its children (SIGCHLD ignored), die writing a file (ulimit -f 0) or
    // start freshclam crippled. Soft limits only: raising a lowered hard limit needs
    // CAP_SYS_RESOURCE, which root has on a real system but not in every test container.
    let fx = Fixture::new();
    let out = std::process::Command::new("/bin/sh")
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
        .arg("-c")
        .arg("trap '' CHLD TERM HUP INT; ulimit -S -f 0; ulimit -S -n 32; ulimit -S -t 100; ulimit -S -p 5; exec \"$0\" repair --wait")
        .arg(BIN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        fx.read("var/lib/clamav-freshen/last-repair")
            .contains("outcome=updated")
    );
    let limits = fx.read("fake/freshclam.limits");
    let (ulimits, ignored) = limits.trim().rsplit_once(' ').unwrap();
    assert_eq!(ulimits, "unlimited 1024 unlimited");
    // Standard signals 1..31 (glibc keeps its own real-time ones above).
    let ignored = u64::from_str_radix(ignored, 16).unwrap();
    assert_eq!(ignored & 0x7fff_ffff, 0, "ignored signals {ignored:x}");
    let nproc = fx.read("fake/freshclam.nproc");
    let (soft, hard) = nproc.trim().split_once(' ').unwrap();
    assert_eq!(soft, hard, "process limit back at its hard limit");
    assert!(fx.daemon_active());
}

#[test]
fn status_never_prints_control_characters_from_clamav_files() {
    // The header is clamav's: an escape sequence in it must not reach root's terminal.
    let fx = Fixture::new();
    let mut h =
        b"ClamAV-VDB:25 Nov 2026\x1b]2;owned\x07\n10-00 +0000:100:100:90:x:y:z:1795600000".to_vec();
    h.resize(512, b' ');
    fs::write(fx.p("var/lib/clamav/daily.cvd"), h).unwrap();
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("local daily:  100 (built 25 Nov 2026?]2;owned??10-00"),
        "{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

#[test]
fn callers_open_descriptors_do_not_reach_children() {
    // Descriptors a caller leaves open without close-on-exec must reach neither the
    // detached worker's freshclam nor the one `repair --wait` runs.
    let fx = Fixture::new();
    fs::write(fx.p("fake/leak"), "").unwrap();
    let run = |args: &str| {
        let st = std::process::Command::new("/bin/sh")
            .env_clear()
            .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
            .arg("-c")
            .arg(format!("exec 7<\"$1\" 9<\"$1\"; exec \"$0\" {args}"))
            .arg(BIN)
            .arg(fx.p("fake/leak"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{args}");
    };
    run("handle CRITICAL HARD 1");
    fx.wait_repairs(1);
    fx.mode("ok 102");
    run("repair --wait");
    assert_eq!(fx.runs(), 2);
    let fds = fx.read("fake/freshclam.fds");
    assert!(!fds.contains("fake/leak"), "{fds}");
}

#[test]
fn sudo_reachable_commands_cannot_be_suspended() {
    // sudo relays SIGTSTP from its (unprivileged) caller; a suspended `handle` holding the
    // repair lock would block every repair. `heal` waits for DNS here: time to send it.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let fx = Fixture::with_config(&format!(
        "check_timeout_secs = 2\ncheck_dns_server = \"127.0.0.1:{port}\"\n"
    ));
    let mut child = fx
        .std_cmd()
        .arg("heal")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTSTP).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > until {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("heal was suspended by SIGTSTP");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.code(), Some(3), "DNS silent: UNKNOWN");
}

#[test]
fn worker_is_in_its_own_session_and_status_names_it() {
    let fx = Fixture::new();
    fx.mode("hang");
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_for("freshclam to start", || fx.runs() == 1);
    let pid = worker_pid(&fx);
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // fields: state ppid pgrp session ...
    assert_eq!(fields[2], pid.to_string(), "own process group");
    assert_eq!(fields[3], pid.to_string(), "own session");
    let fds: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| {
            fs::read_link(e.unwrap().path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert!(fds.iter().any(|f| f.ends_with("worker.log")), "{fds:?}");
    assert!(fds.iter().any(|f| f == "/dev/null"), "{fds:?}");
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("running (worker pid {pid})")),
        "{text}"
    );
    assert!(
        text.contains("daemon stopped by the running repair"),
        "{text}"
    );
    assert!(text.contains("NOT running"), "{text}");
    assert_eq!(out.status.code(), Some(1));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    fx.wait_repairs(1);
    assert!(fx.daemon_active());
}

// ---- heal / status with the built-in check ------------------------------------------------
// The check runs in-process against a local DNS responder (config check_dns_server).

#[test]
fn heal_ok_when_current_does_nothing() {
    let fx = Fixture::with_published(100);
    let out = fx.cmd().arg("heal").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("CLAMAV OK - "), "{text}");
    assert!(text.contains("no repair: check OK"), "{text}");
    assert_eq!(text.lines().count(), 1);
    assert_eq!(fx.runs(), 0);
}

#[test]
fn heal_stale_repairs_and_answers_with_the_database_after_the_repair() {
    let fx = Fixture::with_published(105);
    let out = fx.cmd().arg("heal").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The quick repair (daily 100 -> 101) ended within heal_wait_secs: heal checked again,
    // and 101 is still 4 behind 105.
    assert_eq!(out.status.code(), Some(2), "lag 4 is CRITICAL: {text}");
    assert!(text.starts_with("CLAMAV CRITICAL - daily 101 "), "{text}");
    assert!(text.contains("; repair outcome updated after "), "{text}");
    assert!(text.contains("(was CRITICAL) | "), "{text}");
    assert_eq!(text.lines().count(), 1);
    assert_eq!(fx.daily(), 101, "answered after the repair");
    assert!(fx.logged("event=check state=CRITICAL"));
    assert!(fx.logged("when=after-repair"));
    fx.wait_repairs(1);
    assert!(fx.daemon_active());
    // Rate limited the second time, with the backoff's state in the decision.
    let out = fx.cmd().arg("heal").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("no repair: rate limit"));
    assert!(fx.logged("failures=0 next_allowed="));
}

#[test]
fn heal_answers_in_time_while_a_long_repair_goes_on() {
    let fx = Fixture::with_published(105);
    let cfg = fx.p("etc/clamav-freshen/clamav-freshen.toml");
    let mut text = fs::read_to_string(&cfg).unwrap();
    text.push_str("heal_wait_secs = 1\n");
    fs::write(&cfg, text).unwrap();
    fx.mode("hang");
    let t = Instant::now();
    let out = fx.cmd().arg("heal").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("repair started (check CRITICAL), still running after 1s | "),
        "{text}"
    );
    // The worker goes on detached (freshclam's 3 s limit ends it), then the daemon runs.
    fx.wait_repairs(1);
    assert!(fx.logged("event=repair-end outcome=\"failed"));
    assert!(fx.daemon_active());
}

#[test]
fn status_healthy_when_current_and_daemon_running() {
    let fx = Fixture::with_published(100);
    let out = fx.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("published:    100"), "{text}");
    assert!(text.contains("overall:      healthy"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
    let fx = Fixture::with_published(110);
    let out = fx.cmd().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn refused_config_still_restarts_a_daemon_left_stopped() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.p("run/clamav-freshen")).unwrap();
    fs::write(fx.p("run/clamav-freshen/daemon-stopped"), "sysv\n").unwrap();
    fs::write(fx.p("fake/daemon.state"), "inactive\n").unwrap();
    let cfg = fx.p("etc/clamav-freshen/clamav-freshen.toml");
    fs::set_permissions(&cfg, fs::Permissions::from_mode(0o666)).unwrap();
    refused(
        &fx,
        &[
            "handle".as_ref(),
            "CRITICAL".as_ref(),
            "HARD".as_ref(),
            "1".as_ref(),
        ],
    );
    assert!(fx.logged("event=recover"));
    assert!(fx.daemon_active());
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
    assert_eq!(fx.runs(), 0, "no repair on an untrusted config");
}

#[test]
fn admin_repair_without_wait_detaches() {
    let fx = Fixture::new();
    let out = fx.cmd().arg("repair").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("repair started (admin request)"));
    fx.wait_repairs(1);
    assert_eq!(fx.daily(), 101);
    // Single flight also for admins: a second `repair --wait` during a hanging run is refused.
    fx.mode("hang");
    fx.cmd().arg("repair").assert().success();
    fx.wait_for("freshclam to start", || fx.runs() == 2);
    let out = fx.cmd().args(["repair", "--wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a repair is already running"));
    fx.wait_repairs(2);
    assert_eq!(fx.runs(), 2);
}

#[test]
fn killing_the_callers_process_group_spares_the_worker() {
    // What Nagios does to an event handler that overstays: SIGKILL to its process group.
    use std::os::unix::process::CommandExt;
    let fx = Fixture::new();
    fx.mode("slow 1");
    let mut nagios_side = std::process::Command::new("/bin/sh")
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", &fx.root)
        .arg("-c")
        .arg("\"$0\" handle CRITICAL HARD 1; exec sleep 60")
        .arg(BIN)
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    fx.wait_for("freshclam to start", || fx.runs() == 1);
    let pgid = nix::unistd::Pid::from_raw(nagios_side.id() as i32);
    nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL).unwrap();
    nagios_side.wait().unwrap();
    fx.wait_repairs(1);
    // freshclam ran to its end ("slow" exits 0 without a new database: current).
    assert!(fx.logged("event=freshclam-output line=\"slow done\""));
    assert!(fx.logged("event=repair-end outcome=current"));
    assert!(fx.daemon_active());
}

#[test]
fn worker_log_is_emptied_once_it_grows_too_big() {
    let fx = Fixture::new();
    let log = fx.p("run/clamav-freshen/worker.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, vec![b'x'; 2 << 20]).unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = fx
        .cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    fx.wait_repairs(1);
    let len = std::fs::metadata(&log).unwrap().len();
    assert!(len < 1 << 20, "worker.log still {len} bytes");
    assert!(fx.daemon_active());
}

// ---- root acts only where root's config says (issue 9) -----------------------------------

/// Replaces the `key` line of the fixture's freshclam.conf.
fn set_freshclam_conf(fx: &Fixture, key: &str, line: &str) {
    let text: String = fx
        .read("etc/clamav/freshclam.conf")
        .lines()
        .filter(|l| !l.starts_with(key))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(fx.p("etc/clamav/freshclam.conf"), format!("{text}{line}\n")).unwrap();
}

/// An unprivileged account other than root, for the tests that need root to chown.
fn other_user() -> nix::unistd::User {
    ["clamav", "nobody", "daemon"]
        .into_iter()
        .find_map(|n| nix::unistd::User::from_name(n).ok().flatten())
        .expect("an unprivileged user")
}

/// Runs `repair --wait`, expects a refusal, and that nothing was touched: no service call,
/// no freshclam run, the daemon still running, the temp dir in the database directory kept.
fn assert_refused_repair(fx: &Fixture, want: &str) -> String {
    fs::create_dir_all(fx.p("var/lib/clamav/tmp.0badc0de")).ok();
    let out = fx.cmd().args(["repair", "--wait"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refusal is not a success: {stdout}"
    );
    assert!(stdout.contains(want), "{stdout}");
    assert!(fx.service_calls().is_empty(), "{:?}", fx.service_calls());
    assert!(fx.daemon_active(), "the daemon is left running as it was");
    assert_eq!(fx.runs(), 0);
    assert!(!fx.p("run/clamav-freshen/daemon-stopped").exists());
    assert!(
        fx.read("var/lib/clamav-freshen/last-repair")
            .contains("outcome=refused: ")
    );
    assert!(fx.logged("event=daemon-start result=\"skipped: repair refused"));
    stdout
}

#[test]
fn database_directory_mismatch_refused_and_nothing_changed() {
    let fx = Fixture::new();
    // clamav points freshclam.conf at a directory of its choosing.
    let elsewhere = fx.p("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::create_dir(elsewhere.join("tmp.abc")).unwrap();
    fs::write(elsewhere.join("daily.cvd"), header(50)).unwrap();
    set_freshclam_conf(
        &fx,
        "DatabaseDirectory",
        &format!("DatabaseDirectory {}", elsewhere.display()),
    );
    let want = format!(
        "refused: freshclam.conf DatabaseDirectory {} is not the configured {}",
        elsewhere.display(),
        fx.p("var/lib/clamav").display()
    );
    assert_refused_repair(&fx, &want);
    assert!(fx.logged(&format!(
        "event=freshclam-conf result=refused field=DatabaseDirectory value={} expected={}",
        elsewhere.display(),
        fx.p("var/lib/clamav").display()
    )));
    assert!(elsewhere.join("tmp.abc").exists());
    assert!(fx.p("var/lib/clamav/tmp.0badc0de").exists());
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    assert_eq!(fs::metadata(elsewhere.join("daily.cvd")).unwrap().uid(), me);
}

#[test]
fn other_freshclam_conf_keys_refused_too() {
    for (key, line) in [
        ("DatabaseOwner", "DatabaseOwner someone-else"),
        ("UpdateLogFile", "UpdateLogFile /etc/shadow"),
        ("PidFile", "PidFile /etc/passwd"),
    ] {
        let fx = Fixture::new();
        set_freshclam_conf(&fx, key, line);
        let value = line.split_once(' ').unwrap().1;
        assert_refused_repair(
            &fx,
            &format!("refused: freshclam.conf {key} {value} is not"),
        );
        assert!(fx.logged(&format!(
            "event=freshclam-conf result=refused field={key} value={value} expected="
        )));
    }
    // UpdateLogFile absent means none (freshclam's default), which is not the configured one.
    let fx = Fixture::new();
    set_freshclam_conf(&fx, "UpdateLogFile", "");
    assert_refused_repair(&fx, "UpdateLogFile none is not the configured");
}

#[test]
fn unsafe_database_directories_refused() {
    for mode in [0o777, 0o775, 0o1755] {
        let fx = Fixture::new();
        let db = fx.p("var/lib/clamav");
        fs::set_permissions(&db, fs::Permissions::from_mode(mode)).unwrap();
        let want = if mode & 0o1000 != 0 {
            "has the sticky bit"
        } else {
            "is writable by group or others"
        };
        assert_refused_repair(
            &fx,
            &format!("refused: database directory: {}", db.display()),
        );
        assert!(fx.logged(want), "{mode:o}: {:#?}", fx.syslog());
        assert!(fx.logged("event=database-directory result=refused path="));
        assert!(db.join("tmp.0badc0de").exists(), "{mode:o}");
    }
    // A system directory reached through a link in the path (the last component is no
    // symlink, so O_NOFOLLOW alone would not see it).
    let fx = Fixture::with_config("start_verify_secs = 0\ndatabase_directory = \"/srv/x/tmp\"\n");
    fs::create_dir_all(fx.p("srv")).unwrap();
    fs::create_dir(fx.p("tmp")).unwrap();
    fs::set_permissions(fx.p("tmp"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&fx.root, fx.p("srv/x")).unwrap();
    set_freshclam_conf(
        &fx,
        "DatabaseDirectory",
        &format!("DatabaseDirectory {}", fx.p("srv/x/tmp").display()),
    );
    assert_refused_repair(
        &fx,
        &format!("is the system directory {}", fx.p("tmp").display()),
    );
    // And a symlinked database directory.
    let fx = Fixture::new();
    let db = fx.p("var/lib/clamav");
    fs::rename(&db, fx.p("real-db")).unwrap();
    std::os::unix::fs::symlink(fx.p("real-db"), &db).unwrap();
    assert_refused_repair(&fx, "without following symlinks");
}

#[test]
fn database_directory_with_too_many_entries_refused_with_one_audit_line() {
    let fx = Fixture::new();
    let db = fx.p("var/lib/clamav");
    for i in 0..5000 {
        // Symlinks: one syscall each.
        std::os::unix::fs::symlink("x", db.join(format!("junk{i}"))).unwrap();
    }
    assert_refused_repair(&fx, "more than 4096");
    let lines: Vec<String> = fx
        .syslog()
        .into_iter()
        .filter(|l| l.contains("event=database-directory"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // 5000 of junk, daily.cvd, the temp dir.
    assert!(
        lines[0].contains("refused") && lines[0].ends_with("count=5002"),
        "{}",
        lines[0]
    );
    assert!(!fx.logged("event=remove-tmp"));
    assert!(!fx.logged("event=chown"));
}

#[test]
fn only_root_owned_files_with_clamav_names_are_chowned() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: only_root_owned_files_with_clamav_names_are_chowned: chown needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let owner = other_user();
    let fx = Fixture::with_config(&format!(
        "start_verify_secs = 0\ndatabase_owner = \"{}\"\n",
        owner.name
    ));
    set_freshclam_conf(
        &fx,
        "DatabaseOwner",
        &format!("DatabaseOwner {}", owner.name),
    );
    let db = fx.p("var/lib/clamav");
    fx.give_to(owner.uid.as_raw(), owner.gid.as_raw());
    fs::set_permissions(fx.p("fake"), fs::Permissions::from_mode(0o777)).unwrap();
    for n in [
        "main.cld",
        "bytecode.cud",
        "daily-27000.cvd.sign",
        "freshclam.dat",
        "notes.txt",
    ] {
        fs::write(db.join(n), "x").unwrap();
    }
    fx.cmd().args(["repair", "--wait"]).assert().success();
    for n in [
        "daily.cvd",
        "main.cld",
        "bytecode.cud",
        "daily-27000.cvd.sign",
        "freshclam.dat",
    ] {
        let md = fs::metadata(db.join(n)).unwrap();
        assert_eq!(
            (md.uid(), md.gid()),
            (owner.uid.as_raw(), owner.gid.as_raw()),
            "{n}"
        );
        assert!(fx.logged(&format!("event=chown name={n} result=ok")), "{n}");
    }
    assert_eq!(
        fs::metadata(db.join("notes.txt")).unwrap().uid(),
        0,
        "not ClamAV's"
    );
    assert!(!fx.logged("name=notes.txt"));
    assert_eq!(fs::metadata(&db).unwrap().uid(), owner.uid.as_raw());
}

#[test]
fn pid_file_symlink_removed_before_the_sysv_start_and_the_init_script_never_run() {
    let fx = Fixture::new();
    let target = fx.p("precious");
    fs::write(&target, "keep").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    fs::create_dir_all(fx.p("run/clamav")).unwrap();
    let pid = fx.p("run/clamav/freshclam.pid");
    std::os::unix::fs::symlink(&target, &pid).unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "keep",
        "target untouched"
    );
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert!(
        fs::symlink_metadata(&pid).unwrap().is_file(),
        "the fake daemon wrote a real pid file"
    );
    assert!(
        fx.logged(&format!(
            "event=pid-file result=ok path={} detail=\"removed symlink of uid",
            pid.display()
        )),
        "{:#?}",
        fx.syslog()
    );
    let ssd = fx.read("fake/ssd.calls");
    assert!(!ssd.contains("symlink=yes"), "{ssd}");
    assert!(
        ssd.contains(&format!("start pid={} user=", pid.display())),
        "{ssd}"
    );
    // Every service call went to start-stop-daemon, none to the init script.
    assert_eq!(ssd.lines().count(), fx.service_calls().len());
    // The daemon is found by its executable and user, never by the pid file clamav can
    // replant as a symlink between our clean-up and the call (a stop that found nothing
    // left two daemons running).
    for l in ssd.lines() {
        assert!(l.contains(" pidfile= "), "no --pidfile: {l}");
        assert!(!l.contains(" match= "), "matched by --user: {l}");
    }
    // The pid file of the daemon we started is the owner's regular file: kept next time.
    fx.mode("ok 102");
    fx.cmd().args(["repair", "--wait"]).assert().success();
    let removed = fx
        .syslog()
        .iter()
        .filter(|l| l.contains("event=pid-file"))
        .count();
    assert_eq!(removed, 1);
}

#[test]
fn missing_pid_directory_is_created_for_the_owner() {
    let fx = Fixture::new();
    assert!(!fx.p("run/clamav").exists());
    fx.cmd().args(["repair", "--wait"]).assert().success();
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(fx.p("run/clamav")).unwrap();
    assert_eq!(
        (md.uid(), md.mode() & 0o7777),
        (nix::unistd::geteuid().as_raw(), 0o755)
    );
    assert!(fx.logged("event=pid-dir result=ok"));
}

#[test]
fn a_daemon_that_dies_right_after_start_is_reported_dead() {
    let fx = Fixture::with_config("start_verify_secs = 1\nfreshclam_timeout_secs = 3\n");
    fs::write(
        fx.p("fake/daemon.dies"),
        "ERROR: /var/log/clamav/freshclam.log is locked by another process\n",
    )
    .unwrap();
    let t = Instant::now();
    let out = fx.cmd().args(["repair", "--wait"]).output().unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "verified after the wait"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let want =
        "died after start: ERROR: /var/log/clamav/freshclam.log is locked by another process";
    assert!(
        stdout.contains(&format!("WARNING: freshclam daemon did not start: {want}")),
        "{stdout}"
    );
    assert!(
        fx.logged(&format!("event=daemon-start result=\"error: {want}\"")),
        "{:#?}",
        fx.syslog()
    );
    assert!(!fx.logged("event=daemon-start result=ok"));
    assert!(!fx.daemon_active());
}

#[test]
fn freshclam_runs_as_the_database_owner() {
    // As root (CI) the owner is another account; as anyone else it is the caller, and no
    // switch is needed.
    let root = nix::unistd::geteuid().is_root();
    let (name, uid, gid) = if root {
        let u = other_user();
        (u.name, u.uid.as_raw(), u.gid.as_raw())
    } else {
        (
            support::fixture::me(),
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    };
    let fx = Fixture::with_config(&format!(
        "start_verify_secs = 0\ndatabase_owner = \"{name}\"\n"
    ));
    set_freshclam_conf(&fx, "DatabaseOwner", &format!("DatabaseOwner {name}"));
    if root {
        fx.give_to(uid, gid);
    }
    let ids = fx.p("ids");
    fs::create_dir(&ids).unwrap();
    fs::set_permissions(&ids, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(
        fx.p("usr/bin/freshclam"),
        format!(
            "#!/bin/sh\necho \"$1 $(id -u) $(id -g) $(id -G)\" >> {}/ids\n\
             [ \"$1\" = --version ] && echo 'ClamAV 1.4.6/27472/x'\nexit 0\n",
            ids.display()
        ),
    )
    .unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    let seen = fs::read_to_string(ids.join("ids")).unwrap();
    let want = format!("{uid} {gid} ");
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 2, "{seen}");
    for l in &lines {
        let rest = l.split_once(' ').unwrap().1;
        assert!(rest.starts_with(&want), "{seen}");
        if root {
            assert_eq!(
                rest,
                format!("{uid} {gid} {gid}"),
                "no supplementary groups"
            );
        }
    }
    assert!(lines[0].starts_with("--version "));
    assert!(lines[1].starts_with("--config-file="));
    assert!(
        fx.read("fake/ssd.calls")
            .contains(&format!(" user={name} ")),
        "the daemon is started as the owner too"
    );
}

#[test]
fn repair_time_limit_bounds_the_whole_repair() {
    let fx = Fixture::with_config(
        "start_verify_secs = 0\nrepair_timeout_secs = 2\nfreshclam_timeout_secs = 60\nkill_grace_secs = 1\n",
    );
    fx.mode("hang");
    let t = Instant::now();
    fx.cmd().args(["repair", "--wait"]).assert().code(1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(fx.logged("event=repair-end outcome=\"failed: freshclam timed out"));
    assert!(fx.daemon_active(), "the daemon is started all the same");
}

#[test]
fn worker_log_stays_bounded_while_syslog_is_down() {
    // syslog gone: the worker mirrors its audit lines to worker.log, which must not grow
    // past its cap during the repair (it is only emptied at the next spawn).
    let fx = Fixture::new();
    fs::remove_file(fx.p("dev/log")).unwrap();
    let log = fx.p("run/clamav-freshen/worker.log");
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    let cap = 1u64 << 20;
    // Room for a few of the worker's ~1.5 KiB of lines.
    fs::write(&log, vec![b'x'; (cap - 600) as usize]).unwrap();
    fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).unwrap();
    fx.cmd()
        .args(["handle", "CRITICAL", "HARD", "1"])
        .assert()
        .success();
    fx.wait_for("the repair to finish", || {
        fx.read("var/lib/clamav-freshen/last-repair")
            .contains("outcome=")
            && fx.lock_free()
    });
    let text = fs::read(&log).unwrap();
    assert!(text.len() as u64 <= cap, "worker.log {} bytes", text.len());
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("audit: event="), "some lines fit");
    assert_eq!(text.matches("further audit lines dropped").count(), 1);
    assert!(fx.daemon_active());
}

#[test]
fn a_daemon_that_cannot_write_its_pid_file_is_started_without_one() {
    // SysV mode; freshclam (as the owner) exits 2 when it cannot write its pid file, which
    // the clamav user can make so by replanting a symlink there faster than we remove it.
    let fx = Fixture::new();
    fs::write(fx.p("fake/pid.fails"), "").unwrap();
    fx.cmd().args(["repair", "--wait"]).assert().success();
    assert!(fx.daemon_active(), "the daemon runs all the same");
    let ssd = fx.read("fake/ssd.calls");
    let starts: Vec<&str> = ssd.lines().filter(|l| l.starts_with("start ")).collect();
    assert_eq!(starts.len(), 2, "{ssd}");
    assert!(starts[0].starts_with("start pid=/"), "{ssd}");
    assert!(starts[1].starts_with("start pid= "), "{ssd}");
}

#[test]
fn clamd_behind_current_files_is_reloaded_through_its_socket_and_freshclam_left_alone() {
    use support::clamd::{FakeClamd, Reply};
    let fx = Fixture::with_published(100);
    fs::write(
        fx.p("etc/clamav/clamd.conf"),
        format!(
            "LocalSocket /var/run/clamav/clamd.ctl\nUser {}\nSelfCheck 600\n",
            support::fixture::me()
        ),
    )
    .unwrap();
    let clamd = FakeClamd::unix_at(
        &fx.p("run/clamav/clamd.ctl"),
        Reply::Reloads {
            before: 99,
            after: 100,
        },
    );
    let out = fx.cmd().args(["repair", "--wait"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("clamav-freshen: reloaded (daily 100 -> 100"),
        "{stdout}"
    );
    assert!(
        stdout.contains("clamav-freshen: clamd reloaded daily 99 -> 100"),
        "{stdout}"
    );
    assert_eq!(fx.runs(), 0, "freshclam was not run");
    let seen = clamd.seen();
    assert!(seen.iter().any(|c| c == b"zRELOAD\0"), "{seen:?}");
    assert!(fx.logged("event=repair-start mode=clamd-only"));
    assert!(fx.logged("event=clamd result=reloaded socket="));
    let status = fx.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&status.get_output().stdout).to_string();
    assert!(text.contains("loaded daily 100 (ClamAV 1.4.6)"), "{text}");
    assert!(text.contains("by admin: reloaded"), "{text}");

    // clamd.conf naming another socket than root's clamd_socket: not talked to.
    fs::write(
        fx.p("etc/clamav/clamd.conf"),
        format!(
            "LocalSocket /tmp/evil.ctl\nUser {}\n",
            support::fixture::me()
        ),
    )
    .unwrap();
    let status = fx.cmd().arg("status").assert().code(1);
    let text = String::from_utf8_lossy(&status.get_output().stdout).to_string();
    assert!(
        text.contains("clamd:        REFUSED: ") && text.contains("not clamd_socket"),
        "{text}"
    );
}
