//! After the files, the scanner: make clamd load what freshclam wrote.
//!
//! freshclam tells clamd to reload only when freshclam.conf says `NotifyClamd`, and clamd
//! reloads by itself at most every `SelfCheck` seconds; a hung or restarted clamd may keep
//! yesterday's signatures for good. So after a repair that left the files current, the
//! handler asks clamd what it has loaded (`VERSION`) and, when that is older than the files,
//! sends `RELOAD` and asks again until clamd reports the new daily or the bound passes.
//!
//! clamd answers `VERSION` from its current engine while a concurrent reload builds the
//! next one, and not at all while a blocking reload (`ConcurrentDatabaseReload no`) runs:
//! both a stale answer and a timeout mean "not yet" until the bound.

use crate::clamav::clamd::{ClamdError, Loaded};
use crate::handler::audit::Audit;
use std::fmt;
use std::time::{Duration, Instant};

/// clamd, as the handler reaches it. Where it listens comes from root's clamd.conf.
pub(crate) trait Scanner {
    /// Where clamd listens; `Err` when clamd.conf exists but cannot be used; `Ok(None)`
    /// when no clamd is configured on this machine.
    fn endpoint(&self) -> Result<Option<String>, String>;
    /// What clamd has loaded, asked before `deadline`.
    fn loaded(&self, deadline: Instant) -> Result<Loaded, ClamdError>;
    /// Asks clamd to reload its databases.
    fn reload(&self, deadline: Instant) -> Result<(), ClamdError>;
}

/// Longest single exchange with clamd.
pub(crate) const ASK: Duration = Duration::from_secs(5);
/// Pause between two `VERSION`s while clamd reloads.
pub(crate) const POLL: Duration = Duration::from_millis(500);

/// What became of clamd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sync {
    /// No clamd on this machine: nothing to do.
    NotConfigured,
    /// clamd had the files' daily (or a newer one) loaded already.
    Current { loaded: u32 },
    /// clamd reloaded and now reports the files' daily.
    Reloaded {
        before: Option<u32>,
        after: u32,
        secs: u64,
    },
    /// clamd did not load the files: the cause, and what it reported last.
    Stale { cause: String, loaded: Option<u32> },
}

impl Sync {
    /// False only when clamd is configured and did not load the files.
    pub(crate) fn is_ok(&self) -> bool {
        !matches!(self, Sync::Stale { .. })
    }
}

impl fmt::Display for Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sync::NotConfigured => f.write_str("not configured"),
            Sync::Current { loaded } => write!(f, "loaded daily {loaded}"),
            Sync::Reloaded {
                before,
                after,
                secs,
            } => write!(
                f,
                "reloaded daily {} -> {after} in {secs}s",
                before.map_or_else(|| "none".to_string(), |b| b.to_string())
            ),
            Sync::Stale { cause, .. } => write!(f, "clamd did not reload: {cause}"),
        }
    }
}

/// What clamd reports loaded, as a daily number (`None` when it runs without a daily).
fn ask(scanner: &dyn Scanner) -> Result<Option<u32>, ClamdError> {
    scanner
        .loaded(Instant::now() + ASK)
        .map(|l: Loaded| l.daily)
}

/// Makes clamd load daily `files` (the version now on disk), within `bound`. Audits one
/// `clamd` line with both versions and the result. `pause` sleeps between polls.
pub(crate) fn sync(
    audit: &dyn Audit,
    scanner: &dyn Scanner,
    files: u32,
    bound: Duration,
    pause: &dyn Fn(Duration),
) -> Sync {
    let endpoint = match scanner.endpoint() {
        Ok(None) => return Sync::NotConfigured,
        Ok(Some(e)) => e,
        Err(cause) => {
            let s = Sync::Stale {
                cause: format!("clamd.conf unusable: {cause}"),
                loaded: None,
            };
            audit_sync(audit, "-", files, &s);
            return s;
        }
    };
    let started = Instant::now();
    let before = match ask(scanner) {
        Ok(Some(d)) if d >= files => {
            let s = Sync::Current { loaded: d };
            audit_sync(audit, &endpoint, files, &s);
            return s;
        }
        Ok(d) => d,
        Err(e) => {
            // Not answering is the scanner being down (mail not scanned), not a reload
            // that is late: RELOAD would fail the same way.
            let s = Sync::Stale {
                cause: format!("not answering: {e}"),
                loaded: None,
            };
            audit_sync(audit, &endpoint, files, &s);
            return s;
        }
    };
    let end = started + bound;
    if let Err(e) = scanner.reload(Instant::now() + ASK.min(bound)) {
        let s = Sync::Stale {
            cause: format!("RELOAD refused: {e}"),
            loaded: before,
        };
        audit_sync(audit, &endpoint, files, &s);
        return s;
    }
    let mut last = before;
    loop {
        let last_err = match scanner.loaded((Instant::now() + ASK).min(end.max(Instant::now()))) {
            Ok(l) => {
                last = l.daily;
                if l.daily.is_some_and(|d| d >= files) {
                    break;
                }
                None
            }
            Err(e) => Some(e),
        };
        if Instant::now() + POLL >= end {
            let still = last.map_or_else(|| "no daily".to_string(), |d| format!("daily {d}"));
            let cause = match last_err {
                Some(e) => format!(
                    "still {still} {}s after RELOAD, last answer: {e}",
                    bound.as_secs()
                ),
                None => format!(
                    "still {still} {}s after RELOAD (a database it cannot load?)",
                    bound.as_secs()
                ),
            };
            let s = Sync::Stale {
                cause,
                loaded: last,
            };
            audit_sync(audit, &endpoint, files, &s);
            return s;
        }
        pause(POLL);
    }
    let s = Sync::Reloaded {
        before,
        after: last.unwrap_or(files),
        secs: started.elapsed().as_secs(),
    };
    audit_sync(audit, &endpoint, files, &s);
    s
}

fn audit_sync(audit: &dyn Audit, endpoint: &str, files: u32, s: &Sync) {
    let v = |d: Option<u32>| d.map_or_else(|| "none".to_string(), |d| d.to_string());
    let (result, before, after, reason) = match s {
        Sync::NotConfigured => return,
        Sync::Current { loaded } => ("current", v(Some(*loaded)), v(Some(*loaded)), None),
        Sync::Reloaded { before, after, .. } => ("reloaded", v(*before), v(Some(*after)), None),
        Sync::Stale { cause, loaded } => ("failed", v(*loaded), v(*loaded), Some(cause)),
    };
    let mut fields: Vec<(&str, &dyn fmt::Display)> = vec![
        ("result", &result),
        ("socket", &endpoint),
        ("files_daily", &files),
        ("loaded_before", &before),
        ("loaded_after", &after),
    ];
    if let Some(r) = &reason {
        fields.push(("reason", r));
    }
    audit.event("clamd", &fields);
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// A clamd that reports `loaded`, and after a `RELOAD` switches to `after_reload`
    /// once `polls` more `VERSION`s were asked.
    pub(crate) struct FakeScanner {
        pub(crate) endpoint: Result<Option<String>, String>,
        pub(crate) loaded: Cell<Option<u32>>,
        pub(crate) answering: bool,
        pub(crate) reload_ok: bool,
        pub(crate) after_reload: Option<u32>,
        pub(crate) polls: Cell<u32>,
        pub(crate) calls: RefCell<Vec<&'static str>>,
    }

    impl FakeScanner {
        pub(crate) fn at(loaded: u32) -> FakeScanner {
            FakeScanner {
                endpoint: Ok(Some("/run/clamav/clamd.ctl".into())),
                loaded: Cell::new(Some(loaded)),
                answering: true,
                reload_ok: true,
                after_reload: None,
                polls: Cell::new(0),
                calls: RefCell::new(vec![]),
            }
        }
        pub(crate) fn absent() -> FakeScanner {
            FakeScanner {
                endpoint: Ok(None),
                ..FakeScanner::at(0)
            }
        }
        pub(crate) fn reloads_to(mut self, daily: u32, polls: u32) -> FakeScanner {
            self.after_reload = Some(daily);
            self.polls.set(polls);
            self
        }
    }

    impl Scanner for FakeScanner {
        fn endpoint(&self) -> Result<Option<String>, String> {
            self.endpoint.clone()
        }
        fn loaded(&self, _deadline: Instant) -> Result<Loaded, ClamdError> {
            self.calls.borrow_mut().push("VERSION");
            if !self.answering {
                return Err(ClamdError::Connect {
                    endpoint: "/run/clamav/clamd.ctl".into(),
                    reason: "Connection refused".into(),
                });
            }
            if self.calls.borrow().contains(&"RELOAD") && self.after_reload.is_some() {
                if self.polls.get() == 0 {
                    self.loaded.set(self.after_reload);
                } else {
                    self.polls.set(self.polls.get() - 1);
                }
            }
            Ok(Loaded {
                engine: "1.4.3".into(),
                daily: self.loaded.get(),
                built: None,
            })
        }
        fn reload(&self, _deadline: Instant) -> Result<(), ClamdError> {
            self.calls.borrow_mut().push("RELOAD");
            if self.reload_ok {
                Ok(())
            } else {
                Err(ClamdError::BadReply {
                    endpoint: "/run/clamav/clamd.ctl".into(),
                    reply: "UNKNOWN COMMAND".into(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeScanner;
    use super::*;
    use crate::handler::audit::Capture;

    fn run(s: &FakeScanner, files: u32, bound: Duration) -> (Sync, Capture) {
        let audit = Capture::default();
        let r = sync(&audit, s, files, bound, &|_| {});
        (r, audit)
    }

    #[test]
    fn no_clamd_means_nothing_to_do_and_nothing_said() {
        let s = FakeScanner::absent();
        let (r, audit) = run(&s, 7, Duration::from_secs(1));
        assert_eq!(r, Sync::NotConfigured);
        assert!(audit.lines().is_empty());
        assert!(s.calls.borrow().is_empty());
    }

    #[test]
    fn a_clamd_with_the_files_loaded_is_not_reloaded() {
        let s = FakeScanner::at(7);
        let (r, audit) = run(&s, 7, Duration::from_secs(1));
        assert_eq!(r, Sync::Current { loaded: 7 });
        assert_eq!(*s.calls.borrow(), ["VERSION"]);
        assert!(
            audit.contains("event=clamd result=current"),
            "{:?}",
            audit.lines()
        );
    }

    #[test]
    fn a_lagging_clamd_is_reloaded_and_waited_for() {
        let s = FakeScanner::at(5).reloads_to(7, 3);
        let (r, audit) = run(&s, 7, Duration::from_secs(30));
        assert!(
            matches!(
                r,
                Sync::Reloaded {
                    before: Some(5),
                    after: 7,
                    ..
                }
            ),
            "{r:?}"
        );
        assert_eq!(
            s.calls.borrow().iter().filter(|c| **c == "RELOAD").count(),
            1
        );
        let line = audit.lines().join("\n");
        assert!(line.contains("result=reloaded"), "{line}");
        assert!(line.contains("loaded_before=5 loaded_after=7"), "{line}");
        assert!(line.contains("files_daily=7"), "{line}");
    }

    #[test]
    fn a_clamd_that_never_loads_the_files_is_its_own_failure_within_the_bound() {
        let s = FakeScanner::at(5);
        let t = Instant::now();
        let audit = Capture::default();
        let r = sync(
            &audit,
            &s,
            7,
            Duration::from_millis(1200),
            &std::thread::sleep,
        );
        assert!(t.elapsed() < Duration::from_secs(5));
        let Sync::Stale { cause, loaded } = &r else {
            panic!("{r:?}")
        };
        assert_eq!(*loaded, Some(5));
        assert!(cause.contains("still daily 5"), "{cause}");
        assert!(!r.is_ok());
        assert!(r.to_string().starts_with("clamd did not reload: "), "{r}");
        assert!(audit.contains("result=failed"), "{:?}", audit.lines());
    }

    #[test]
    fn a_clamd_not_answering_is_named_and_not_sent_reload() {
        let s = FakeScanner {
            answering: false,
            ..FakeScanner::at(5)
        };
        let (r, audit) = run(&s, 7, Duration::from_secs(1));
        let Sync::Stale { cause, .. } = &r else {
            panic!("{r:?}")
        };
        assert!(cause.starts_with("not answering: "), "{cause}");
        assert!(cause.contains("Connection refused"), "{cause}");
        assert!(!s.calls.borrow().contains(&"RELOAD"));
        assert!(
            audit.contains("reason=\"not answering"),
            "{:?}",
            audit.lines()
        );
    }

    #[test]
    fn a_refused_reload_is_named() {
        let s = FakeScanner {
            reload_ok: false,
            ..FakeScanner::at(5)
        };
        let (r, _) = run(&s, 7, Duration::from_secs(1));
        assert!(r.to_string().contains("RELOAD refused"), "{r}");
    }

    #[test]
    fn an_unusable_clamd_conf_is_a_failure_not_silence() {
        let s = FakeScanner {
            endpoint: Err("owned by uid 100".into()),
            ..FakeScanner::at(5)
        };
        let (r, audit) = run(&s, 7, Duration::from_secs(1));
        assert!(r.to_string().contains("clamd.conf unusable"), "{r}");
        assert!(
            audit.contains("event=clamd result=failed"),
            "{:?}",
            audit.lines()
        );
    }
}
