//! A hermetic test root for `clamav-freshen` (test mode, CLAMAV_FRESHEN_TEST_ROOT).
//!
//! Layout (every production path P lives at <root>/P):
//!   etc/clamav-freshen/clamav-freshen.toml   short timeouts
//!   etc/clamav/freshclam.conf                DatabaseDirectory/UpdateLogFile inside the root
//!   var/lib/clamav/daily.cvd                 crafted 512-byte header, version 100
//!   usr/bin/freshclam                        fake; behaviour from fake/freshclam.mode
//!   etc/init.d/clamav-freshclam              fake SysV script (default mode; its presence
//!                                            selects SysV, the handler never runs it)
//!   usr/sbin/start-stop-daemon               fake; what the handler runs in SysV mode
//!   usr/bin/systemctl, usr/bin/systemd-run   fakes (systemd mode: run/systemd/system + unit)
//!   dev/log                                  unix datagram socket collecting syslog lines
//!   fake/                                    call logs and state of the fakes

use super::dns::DnsServer;
use super::{cvd_date, now, txt};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_clamav-freshen");

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    /// The DNS responder of `with_published`, alive as long as the fixture.
    dns: Option<DnsServer>,
}

/// A 512-byte daily.cvd header of `version`, built an hour before the test's now.
pub fn header(version: u32) -> Vec<u8> {
    let t = now() - 3600;
    let mut h = format!("ClamAV-VDB:{}:{version}:100:90:x:y:z:{t}", cvd_date(t)).into_bytes();
    h.resize(512, b' ');
    h
}

fn write_exec(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn me() -> String {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .unwrap()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

impl Fixture {
    pub fn new() -> Fixture {
        Self::with_config(
            "freshclam_timeout_secs = 3\nkill_grace_secs = 1\nstop_timeout_secs = 2\ncheck_timeout_secs = 1\nstart_verify_secs = 0\n",
        )
    }

    pub fn with_config(config: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        // A private 0700 tempdir would be fine, but 0755 mirrors production permissions.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().to_path_buf();
        let r = |p: &str| root.join(p);
        for d in [
            "etc/clamav-freshen",
            "etc/clamav",
            "var/lib/clamav",
            "var/log/clamav",
            "fake",
            "dev",
            "usr/bin",
            "usr/sbin",
            "etc/init.d",
            "run",
        ] {
            fs::create_dir_all(r(d)).unwrap();
        }
        fs::write(r("etc/clamav-freshen/clamav-freshen.toml"), config).unwrap();
        fs::set_permissions(
            r("etc/clamav-freshen/clamav-freshen.toml"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::write(
            r("etc/clamav/freshclam.conf"),
            format!(
                "DatabaseDirectory {}\nDatabaseOwner {}\nUpdateLogFile {}\nPidFile {}\n",
                r("var/lib/clamav").display(),
                me(),
                r("var/log/clamav/freshclam.log").display(),
                r("run/clamav/freshclam.pid").display()
            ),
        )
        .unwrap();
        fs::write(r("var/log/clamav/freshclam.log"), "").unwrap();
        fs::write(
            r("var/lib/clamav/daily.cvd"),
            super::cvd_sigs(100, now() - 3600, 100),
        )
        .unwrap();
        fs::write(r("fake/freshclam.mode"), "ok 101\n").unwrap();
        let f = r("fake");
        let db = r("var/lib/clamav");
        write_exec(
            &r("usr/bin/freshclam"),
            &format!(
                r#"#!/bin/sh
F={f}
if [ "$1" = "--version" ]; then echo "ClamAV 1.4.6/27472/$(date '+%a %b %e %H:%M:%S %Y')"; exit 0; fi
echo "run $$ $*" >> $F/freshclam.runs
echo "env $(env | sort | tr '\n' ' ')" >> $F/freshclam.env
ls -l /proc/$$/fd >> $F/freshclam.fds 2>&1
echo "$(ulimit -f) $(ulimit -n) $(ulimit -t) $(grep SigIgn /proc/$$/status | cut -f2)" >> $F/freshclam.limits
echo "$(ulimit -S -p) $(ulimit -H -p)" >> $F/freshclam.nproc
read mode arg < $F/freshclam.mode
case "$mode" in
  ok) echo "daily.cvd updated (version: $arg)"
      # A whole database: a body the header's signature count fits, its real MD5.
      body='clamav-freshen fake database body: fake signatures for the tests'
      md5=$(printf '%s' "$body" | md5sum | cut -c1-32)
      {{ printf 'ClamAV-VDB:%s:%s:100:90:%s:y:z:%s' "$(date -u '+%d %b %Y %H-%M +0000')" "$arg" "$md5" "$(date +%s)"; printf '%512s' ''; }} | head -c 512 > {db}/daily.cvd
      printf '%s' "$body" >> {db}/daily.cvd
      exit 0 ;;
  current) echo "daily.cvd database is up-to-date"; exit 0 ;;
  cooldown) echo "You are still on cool-down until after: $(date -d '+4 hours' '+%a %b %e %H:%M:%S %Y')"; exit 0 ;;
  fail) echo "ERROR: failing with $arg" >&2; exit "$arg" ;;
  hang) echo "hanging"; sleep 1000; exit 0 ;;
  slow) sleep "$arg"; echo "slow done"; exit 0 ;;
esac
exit 19
"#,
                f = f.display(),
                db = db.display()
            ),
        );
        // SysV fake: records calls, answers status from fake/daemon.state.
        write_exec(
            &r("etc/init.d/clamav-freshclam"),
            &format!(
                r#"#!/bin/sh
F={f}
echo "$1" >> $F/service.calls
case "$1" in
  start) echo active > $F/daemon.state ;;
  stop) [ -e $F/stop.hang ] && sleep 1000; echo inactive > $F/daemon.state ;;
  status) grep -q '^active' $F/daemon.state 2>/dev/null ;;
esac
"#,
                f = f.display()
            ),
        );
        // start-stop-daemon fake: records every call (ssd.calls: the operation, pid file,
        // --chuid user, signal, whether the pid file was a symlink), the operation also in
        // service.calls like the init script; a start writes the pid file, and with
        // fake/daemon.dies the daemon "dies" at once, leaving that file's text in the log.
        write_exec(
            &r("usr/sbin/start-stop-daemon"),
            &format!(
                r#"#!/bin/sh
F={f}
op=; pid=; user=; sig=; match=; pidfile=
while [ "$#" -gt 0 ]; do case "$1" in
  --start) op=start ;; --stop) op=stop ;; --status) op=status ;;
  --pidfile) shift; pidfile=$1 ;; --chuid) shift; user=$1 ;; --signal) shift; sig=$1 ;;
  --user) shift; match=$1 ;;
  --) shift; for a in "$@"; do case "$a" in --pid=*) pid=${{a#--pid=}} ;; esac; done; break ;;
esac; shift; done
link=no; [ -L "$pid" ] && link=yes
echo "$op pid=$pid user=$user match=$match pidfile=$pidfile sig=$sig symlink=$link uid=$(id -u)" >> $F/ssd.calls
[ "$sig" = KILL ] && op=kill
echo "$op" >> $F/service.calls
case "$op" in
  start) if [ -n "$pid" ] && [ -e $F/pid.fails ]; then exit 2; fi
         [ -n "$pid" ] && echo $$ > "$pid"
         if [ -e $F/daemon.dies ]; then cat $F/daemon.dies >> {log}; echo dead > $F/daemon.state
         else echo active > $F/daemon.state; fi ;;
  stop) [ -e $F/stop.hang ] && sleep 1000; echo inactive > $F/daemon.state ;;
  kill) echo inactive > $F/daemon.state ;;
  status) grep -q '^active' $F/daemon.state 2>/dev/null || exit 3 ;;
esac
exit 0
"#,
                f = f.display(),
                log = r("var/log/clamav/freshclam.log").display()
            ),
        );
        fs::write(r("fake/daemon.state"), "active\n").unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sock = UnixDatagram::bind(r("dev/log")).unwrap();
        let l2 = lines.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = sock.recv(&mut buf) {
                l2.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        });
        Fixture {
            dir,
            root,
            lines,
            dns: None,
        }
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Switches to systemd mode: PID-1 marker dir, unit file, fake systemctl and systemd-run.
    pub fn systemd(&self) {
        fs::create_dir_all(self.p("run/systemd/system")).unwrap();
        fs::create_dir_all(self.p("lib/systemd/system")).unwrap();
        fs::write(
            self.p("lib/systemd/system/clamav-freshclam.service"),
            "[Service]\n",
        )
        .unwrap();
        let f = self.p("fake");
        write_exec(
            &self.p("usr/bin/systemctl"),
            &format!(
                r#"#!/bin/sh
F={f}
echo "$*" >> $F/service.calls
for a in "$@"; do case "$a" in
  start) echo active > $F/daemon.state ;;
  stop) [ -e $F/stop.hang ] && sleep 1000; echo inactive > $F/daemon.state ;;
  kill) echo inactive > $F/daemon.state ;;
  is-active) grep -q '^active' $F/daemon.state; exit $? ;;
esac; done
exit 0
"#,
                f = f.display()
            ),
        );
        write_exec(
            &self.p("usr/bin/systemd-run"),
            &format!(
                r#"#!/bin/sh
echo "$*" >> {f}/systemd-run.calls
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec "$@"
"#,
                f = f.display()
            ),
        );
    }

    /// Cron mode: the cron file exists, no daemon.
    pub fn cron(&self) {
        fs::create_dir_all(self.p("etc/cron.d")).unwrap();
        fs::write(self.p("etc/cron.d/clamav-freshclam"), "").unwrap();
    }

    pub fn mode(&self, m: &str) {
        fs::write(self.p("fake/freshclam.mode"), format!("{m}\n")).unwrap();
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(BIN);
        c.env_clear()
            .env("CLAMAV_FRESHEN_TEST_ROOT", &self.root)
            .env("PATH", "/usr/bin:/bin");
        c.timeout(Duration::from_secs(30));
        c
    }

    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(BIN);
        c.env_clear()
            .env("CLAMAV_FRESHEN_TEST_ROOT", &self.root)
            .env("PATH", "/usr/bin:/bin");
        c
    }

    /// Every line received so far. A sentinel datagram is sent and awaited first: the
    /// socket queue is FIFO, so every line sent by a finished process is then collected.
    pub fn syslog(&self) -> Vec<String> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tag = format!(
            "sentinel-{}",
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let s = UnixDatagram::unbound().unwrap();
        s.send_to(tag.as_bytes(), self.p("dev/log")).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let l = self.lines.lock().unwrap();
                if l.contains(&tag) {
                    return l
                        .iter()
                        .filter(|x| !x.starts_with("sentinel-"))
                        .cloned()
                        .collect();
                }
            }
            assert!(Instant::now() < until, "syslog collector stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.syslog().iter().any(|l| l.contains(needle))
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.p(rel)).unwrap_or_default()
    }

    pub fn runs(&self) -> usize {
        self.read("fake/freshclam.runs").lines().count()
    }

    pub fn service_calls(&self) -> Vec<String> {
        self.read("fake/service.calls")
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn daemon_active(&self) -> bool {
        self.read("fake/daemon.state").starts_with("active")
    }

    /// Waits until a repair-end line is logged `n` times and the lock is free.
    pub fn wait_repairs(&self, n: usize) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let ends = self
                .syslog()
                .iter()
                .filter(|l| l.contains("event=repair-end"))
                .count();
            if ends >= n
                && self.lock_free()
                && (self.logged("event=nagios-recheck") || self.logged("event=icinga-recheck"))
            {
                return;
            }
            assert!(
                Instant::now() < until,
                "repair did not finish; syslog:\n{}",
                self.syslog().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_for(&self, what: &str, cond: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; syslog:\n{}",
                self.syslog().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn lock_free(&self) -> bool {
        let Ok(f) = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.p("run/clamav-freshen/repair.lock"))
        else {
            return true;
        };
        f.try_lock().is_ok()
    }

    /// Gives the database directory and freshclam's log to the database owner `uid:gid`
    /// (as root: the tests whose owner is another account).
    pub fn give_to(&self, uid: u32, gid: u32) {
        let (u, g) = (
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        );
        nix::unistd::chown(&self.p("var/lib/clamav"), u, g).unwrap();
        nix::unistd::chown(&self.p("var/log/clamav/freshclam.log"), u, g).unwrap();
    }

    /// Daily version in the DB dir.
    pub fn daily(&self) -> u32 {
        clamav_freshen::test_support::local_daily_version(&self.p("var/lib/clamav"))
            .expect("a daily in the database directory")
    }
}

impl Fixture {
    /// A fixture whose built-in check asks a local responder publishing `daily`.
    pub fn with_published(daily: u32) -> Fixture {
        let dns = DnsServer::start(txt(daily));
        let mut fx = Fixture::with_config(&format!(
            "freshclam_timeout_secs = 3\nkill_grace_secs = 1\nstop_timeout_secs = 2\ncheck_timeout_secs = 2\nstart_verify_secs = 0\ncheck_dns_server = \"{}\"\n",
            dns.arg()
        ));
        fx.dns = Some(dns);
        fx
    }
}
