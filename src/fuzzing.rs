//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer): one function per
//! parser of outside input. Each feeds the parser its bytes the way they arrive in real use
//! (decoded as the caller decodes them) and asserts the invariants that are cheap to state:
//! a panic here, in the parser or in an assertion, is a finding.
//!
//! Built only with the `fuzzing` feature, which nothing but the fuzz crate enables: the
//! packaged binaries carry no part of this. `cargo test --features fuzzing` replays the
//! committed corpora (`fuzz/corpus/<target>/`) through the same functions.

use crate::clamav::clamd::{self, Endpoint};
use crate::clamav::cvd::{self, HEADER_LEN};
use crate::clamav::freshclam_conf::FreshclamConf;
use crate::clamav::freshclam_dat::{self, Cooldown, FreshclamDat, MAX_COOLDOWN_SECS};
use crate::dns::{self, Reject, Reply};
use crate::handler::audit;
use crate::handler::cause::{self, Evidence};
use crate::handler::config::Config;
use crate::handler::decide::Trigger;
use crate::nagios::range::Range;
use crate::system::process::End;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// One fuzz target: takes any bytes, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("cvd_header", cvd_header),
    ("dns_reply", dns_reply),
    ("txt_record", txt_record),
    ("freshclam_conf", freshclam_conf),
    ("freshclam_dat", freshclam_dat),
    ("clamd_version", clamd_version),
    ("clamd_conf", clamd_conf),
    ("handler_args", handler_args),
    ("check_args", check_args),
    ("handler_config", handler_config),
    ("freshclam_output", freshclam_output),
    ("http_reply", http_reply),
];

fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn no_controls(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// The 512-byte header of daily.cvd / daily.cld (the database directory is clamav's):
/// `cvd::parse_header`, and the text build time it falls back on.
pub fn cvd_header(data: &[u8]) {
    let head = &data[..data.len().min(HEADER_LEN)];
    let parsed = cvd::parse_header(data);
    // Only the header counts, whatever follows it.
    assert_eq!(
        parsed,
        cvd::parse_header(head),
        "bytes past the header changed the result"
    );
    if let Ok(h) = &parsed {
        assert!(data.starts_with(b"ClamAV-VDB:"));
        for f in [&h.build_time, &h.md5, &h.builder] {
            assert!(f.is_ascii() && !f.contains(':'), "field {f:?}");
        }
        if let Some(t) = h.stime {
            assert!(t >= 0);
        }
        let _ = h.build_epoch();
    }
    // The text time alone, on any text (it is a field of the same hostile header).
    let text = String::from_utf8_lossy(head);
    for t in [&*text, text.split(':').nth(1).unwrap_or("")] {
        if let Some(epoch) = cvd::parse_build_time(t) {
            // Years 1..=9999, offsets below 100 hours: well inside i64.
            let lo = cvd::days_from_civil(1, 1, 1) * 86400 - 5 * 86400;
            let hi = cvd::days_from_civil(10000, 1, 1) * 86400 + 5 * 86400;
            assert!((lo..=hi).contains(&epoch), "{t:?} -> {epoch}");
        }
    }
}

/// A DNS datagram or TCP message answering the TXT query (`dns::parse_reply`), and the TXT
/// record it carries (`dns::parse_txt`), as the check chains them.
pub fn dns_reply(data: &[u8]) {
    let name = crate::defaults::DNS_DATABASE_INFO;
    // The id we would have sent: the packet's own, so that inputs get past the id check.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    match dns::parse_reply(data, id, name) {
        Ok(Reply::Txt(text)) => {
            // The character-strings are in the packet: never more bytes than it has.
            assert!(text.len() < data.len());
            txt_record(&text);
        }
        Ok(Reply::Rcode(r)) => assert!(printable_ascii(&r) && !r.is_empty(), "{r:?}"),
        Ok(Reply::NxDomain | Reply::NoTxt | Reply::Truncated) => {}
        Err(Reject::Malformed) => {}
        Err(r) => assert!(data.len() >= 12, "{r:?} for {} bytes", data.len()),
    }
    // A spoofed id is never taken, whatever the rest says.
    if data.len() >= 12 {
        assert_eq!(
            dns::parse_reply(data, id.wrapping_add(1), name),
            Err(Reject::WrongId)
        );
    }
}

/// The TXT record `current.cvd.clamav.net` (`dns::parse_txt`): what the check compares and
/// prints.
pub fn txt_record(data: &[u8]) {
    if let Ok(info) = dns::parse_txt(data) {
        assert!(data.iter().all(|b| (0x20..0x7f).contains(b)));
        assert!(printable_ascii(&info.clamav_version));
        let text = std::str::from_utf8(data).expect("ASCII");
        let field = |i: usize| text.trim().split(':').nth(i).map(str::trim);
        assert_eq!(field(1).and_then(|f| f.parse().ok()), Some(info.main));
        assert_eq!(field(2).and_then(|f| f.parse().ok()), Some(info.daily));
    }
}

/// freshclam.conf (clamav's file), decoded as `FreshclamConf::load` decodes it.
pub fn freshclam_conf(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match FreshclamConf::parse(&text) {
        Ok(c) => {
            assert!(c.database_directory.is_absolute());
            for p in [&c.update_log_file, &c.pid_file].into_iter().flatten() {
                assert!(p.is_absolute());
            }
            assert!(!c.database_owner.is_empty() && !c.dns_database_info.is_empty());
            for v in [&c.database_owner, &c.dns_database_info]
                .into_iter()
                .chain(&c.database_mirrors)
                .chain(&c.private_mirrors)
            {
                assert!(!v.is_empty() && !v.contains('\n'), "{v:?}");
            }
        }
        Err((line, reason)) => {
            assert!((1..=text.lines().count()).contains(&line), "line {line}");
            assert!(!reason.is_empty());
        }
    }
}

/// freshclam.dat (freshclam's state, in clamav's directory): `FreshclamDat::parse` and the
/// cool-down it implies at a few times.
pub fn freshclam_dat(data: &[u8]) {
    let Ok(d) = FreshclamDat::parse(data) else {
        return;
    };
    let ra = d.retry_after;
    for now in [0, 1_700_000_000, i64::MIN, i64::MAX, ra, ra.wrapping_sub(1)] {
        let ahead = i128::from(ra) - i128::from(now);
        match d.cooldown(now) {
            Cooldown::None => assert!(ahead <= 0),
            Cooldown::Until(t) => {
                assert!(t == ra && ahead > 0 && ahead <= i128::from(MAX_COOLDOWN_SECS));
            }
            Cooldown::Bogus(t) => assert!(t == ra && ahead > i128::from(MAX_COOLDOWN_SECS)),
        }
    }
    // What was read writes back to an image that reads the same.
    if d.uuid.len() < 37 && !d.uuid.contains('\0') {
        let back = FreshclamDat::parse(&freshclam_dat::encode(&d.uuid, ra))
            .expect("an encoded freshclam.dat reads back");
        assert_eq!(back, d);
    }
}

/// clamd's reply to `VERSION` (at most `MAX_REPLY` bytes are read): `clamd::parse_version`.
pub fn clamd_version(data: &[u8]) {
    let Some(l) = clamd::parse_version(data) else {
        return;
    };
    assert!(!l.engine.is_empty());
    assert!(
        l.engine
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~+".contains(&b)),
        "{:?}",
        l.engine
    );
    if let Some(b) = &l.built {
        assert!(!b.is_empty() && no_controls(b), "{b:?}");
    }
}

/// clamd.conf (the clamav user may be able to write it), decoded as `clamd::load_conf`
/// decodes it: `clamd::parse_conf`.
pub fn clamd_conf(data: &[u8]) {
    let c = clamd::parse_conf(&String::from_utf8_lossy(data));
    match &c.endpoint {
        Some(Endpoint::Unix(p)) => assert!(p.is_absolute()),
        Some(Endpoint::Tcp(_)) | None => {}
    }
    if let Some(e) = &c.endpoint {
        let _ = e.to_string();
    }
    assert!(!c.user.is_empty());
}

/// NUL-separated arguments after `argv0`, as the kernel hands them over (any bytes).
fn argv(argv0: &str, data: &[u8]) -> Vec<OsString> {
    std::iter::once(OsString::from(argv0))
        .chain(
            data.split(|b| *b == 0)
                .take(64)
                .map(|a| OsString::from_vec(a.to_vec())),
        )
        .collect()
}

/// `C::try_parse_from(args)`, with the clap command built once: building it runs clap's
/// debug assertions over the whole definition (checked by the CLI unit tests), which would
/// otherwise cost more than the parse.
fn parse_args<C: clap::CommandFactory + clap::FromArgMatches>(
    built: &'static std::sync::OnceLock<clap::Command>,
    args: &[OsString],
) -> Result<C, clap::Error> {
    let cmd = built.get_or_init(|| {
        let mut c = C::command();
        c.build();
        c
    });
    let mut m = cmd.clone().try_get_matches_from(args)?;
    C::from_arg_matches_mut(&mut m)
}

/// A clap error as the handler and the check report it: one printable line.
fn clap_refusal(e: &clap::Error) {
    let r = crate::text::clap_reason(&e.render().to_string(), "invalid arguments");
    assert!(r.chars().count() <= 300 && no_controls(&r), "{r:?}");
}

/// The handler's command line (`clamav-freshen ARGS`, from sudo): its audit line, the clap
/// grammar and `handle::parse` of the three words.
pub fn handler_args(data: &[u8]) {
    let args = argv("clamav-freshen", data);
    // The invocation is audited before anything is parsed: bounded and printable.
    for a in &args[1..] {
        let e = audit::escape_bytes(a.as_bytes());
        assert!(printable_ascii(&e), "{e:?}");
        assert!(e.len() <= 4 * audit::MAX_VALUE + 32);
    }
    let words: Vec<String> = args[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let [s, t, n, ..] = &words[..] {
        strict_handle(s, t, n);
    }
    use crate::handler::cli::{Cli, Command};
    static BUILT: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    match parse_args::<Cli>(&BUILT, &args) {
        Ok(Cli {
            command:
                Command::Handle {
                    state,
                    state_type,
                    attempt,
                },
        }) => strict_handle(&state, &state_type, &attempt),
        Ok(_) => {}
        Err(e) => clap_refusal(&e),
    }
}

/// `handle::parse` takes exactly the words Nagios passes, nothing that merely resembles them.
fn strict_handle(state: &str, state_type: &str, attempt: &str) {
    match crate::handler::handle::parse(state, state_type, attempt) {
        Ok(Trigger::Handle {
            state: s,
            state_type: t,
            attempt: n,
        }) => {
            assert_eq!(s.as_str(), state);
            assert_eq!(t.as_str(), state_type);
            assert_eq!(n.to_string(), attempt);
            assert!((1..=crate::nagios::state::MAX_ATTEMPT).contains(&n));
        }
        Ok(other) => panic!("handle parsed to {other:?}"),
        Err(e) => assert!(no_controls(&e.to_string())),
    }
}

/// The check's command line (`check_clamav_freshness ARGS`, from the monitor or NRPE): the
/// clap grammar, the threshold ranges and the server.
pub fn check_args(data: &[u8]) {
    let args = argv("check_clamav_freshness", data);
    for a in &args[1..] {
        if let Some(s) = a.to_str() {
            range(s);
        }
    }
    static BUILT: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    match parse_args::<crate::check::cli::Cli>(&BUILT, &args) {
        Ok(cli) => {
            range(&cli.warning);
            range(&cli.critical);
            if let Some(s) = &cli.server {
                let _ = dns::parse_server(s);
            }
            if let Some(n) = &cli.dns_name
                && dns::valid_name(n)
            {
                assert!(dns::build_query(0, n).is_ok(), "{n:?}");
            }
        }
        Err(e) => clap_refusal(&e),
    }
}

/// A threshold range reads back from its canonical text (the perfdata's warn/crit fields).
fn range(s: &str) {
    if let Ok(r) = s.parse::<Range>() {
        let text = r.to_string();
        assert_eq!(text.parse::<Range>().as_ref(), Ok(&r), "{s:?} -> {text:?}");
        assert!(!r.start.is_some_and(f64::is_nan) && !r.end.is_some_and(f64::is_nan));
    }
}

/// The handler's TOML config: `Config::parse` (which `Config::load` calls on UTF-8 text).
/// An accepted config passes its own checks again and survives being written back out.
pub fn handler_config(data: &[u8]) {
    // `Config::load` refuses a file that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The same bytes as root's other TOML file, Icinga's API access (icinga2-api.toml).
    if let Ok(api) = crate::icinga::api_file::ApiFile::parse(text) {
        assert!(api.url.port != 0 && !api.user.contains(':') && no_controls(&api.password));
        assert!(api.ca_file.is_absolute() && (1..=60).contains(&api.timeout_secs));
    }
    let Ok(cfg) = Config::parse(text) else {
        return;
    };
    cfg.facility().expect("facility of a parsed config");
    cfg.dns_server()
        .expect("check_dns_server of a parsed config");
    cfg.clamd_endpoint()
        .expect("clamd_socket of a parsed config");
    assert!(!cfg.database_owner(None).is_empty());
    // Durations added to the clock cannot overflow.
    for secs in [
        cfg.rate_limit_secs,
        cfg.freshclam_timeout_secs,
        cfg.repair_timeout_secs,
        cfg.backoff_max_secs,
        cfg.max_age_hours.saturating_mul(3600),
    ] {
        assert!(secs <= crate::handler::config::MAX_SECS);
    }
    let table: toml::Table = toml::from_str(text).expect("a parsed config is a TOML table");
    let again = Config::parse(&table.to_string()).expect("the config written back parses");
    assert_eq!(again, cfg);
}

/// freshclam's output and exit, as the repair classifies them (`cause::classify`), and its
/// `--version` line. The first byte is how freshclam ended, the rest its output: lines split
/// on `\n` and decoded as `process::run_lines` does.
pub fn freshclam_output(data: &[u8]) {
    let Some((&how, out)) = data.split_first() else {
        return;
    };
    let end = match how {
        0xfd => End::TimedOut,
        0xfe => End::Signaled(9),
        0xff => End::Interrupted(15),
        c => End::Exited(i32::from(c)),
    };
    let mut ev = Evidence::default();
    let mut first = None;
    for line in out.split(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(line);
        ev.see(&line);
        first.get_or_insert(line);
    }
    if let Some(l) = &first {
        let _ = crate::handler::freshclam::parse_version(l);
    }
    let c = cause::classify(&end, &ev);
    match (&end, &c) {
        (End::TimedOut, c) => assert_eq!(c, &Some(cause::Cause::Hung)),
        (End::Exited(0), _) | (_, Some(_)) => {}
        (end, None) => panic!("{end:?} classified as success"),
    }
    if let Some(c) = c {
        assert!(!c.to_string().is_empty() && !c.key().is_empty() && !c.advice().is_empty());
    }
}

/// A mirror's HTTP reply (the mirror, or anyone on the path to a plain-HTTP one, writes
/// it): where the head ends, the head itself, a chunked body's decoding, a redirect's
/// Location through the URL grammar, which must round-trip, and the body read as Icinga's
/// answer to a re-check.
pub fn http_reply(data: &[u8]) {
    use crate::mirror::url::{MirrorUrl, Scheme};
    use crate::mirror::{http, reply};
    let Some((end, len)) = reply::head_end(data) else {
        return;
    };
    assert!(len < end && end <= data.len());
    let Ok(h) = reply::parse_head(&data[..len]) else {
        return;
    };
    assert!((100..=599).contains(&h.status));
    // The body as Icinga 2's answer to the re-check (the API, or a server posing as it).
    if let Some(text) = crate::icinga::reschedule::outcome_for_fuzzing(h.status, &data[end..]) {
        assert!(
            text.chars().count() <= 200 && no_controls(&text),
            "{text:?}"
        );
    }
    assert!(
        h.reason.len() <= 80 && printable_ascii(&h.reason),
        "{:?}",
        h.reason
    );
    if h.chunked {
        assert!(h.content_length.is_none());
        if let Ok(body) = http::dechunk_for_fuzzing(&data[end..], 512) {
            assert!(body.len() <= data.len() - end);
        }
    }
    if let Some(l) = &h.location
        && let Ok(u) = MirrorUrl::parse(l, Scheme::Https)
    {
        assert_eq!(
            MirrorUrl::parse(&u.to_string(), Scheme::Http),
            Ok(u.clone()),
            "{l:?}"
        );
        assert!(u.path.starts_with('/') && printable_ascii(&u.host));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed corpus input, crash reproducers included, through its target.
    #[test]
    fn corpora_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut n = 0;
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
            for f in entries {
                let f = f.unwrap().path();
                target(&std::fs::read(&f).unwrap());
                n += 1;
            }
        }
        assert!(n >= TARGETS.len());
    }

    #[test]
    fn every_fuzz_target_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut listed: Vec<String> = TARGETS.iter().map(|(n, _)| format!("{n}.rs")).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn prebuilt_commands_parse_like_try_parse_from() {
        use crate::handler::cli::Cli;
        use clap::Parser;
        static BUILT: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
        for args in [
            &["x", "handle", "CRITICAL", "SOFT", "2"][..],
            &["x", "repair", "--wait"],
            &["x", "heal", "now"],
            &["x", "--version"],
            &["x"],
        ] {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let shown = |r: Result<Cli, clap::Error>| {
                r.map(|c| format!("{c:?}"))
                    .map_err(|e| e.render().to_string())
            };
            assert_eq!(
                shown(parse_args::<Cli>(&BUILT, &args)),
                shown(Cli::try_parse_from(&args)),
                "{args:?}"
            );
        }
    }

    #[test]
    fn targets_take_anything() {
        for (_, target) in TARGETS {
            for input in [&b""[..], b"\0", b"\xff\xfe", &[b'A'; 600]] {
                target(input);
            }
        }
    }
}
