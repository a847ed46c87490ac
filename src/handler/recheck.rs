//! The re-check after a repair: which way, in which order. Icinga 2's REST API when root's
//! `icinga2-api.toml` exists (a standalone node: the package wrote it; an agent: the admin,
//! for the master); the command file (Nagios's FIFO, or Icinga's pipe set as
//! `nagios_command_file`) otherwise, and as the fallback when the API fails or its file is
//! refused. Each way tried is audited.

use crate::handler::config::Config;
use crate::handler::paths::Paths;
use crate::handler::ports::{Monitor, Recheck};
use crate::icinga::api_file::ApiFile;
use crate::icinga::reschedule;
use crate::nagios::command_file::{self, Submit};

/// The real port: root's files decide, nothing the caller says.
pub(crate) struct Route<'a> {
    pub(crate) paths: &'a Paths,
    pub(crate) cfg: &'a Config,
}

/// The API's file as loaded: absent, usable, or refused (why).
type Loaded = Result<Option<ApiFile>, String>;

impl Route<'_> {
    fn api(&self) -> Loaded {
        ApiFile::load(&self.paths.icinga_api, self.paths.owner_uid()).map_err(|e| e.to_string())
    }
    fn names<'b>(&'b self, api: &'b ApiFile) -> (&'b str, &'b str) {
        (
            api.host.as_deref().unwrap_or(&self.cfg.nagios_host),
            api.service.as_deref().unwrap_or(&self.cfg.nagios_service),
        )
    }
}

impl Monitor for Route<'_> {
    fn request_recheck(&self, now: i64) -> Vec<Recheck> {
        let file = self.paths.map(&self.cfg.nagios_command_file);
        let api = self.api();
        recheck(
            &api,
            |a| {
                let (host, service) = self.names(a);
                // Test mode re-roots the CA file like every other path of root's files.
                let a = ApiFile {
                    ca_file: self.paths.map(&a.ca_file),
                    ..a.clone()
                };
                reschedule::reschedule(&a, host, service).map_err(|e| e.to_string())
            },
            || command_file::submit(&file, &self.cfg.nagios_host, &self.cfg.nagios_service, now),
            &self.paths.icinga_api.display().to_string(),
            &file.display().to_string(),
        )
    }

    fn route(&self) -> (String, bool) {
        let file = self.paths.map(&self.cfg.nagios_command_file);
        let pipe = if file.exists() {
            format!("command file {}", file.display())
        } else {
            format!("none (no command file {})", file.display())
        };
        match self.api() {
            Ok(Some(a)) => {
                let (host, service) = self.names(&a);
                (
                    format!(
                        "Icinga 2 API {} as {} for '{host}!{service}'; if it fails: {pipe}",
                        a.url, a.user
                    ),
                    true,
                )
            }
            Ok(None) => (
                format!(
                    "{pipe} for '{}!{}'",
                    self.cfg.nagios_host, self.cfg.nagios_service
                ),
                true,
            ),
            Err(e) => (format!("REFUSED Icinga 2 API: {e}; {pipe}"), false),
        }
    }
}

/// The decision, with the two ways as closures: the API first when it is configured, the
/// command file when there is no API or the API did not take it.
fn recheck(
    api: &Loaded,
    via_api: impl Fn(&ApiFile) -> Result<String, String>,
    via_file: impl Fn() -> Submit,
    api_path: &str,
    file: &str,
) -> Vec<Recheck> {
    let mut done = Vec::new();
    match api {
        Ok(None) => {}
        Ok(Some(a)) => {
            let result = match via_api(a) {
                Ok(text) => format!("sent: {text}"),
                Err(e) => format!("error: {e}"),
            };
            let sent = result.starts_with("sent");
            done.push(Recheck {
                event: "icinga-recheck",
                result,
                target: a.url.to_string(),
            });
            if sent {
                return done;
            }
        }
        Err(e) => done.push(Recheck {
            event: "icinga-recheck",
            result: format!("refused: {e}"),
            target: api_path.to_string(),
        }),
    }
    let result = match via_file() {
        Submit::Sent => "sent".to_string(),
        Submit::Absent => "skipped: no command file".to_string(),
        Submit::Failed(e) => format!("error: {e}"),
    };
    done.push(Recheck {
        event: "nagios-recheck",
        result,
        target: file.to_string(),
    });
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn api() -> ApiFile {
        ApiFile::parse(
            "url = \"https://127.0.0.1:5665\"\nuser = \"u\"\npassword = \"p\"\n\
             ca_file = \"/ca.crt\"\n",
        )
        .unwrap()
    }

    fn run(loaded: &Loaded, api_says: Result<String, String>) -> (Vec<Recheck>, u32, u32) {
        let (a, f) = (Cell::new(0), Cell::new(0));
        let r = recheck(
            loaded,
            |_| {
                a.set(a.get() + 1);
                api_says.clone()
            },
            || {
                f.set(f.get() + 1);
                Submit::Sent
            },
            "/etc/clamav-freshen/icinga2-api.toml",
            "/run/icinga2/cmd/icinga2.cmd",
        );
        (r, a.get(), f.get())
    }

    #[test]
    fn no_api_file_uses_the_command_file_alone() {
        let (r, a, f) = run(&Ok(None), Ok("x".into()));
        assert_eq!((a, f), (0, 1));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].event, "nagios-recheck");
        assert_eq!(r[0].result, "sent");
    }

    #[test]
    fn the_api_that_takes_it_is_the_only_way() {
        let (r, a, f) = run(&Ok(Some(api())), Ok("Successfully rescheduled".into()));
        assert_eq!((a, f), (1, 0));
        assert_eq!(r[0].event, "icinga-recheck");
        assert_eq!(r[0].result, "sent: Successfully rescheduled");
        assert_eq!(r[0].target, "https://127.0.0.1:5665");
    }

    #[test]
    fn a_failed_api_falls_back_to_the_command_file() {
        let (r, a, f) = run(&Ok(Some(api())), Err("HTTP 401: refused".into()));
        assert_eq!((a, f), (1, 1));
        assert_eq!(r[0].result, "error: HTTP 401: refused");
        assert_eq!(r[1].event, "nagios-recheck");
    }

    #[test]
    fn a_refused_api_file_is_audited_then_the_command_file() {
        let (r, a, f) = run(&Err("mode 644".into()), Ok("x".into()));
        assert_eq!((a, f), (0, 1));
        assert_eq!(r[0].event, "icinga-recheck");
        assert_eq!(r[0].result, "refused: mode 644");
        assert_eq!(r[0].target, "/etc/clamav-freshen/icinga2-api.toml");
        assert_eq!(r[1].result, "sent");
    }
}
