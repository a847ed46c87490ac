//! Benchmark: how fast `clamav-freshen handle` returns while a repair is stuck in a hanging
//! freshclam. Prints figures only (no assertions). Run via tests/bench/handle_latency.sh.
//!
//! Usage: handle_latency <path to clamav-freshen> [runs]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn exec(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A test root whose freshclam hangs (for `secs` seconds) and whose daemon is a no-op
/// SysV script; syslog goes to a socket drained by a thread.
fn root(secs: u32) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::create_dir_all(r.join("etc/clamav-freshen")).unwrap();
    fs::create_dir_all(r.join("var/lib/clamav")).unwrap();
    fs::create_dir_all(r.join("dev")).unwrap();
    fs::write(
        r.join("etc/clamav-freshen/clamav-freshen.toml"),
        "freshclam_timeout_secs = 60\n",
    )
    .unwrap();
    fs::create_dir_all(r.join("etc/clamav")).unwrap();
    fs::write(
        r.join("etc/clamav/freshclam.conf"),
        format!(
            "DatabaseDirectory {}\nDatabaseOwner root\n",
            r.join("var/lib/clamav").display()
        ),
    )
    .unwrap();
    exec(
        &r.join("usr/bin/freshclam"),
        &format!("#!/bin/sh\n[ \"$1\" = --version ] && exit 1\nexec sleep {secs}\n"),
    );
    exec(
        &r.join("etc/init.d/clamav-freshclam"),
        "#!/bin/sh\nexit 0\n",
    );
    let sock = UnixDatagram::bind(r.join("dev/log")).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while sock.recv(&mut buf).is_ok() {}
    });
    d
}

fn handle(bin: &Path, root: &Path) -> Duration {
    let t = Instant::now();
    let st = Command::new(bin)
        .env_clear()
        .env("CLAMAV_FRESHEN_TEST_ROOT", root)
        .args(["handle", "CRITICAL", "HARD", "1"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let e = t.elapsed();
    assert!(st.success());
    e
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name}: n={} median={:.2} ms p90={:.2} ms min={:.2} ms max={:.2} ms",
        v.len(),
        ms(q(0.5)),
        ms(q(0.9)),
        ms(v[0]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .expect("usage: handle_latency <clamav-freshen> [runs]");
    let bin = Path::new(&bin);
    let runs: usize = args.next().map_or(200, |s| s.parse().unwrap());

    // 1. A repair is running (freshclam hangs): every handle decides "skip" and returns.
    let r = root(8);
    handle(bin, r.path());
    std::thread::sleep(Duration::from_millis(300));
    report(
        "handle while repair runs (skip path)",
        (0..runs).map(|_| handle(bin, r.path())).collect(),
    );

    // 2. The spawn path: each handle starts a detached worker whose freshclam hangs; time
    // to return must not include the repair. Fresh roots so each one repairs.
    let spawn_runs = runs.min(50);
    let roots: Vec<_> = (0..spawn_runs).map(|_| root(3)).collect();
    report(
        "handle starting a repair (spawn path)",
        roots.iter().map(|r| handle(bin, r.path())).collect(),
    );
    // 3. What sites run instead: a seed-style shell event handler that repairs in the
    // foreground (stop; rm mirrors.dat; freshclam; start), under the same hang bounded to
    // 3 s. It returns when freshclam does: a real hang holds Nagios's event handler slot
    // until Nagios kills it (event_handler_timeout), and the daemon stays stopped.
    let seed_runs = 3;
    let seed: Vec<_> = (0..seed_runs)
        .map(|_| {
            let r = root(3);
            let script = r.path().join("seed-handler");
            exec(
                &script,
                "#!/bin/sh
r=$(dirname \"$0\")
\"$r/etc/init.d/clamav-freshclam\" stop
                 rm -f \"$r/var/lib/clamav/mirrors.dat\"
\"$r/usr/bin/freshclam\"
                 \"$r/etc/init.d/clamav-freshclam\" start
",
            );
            let t = Instant::now();
            let st = Command::new(&script)
                .args(["CRITICAL", "HARD", "1"])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
            (t.elapsed(), r)
        })
        .collect();
    let seed_times: Vec<Duration> = seed.iter().map(|(d, _)| *d).collect();
    report(
        "seed-style shell handler, freshclam hanging 3 s (foreground)",
        seed_times,
    );
    // Let every worker finish (freshclam "hangs" 8 s and 3 s) before the roots are removed.
    let lock = r.path().join("run/clamav-freshen/repair.lock");
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until && fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_err()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
}
