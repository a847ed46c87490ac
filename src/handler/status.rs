//! `status`: one screen of diagnosis. [`gather`] computes a [`Status`] value from the ports;
//! its `Display` is what the admin reads.

use crate::clamav::freshclam_dat::Cooldown;
use crate::handler::decide::{Facts, allowed_from};
use crate::handler::flow::Env;
use crate::handler::ports::HealSchedule;
use crate::handler::when;
use crate::nagios::ServiceState;
use crate::text::printable;
use std::fmt;

/// One line: a label and its value, and whether it counts against health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) label: &'static str,
    pub(crate) value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) lines: Vec<Line>,
    pub(crate) healthy: bool,
}

impl Status {
    pub(crate) fn exit_code(&self) -> i32 {
        if self.healthy { 0 } else { 1 }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            // Values quote files other users write: keep escape sequences off the terminal.
            writeln!(f, "{:<13} {}", format!("{}:", l.label), printable(&l.value))?;
        }
        writeln!(
            f,
            "{:<13} {}",
            "overall:",
            if self.healthy {
                "healthy"
            } else {
                "NOT healthy"
            }
        )
    }
}

/// `cfg_problem`: why the configuration file was refused, if it was (defaults are used).
pub(crate) fn gather(env: &Env, cfg_problem: Option<&str>) -> Status {
    env.recover_if_needed(None);
    let mut healthy = cfg_problem.is_none();
    let mut lines = Vec::new();
    let mut push = |label, value: String| lines.push(Line { label, value });
    push(
        "config",
        match cfg_problem {
            Some(p) => format!("REFUSED: {p}"),
            None if env.paths.config.exists() => format!("ok ({})", env.paths.config.display()),
            None => "missing, built-in defaults".into(),
        },
    );
    let mode = env.p.svc.mode();
    let daemon = if mode.has_daemon() {
        let active = env.p.svc.is_active();
        healthy &= active;
        format!(
            "{} ({})",
            mode.as_str(),
            if active { "running" } else { "NOT running" }
        )
    } else {
        format!("{} (no daemon)", mode.as_str())
    };
    push("freshclam", daemon);
    match env.p.db.local_daily() {
        Ok((version, built, dir)) => {
            push("local daily", format!("{version} (built {built}) in {dir}"));
        }
        Err(e) => {
            healthy = false;
            push("local daily", format!("ERROR: {e}"));
        }
    }
    let files_daily = env.p.db.local_daily().ok().map(|(v, _, _)| v);
    if let Some((value, ok)) = clamd_line(env, files_daily) {
        healthy &= ok;
        push("clamd", value);
    }
    let now = env.p.clock.now();
    match env.p.checker.check(now) {
        Ok(r) => {
            healthy &= r.state == ServiceState::Ok;
            push(
                "published",
                r.published.map_or("unknown".into(), |p| p.to_string()),
            );
            push("check", r.status_line());
        }
        Err(e) => {
            healthy = false;
            push("check", format!("UNAVAILABLE: {e}"));
        }
    }
    push(
        "cool-down",
        match env.p.db.cooldown(now) {
            Cooldown::None => "none".into(),
            Cooldown::Until(u) => format!("until {}", when::with_age(u, now)),
            Cooldown::Bogus(u) => format!(
                "BOGUS until {} (more than 48 h away: not obeyed)",
                when::with_age(u, now)
            ),
        },
    );
    let (route, ok) = env.p.monitor.route();
    healthy &= ok;
    push("re-check", route);
    let last = env.p.state.last();
    push(
        "last repair",
        match &last {
            Some(r) => format!(
                "{}, outcome {}, took {}s",
                when::with_age(r.finished, now),
                r.outcome,
                r.duration()
            ),
            None => "never".into(),
        },
    );
    if let Some(a) = last
        .as_ref()
        .and_then(|r| crate::handler::cause::advice_for_outcome(&r.outcome))
    {
        push("advice", a.to_string());
    }
    if let Some(c) = last.as_ref().and_then(|r| r.clamd.as_ref()) {
        push(
            "last reload",
            format!(
                "{} ({})",
                c,
                when::with_age(last.as_ref().map_or(now, |r| r.finished), now)
            ),
        );
    }
    for r in env.p.state.recent().iter().rev().take(5) {
        push(
            "repaired",
            format!(
                "{} by {}: {} ({}s)",
                when::with_age(r.finished, now),
                r.by.as_deref().unwrap_or("?"),
                r.outcome,
                r.duration()
            ),
        );
    }
    if let Some(r) = last.as_ref().filter(|r| r.failures > 0) {
        push(
            "failures",
            format!("{} consecutive, last: {}", r.failures, r.outcome),
        );
    }
    let facts = Facts {
        now,
        running: false,
        last_finished: last.as_ref().map(|r| r.finished),
        failures: last.as_ref().map_or(0, |r| r.failures),
        cooldown_until: None,
    };
    let policy = env.policy();
    let next = allowed_from(&facts, &policy);
    push(
        "next repair",
        if next <= now {
            "allowed now (monitor event, heal, timer)".into()
        } else {
            let why = match facts.failures {
                0 | 1 => "rate limit".to_string(),
                n => format!("backoff after {n} failures"),
            };
            format!(
                "allowed from {} ({why}; `repair` bypasses it)",
                when::with_age(next, now)
            )
        },
    );
    push("heal timer", schedule_line(&env.p.timer.schedule(), now));
    let running = match env.p.lock.try_acquire() {
        Ok(Some(_)) => None,
        Ok(None) => Some(env.p.lock.holder_pid()),
        Err(e) => {
            healthy = false;
            push("repair lock", format!("ERROR: {e}"));
            None
        }
    };
    push(
        "repair",
        match running {
            None => "none running".into(),
            Some(Some(pid)) => format!("running (worker pid {pid})"),
            Some(None) => "running".into(),
        },
    );
    if env.p.lock.marker_present() {
        push(
            "marker",
            "freshclam daemon stopped by the running repair".into(),
        );
        healthy = false;
    }
    env.p.audit.event("status", &[("healthy", &healthy)]);
    Status { lines, healthy }
}

/// clamd's line, and whether it is healthy; `None` when no clamd is installed.
fn clamd_line(env: &Env, files: Option<u32>) -> Option<(String, bool)> {
    let endpoint = match env.p.scanner.endpoint() {
        Ok(None) => return None,
        Ok(Some(e)) => e,
        Err(e) => return Some((format!("REFUSED: {e}"), false)),
    };
    let deadline = std::time::Instant::now() + crate::handler::reload::ASK;
    Some(match env.p.scanner.loaded(deadline) {
        Ok(l) => {
            let daily = l
                .daily
                .map_or("no daily".to_string(), |d| format!("daily {d}"));
            let behind = matches!((l.daily, files), (Some(d), Some(f)) if d < f)
                || (l.daily.is_none() && files.is_some());
            let note = if behind { ", BEHIND the files" } else { "" };
            (
                format!("{endpoint}: loaded {daily} (ClamAV {}){note}", l.engine),
                !behind,
            )
        }
        Err(e) => (format!("{endpoint}: NOT answering: {e}"), false),
    })
}

/// `enabled, active; next 2026-12-02 00:30 UTC (in 12 min), last 2026-12-02 00:00 UTC
/// (18 min ago)`.
fn schedule_line(s: &HealSchedule, now: i64) -> String {
    match s {
        HealSchedule::Timer {
            unit_file_state,
            active_state,
            next,
            last,
        } => {
            let at = |t: &Option<i64>| t.map_or("none".into(), |t| when::with_age(t, now));
            format!(
                "{} {unit_file_state}, {active_state}; next {}, last {}",
                crate::handler::paths::HEAL_TIMER,
                at(next),
                at(last)
            )
        }
        HealSchedule::Cron {
            path,
            present: true,
        } => format!("cron ({path}; no systemd)"),
        HealSchedule::Cron {
            path,
            present: false,
        } => format!("none: no systemd and no {path}"),
        HealSchedule::Unknown(why) => format!("unknown: {why}"),
    }
}
