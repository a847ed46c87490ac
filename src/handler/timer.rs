//! The local heal timer as `status` shows it: `clamav-freshen-heal.timer` under systemd
//! (asked of `systemctl show`, bounded), else the cron entry that stands in for it.

use crate::clamav::cvd::days_from_civil;
use crate::handler::paths::{HEAL_TIMER, Paths};
use crate::handler::ports::{HealSchedule, HealTimer};
use crate::system::process::{End, clean, run_lines};
use std::path::PathBuf;
use std::time::Duration;

/// Bound on the `systemctl show` call: `status` must answer even with a wedged manager.
const SHOW_LIMIT: Duration = Duration::from_secs(5);
const PROPERTIES: &str = "UnitFileState,ActiveState,NextElapseUSecRealtime,LastTriggerUSec";

pub(crate) struct System {
    systemd: bool,
    systemctl: Option<PathBuf>,
    cron_file: PathBuf,
}

impl System {
    pub(crate) fn new(paths: &Paths) -> System {
        System {
            systemd: paths.systemd_is_pid1(),
            systemctl: paths.systemctl.iter().find(|p| p.is_file()).cloned(),
            cron_file: paths.heal_cron.clone(),
        }
    }
}

impl HealTimer for System {
    fn schedule(&self) -> HealSchedule {
        if !self.systemd {
            return HealSchedule::Cron {
                path: self.cron_file.display().to_string(),
                present: self.cron_file.is_file(),
            };
        }
        let Some(sc) = &self.systemctl else {
            return HealSchedule::Unknown("systemctl not found".into());
        };
        let mut cmd = clean(sc);
        // Dates in UTC whatever /etc/localtime says: systemd before 257 prints these two
        // properties as dates even with --timestamp=unix.
        cmd.env("TZ", "UTC").args([
            "--no-ask-password",
            "--timestamp=unix",
            "show",
            "-p",
            PROPERTIES,
            HEAL_TIMER,
        ]);
        let mut out = String::new();
        match run_lines(
            cmd,
            SHOW_LIMIT,
            Duration::from_secs(1),
            &|| None,
            &mut |l| {
                if out.len() < 4096 {
                    out.push_str(l);
                    out.push('\n');
                }
            },
        ) {
            Ok(End::Exited(0)) => parse_show(&out),
            Ok(end) => HealSchedule::Unknown(format!("systemctl show: {end}")),
            Err(e) => HealSchedule::Unknown(format!("cannot run {}: {e}", sc.display())),
        }
    }
}

/// `Key=Value` lines of `TZ=UTC systemctl --timestamp=unix show -p ...`. Timestamps are
/// `@SECONDS` (systemd 257), `Wed 2026-12-02 01:10:32 UTC` (252 ignores the option for
/// `show`), empty or `n/a` when none; anything else is unknown.
pub(crate) fn parse_show(text: &str) -> HealSchedule {
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
            .map(str::trim)
            .unwrap_or("")
    };
    let time = |k: &str| {
        let v = get(k);
        match v.strip_prefix('@') {
            Some(s) => s.parse::<i64>().ok(),
            None => utc_date(v),
        }
        .filter(|t| *t > 0)
    };
    let word = |k: &str| match get(k) {
        "" => "unknown".to_string(),
        v => v.to_string(),
    };
    HealSchedule::Timer {
        unit_file_state: word("UnitFileState"),
        active_state: word("ActiveState"),
        next: time("NextElapseUSecRealtime"),
        last: time("LastTriggerUSec"),
    }
}

/// `Wed 2026-12-02 01:10:32 UTC` (the weekday is not checked) → epoch seconds.
fn utc_date(v: &str) -> Option<i64> {
    let mut it = v.split_whitespace();
    let (_weekday, date, time) = (it.next()?, it.next()?, it.next()?);
    if it.next()? != "UTC" || it.next().is_some() {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let d: Vec<i64> = date.split('-').map(num).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(num).collect::<Option<_>>()?;
    let ([y, mo, da], [h, mi, se]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    let valid = (1..=12).contains(mo)
        && (1..=31).contains(da)
        && (0..24).contains(h)
        && (0..60).contains(mi)
        && (0..=60).contains(se);
    valid.then(|| days_from_civil(*y, *mo, *da) * 86400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output() {
        let s = parse_show(
            "UnitFileState=enabled\nActiveState=active\n\
             NextElapseUSecRealtime=@1796170200\nLastTriggerUSec=@1796168400\n",
        );
        assert_eq!(
            s,
            HealSchedule::Timer {
                unit_file_state: "enabled".into(),
                active_state: "active".into(),
                next: Some(1_796_170_200),
                last: Some(1_796_168_400),
            }
        );
        // Never triggered, stopped; a systemd printing microseconds; garbage.
        let s = parse_show(
            "ActiveState=inactive\nUnitFileState=disabled\nNextElapseUSecRealtime=\nLastTriggerUSec=n/a\n",
        );
        assert!(matches!(
            s,
            HealSchedule::Timer { next: None, last: None, ref active_state, .. } if active_state == "inactive"
        ));
        // systemd 252: dates, in UTC since we set TZ; other zones, garbage: unknown.
        let s = parse_show(
            "NextElapseUSecRealtime=Wed 2026-12-02 01:10:32 UTC\nLastTriggerUSec=Tue 2026-12-01 23:59:59 UTC\n",
        );
        assert!(matches!(
            s,
            HealSchedule::Timer { next: Some(1_796_173_832), last: Some(1_796_169_599), ref unit_file_state, .. } if unit_file_state == "unknown"
        ));
        for bad in [
            "Wed 2026-12-02 01:10:32 CET",
            "Wed 2026-12-02 01:10 UTC",
            "Wed 2026-13-02 01:10:32 UTC",
            "Wed 2026-12-02 01:10:32 UTC x",
            "1796170200000000",
            "@x",
        ] {
            let s = parse_show(&format!("NextElapseUSecRealtime={bad}\n"));
            assert!(matches!(s, HealSchedule::Timer { next: None, .. }), "{bad}");
        }
    }

    #[test]
    fn without_systemd_the_cron_entry() {
        let d = tempfile::tempdir().unwrap();
        let p = Paths::under(d.path(), "/x".into());
        let t = System::new(&p);
        assert!(matches!(
            t.schedule(),
            HealSchedule::Cron { present: false, .. }
        ));
        std::fs::create_dir_all(p.heal_cron.parent().unwrap()).unwrap();
        std::fs::write(&p.heal_cron, "").unwrap();
        assert!(matches!(
            t.schedule(),
            HealSchedule::Cron { present: true, .. }
        ));
        std::fs::create_dir_all(&p.systemd_running).unwrap();
        let t = System::new(&p);
        assert_eq!(
            t.schedule(),
            HealSchedule::Unknown("systemctl not found".into())
        );
    }
}
