//! Shared support for the integration tests (one DNS responder, one fake clamd, one CVD
//! builder, the handler fixture). Each test crate uses a part of it.
#![allow(dead_code)]

pub mod clamd;
pub mod dns;
pub mod fixture;
pub mod http;

use std::path::{Path, PathBuf};

/// A 512-byte CVD header, space padded, as in a real daily.cvd, built at `stime` (both the
/// text date and the epoch field say so). Only the header: a file of just this is what the
/// check calls "only a header".
pub fn header(version: u32, stime: i64) -> Vec<u8> {
    header_with(version, stime, SIGS, "0123456789abcdef0123456789abcdef")
}

/// A header claiming `sigs` signatures and `md5` (field 6).
pub fn header_with(version: u32, stime: i64, sigs: u64, md5: &str) -> Vec<u8> {
    let mut h = format!(
        "ClamAV-VDB:{}:{version}:{sigs}:90:{md5}:sig:builder:{stime}",
        cvd_date(stime)
    )
    .into_bytes();
    h.resize(512, b' ');
    h
}

/// The signature count the builders' headers claim, a real daily's.
pub const SIGS: u64 = 2076543;

/// Writes a daily.cvd with `version` built at `stime` into `dir`: a whole file, as
/// [`cvd`] builds it, that the check accepts.
pub fn write_daily(dir: &Path, version: u32, stime: i64) {
    std::fs::write(dir.join("daily.cvd"), cvd(version, stime)).unwrap();
}

/// A daily.cvd of `version` built at `stime` claiming [`SIGS`] signatures: header, then a
/// body big enough for them (the check wants 1 byte per 16 signatures) whose MD5 the header
/// carries. The body is gzip's magic and pseudo-random bytes, not a real tar.gz: the check
/// does not unpack it.
pub fn cvd(version: u32, stime: i64) -> Vec<u8> {
    cvd_sigs(version, stime, SIGS)
}

/// [`cvd`] claiming `sigs` signatures.
pub fn cvd_sigs(version: u32, stime: i64, sigs: u64) -> Vec<u8> {
    cvd_with_body(
        version,
        stime,
        sigs,
        &body(sigs.div_ceil(16) as usize + 4096),
    )
}

/// A .cvd of this header around `body`, with the body's real MD5 in the header.
pub fn cvd_with_body(version: u32, stime: i64, sigs: u64, body: &[u8]) -> Vec<u8> {
    let mut f = header_with(version, stime, sigs, &md5_hex(body));
    f.extend_from_slice(body);
    f
}

/// A daily.cld as freshclam builds it from incremental updates: the header (whose MD5 field
/// is the published .cvd's, not this file's), then a plain tar in ClamAV's own layout
/// (COPYING first, then daily.info and the signature files), sized for [`SIGS`].
pub fn cld(version: u32, stime: i64) -> Vec<u8> {
    let mut f = header_with(version, stime, SIGS, "fedcba9876543210fedcba9876543210");
    f.extend(tar_member("COPYING", b"AS IS\n"));
    f.extend(tar_member("daily.info", b"ClamAV-VDB:...\n"));
    let hdb: Vec<u8> = body(SIGS as usize / 4)
        .iter()
        .map(|b| b"0123456789abcdef"[usize::from(b & 15)])
        .collect();
    f.extend(tar_member("daily.hdb", &hdb));
    f
}

/// One tar member as ClamAV's tar writer makes it: name, octal size and checksum, data
/// padded to 512 bytes with NULs.
pub fn tar_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let size = format!("{:o}", data.len());
    h[124..124 + size.len()].copy_from_slice(size.as_bytes());
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum::<u32>() + 256;
    h[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    h.extend_from_slice(data);
    h.resize(h.len().div_ceil(512) * 512, 0);
    h
}

/// `len` bytes starting with gzip's magic, the rest pseudo-random (xorshift).
pub fn body(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    v[..len.min(4)].copy_from_slice(&[0x1f, 0x8b, 8, 0][..len.min(4)]);
    v
}

/// Lowercase hex MD5, as in a CVD header and `md5sum`.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A CVD header's text date, `25 Nov 2026 08-00 +0000`, for `epoch`.
pub fn cvd_date(epoch: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil(epoch.div_euclid(86400));
    let s = epoch.rem_euclid(86400);
    format!(
        "{d} {} {y} {:02}-{:02} +0000",
        MONTHS[(m - 1) as usize],
        s / 3600,
        s % 3600 / 60
    )
}

/// `2026-11-25 19:00 UTC`, as the check prints times.
pub fn utc(epoch: i64) -> String {
    let (y, m, d) = civil(epoch.div_euclid(86400));
    let s = epoch.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s % 3600 / 60
    )
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The signed test databases: `$CLAMAV_TESTDB`, else `../shared/clamav-testdb` beside the repo.
/// None (with a SKIP line on stderr) when absent.
pub fn testdb(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CLAMAV_TESTDB")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/clamav-testdb"));
    if dir.join("test-3.cvd").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {test}: signed test databases not found: $CLAMAV_TESTDB not found ({})",
            dir.display()
        );
        None
    }
}

/// Runs the real check binary; returns (exit code, stdout). Stderr must stay empty: Nagios
/// only shows stdout.
pub fn check(args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_check_clamav_freshness"))
        .args(args)
        .env_remove("CLAMAV_TESTDB")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().expect("killed by a signal"), stdout)
}

/// Runs the check on `dir` against `server`, with no freshclam.conf, no usable verification
/// cache (`--cache-dir` a directory that does not exist) and no clamd.conf (`--clamd-conf` a
/// file that does not exist: clamd not configured) unless `extra` names them: a test's
/// result never depends on the machine's /var/cache or /etc/clamav/clamd.conf.
pub fn check_dir(dir: &Path, server: &dns::DnsServer, extra: &[&str]) -> (i32, String) {
    let conf = dir.join("no-such-freshclam.conf");
    let no_cache = dir.join("no-such-cache-dir");
    let no_clamd = dir.join("no-such-clamd.conf");
    let mut args = vec!["-f", conf.to_str().unwrap(), "-d", dir.to_str().unwrap()];
    if !extra.contains(&"--cache-dir") {
        args.extend(["--cache-dir", no_cache.to_str().unwrap()]);
    }
    let clamd_opts = ["-C", "--clamd", "--clamd-conf", "--no-clamd"];
    if !extra.iter().any(|a| clamd_opts.contains(a)) {
        args.extend(["--clamd-conf", no_clamd.to_str().unwrap()]);
    }
    args.push("-s");
    let s = server.arg();
    args.push(&s);
    args.extend_from_slice(extra);
    check(&args)
}

/// The first line: `CLAMAV <STATE> - <text> | <perfdata>`, checked for shape.
pub fn status(stdout: &str) -> &str {
    let line = stdout.lines().next().unwrap_or_default();
    assert!(line.starts_with("CLAMAV "), "not a status line: {stdout:?}");
    assert!(line.matches('|').count() <= 1, "stray '|' in {line:?}");
    line
}

/// A TXT record like ClamAV's with `daily` in field 2, published an hour ago.
pub fn txt(daily: u32) -> dns::Mode {
    dns::Mode::txt(&txt_text(daily, now() - 3600))
}

/// Sets `path`'s mtime `secs_ago` seconds before now (the check measures clamd's lag from
/// it).
pub fn set_mtime_ago(path: &Path, secs_ago: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs_ago);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// The name of the user running the tests (a fake clamd's peer).
pub fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map(|u| u.name)
        .expect("the tests' user has a name")
}

/// The text of such a record with its record time (field 3).
pub fn txt_text(daily: u32, time: i64) -> String {
    format!("1.4.6:62:{daily}:{time}:1:90:49192:336")
}
