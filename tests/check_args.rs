//! Command-line handling: help and version exit 0, every bad argument is UNKNOWN (exit 3)
//! with a short usage, before anything is read.

mod support;

use support::check;

#[test]
fn help_and_version() {
    let (code, out) = check(&["-h"]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "-f",
        "--max-age <HOURS>",
        "-w",
        "-c",
        "-s",
        "-t",
        "-H",
        "-d",
        "-v",
        "-V",
    ] {
        assert!(out.contains(want), "help lacks {want}: {out}");
    }
    let (code, out) = check(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("never says OK when it cannot know"),
        "long help: {out}"
    );
    let (code, out) = check(&["-V"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("check_clamav_freshness {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_arguments_are_unknown_with_usage() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-w", "20:10"],
            "warning threshold: invalid range \"20:10\": start is greater than end",
        ),
        (&["-c", "nan"], "critical threshold: invalid range \"nan\""),
        (&["-c", "@"], "critical threshold"),
        (
            &["-w", "abc"],
            "warning threshold: invalid range \"abc\": not a number",
        ),
        (&["-w", "1:2:3"], "warning threshold"),
        (&["-t", "0"], "-t"),
        (&["-t", "soon"], "-t"),
        (&["--max-age", "-5"], "-5"),
        (&["--max-age", "0"], "max-age"),
        (
            &["-s", "dns.example.org"],
            "invalid server \"dns.example.org\"",
        ),
        (&["-s", "127.0.0.1:99999"], "invalid server"),
        (&["-H", "bad name"], "invalid DNS name \"bad name\" for -H"),
        (&["-H", "a..b"], "invalid DNS name"),
        (&["--bogus"], "unexpected argument '--bogus'"),
        (&["extra"], "unexpected argument 'extra'"),
        (&["-d"], "-d"),
    ];
    for (args, reason) in cases {
        let (code, out) = check(args);
        assert_eq!(code, 3, "{args:?}: {out}");
        let mut lines = out.lines();
        let first = lines.next().unwrap();
        assert!(first.starts_with("CLAMAV UNKNOWN - "), "{args:?}: {out}");
        assert!(
            first.contains(reason),
            "{args:?}: want {reason:?} in {first}"
        );
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("Usage: check_clamav_freshness "),
            "{out}"
        );
        assert!(lines.next().is_none(), "short usage only: {out}");
    }
}

#[test]
fn negative_and_hyphenated_ranges_are_accepted() {
    // `-w -5:-1` must reach the range parser, not be taken as an option.
    let d = tempfile::tempdir().unwrap();
    let (code, out) = check(&["-d", d.path().to_str().unwrap(), "-w", "-5:-1", "-c", "~:9"]);
    assert_eq!(
        code, 2,
        "no database, so CRITICAL, but the arguments passed: {out}"
    );
}
