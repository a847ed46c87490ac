//! `POST /v1/actions/reschedule-check` for the one service, now and forced: what the handler
//! sends Icinga 2 after a repair so that the monitor shows the repaired state within seconds
//! rather than at the next scheduled check.
//!
//! The host and service names travel as `filter_vars`, never spliced into the filter
//! expression: a name with a quote in it cannot change what the filter means.

use super::api_file::ApiFile;
use crate::mirror::http::{self, HttpError};
use crate::mirror::tls::Tls;
use std::time::{Duration, Instant};

/// The API call's path.
pub(crate) const PATH: &str = "/v1/actions/reschedule-check";
/// Longest text taken from an answer for the audit.
const MAX_TEXT: usize = 200;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RecheckError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("HTTP 401: the API refused user and password")]
    Unauthorized,
    #[error("HTTP 403: the ApiUser may not reschedule checks: {0}")]
    Forbidden(String),
    #[error("HTTP 404: no such service (or not allowed to it): {0}")]
    NoObject(String),
    #[error("HTTP {status}: {text}")]
    Status { status: u16, text: String },
}

/// The request body: the service `host`!`service`, checked now even if its checks are off.
pub(crate) fn body(host: &str, service: &str) -> String {
    format!(
        "{{\"type\":\"Service\",\"filter\":\"host.name==h&&service.name==s\",\
         \"filter_vars\":{{\"h\":{},\"s\":{}}},\"force\":true}}",
        json_string(host),
        json_string(service)
    )
}

/// What Icinga's answer means: its `status` text on success.
pub(crate) fn outcome(status: u16, body: &[u8]) -> Result<String, RecheckError> {
    let text = status_text(body).unwrap_or_default();
    match status {
        200 => Ok(if text.is_empty() {
            "rescheduled".into()
        } else {
            text
        }),
        401 => Err(RecheckError::Unauthorized),
        403 => Err(RecheckError::Forbidden(text)),
        404 => Err(RecheckError::NoObject(text)),
        status => Err(RecheckError::Status { status, text }),
    }
}

/// Asks `api` to re-check `host`!`service` now; bounded by the file's timeout.
pub(crate) fn reschedule(api: &ApiFile, host: &str, service: &str) -> Result<String, RecheckError> {
    let tls = Tls::new(api.ca_file.clone());
    let deadline = Instant::now() + Duration::from_secs(api.timeout_secs);
    let auth = crate::mirror::http::base64(format!("{}:{}", api.user, api.password).as_bytes());
    let headers = format!(
        "Authorization: Basic {auth}\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\n"
    );
    let (head, reply) = http::post(
        &api.url,
        &api.server_name,
        PATH,
        &headers,
        body(host, service).as_bytes(),
        &tls,
        deadline,
    )?;
    outcome(head.status, &reply)
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The first `"status":"..."` string of an answer (Icinga's human text), decoded, printable,
/// at most [`MAX_TEXT`] characters. Icinga puts it at the top (`{"error":404,"status":...}`)
/// or in the first result.
fn status_text(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let at = text.find("\"status\"")? + "\"status\"".len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut out = String::new();
    while out.chars().count() < MAX_TEXT {
        match chars.next()? {
            '"' => break,
            '\\' => match chars.next()? {
                'n' | 't' | 'r' => out.push(' '),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .filter(|c| !c.is_control())
                            .unwrap_or('?'),
                    );
                }
                c => out.push(c),
            },
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    Some(out)
}

/// [`outcome`] for the fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) fn outcome_for_fuzzing(status: u16, body: &[u8]) -> Option<String> {
    outcome(status, body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_names_as_values_not_filter_text() {
        assert_eq!(
            body("mailfilter1", "ClamAV signatures"),
            r#"{"type":"Service","filter":"host.name==h&&service.name==s","filter_vars":{"h":"mailfilter1","s":"ClamAV signatures"},"force":true}"#
        );
        let b = body("a\" || true || \"", "x\\y\u{1}");
        assert!(b.contains(r#""h":"a\" || true || \"""#), "{b}");
        assert!(b.contains(r#""s":"x\\y\u0001""#), "{b}");
        assert!(b.contains(r#""filter":"host.name==h&&service.name==s""#));
    }

    #[test]
    fn answers_read() {
        let ok = br#"{"results":[{"code":200.0,"status":"Successfully rescheduled check for object 'mailfilter1!ClamAV signatures'."}]}"#;
        assert_eq!(
            outcome(200, ok).unwrap(),
            "Successfully rescheduled check for object 'mailfilter1!ClamAV signatures'."
        );
        assert_eq!(outcome(200, b"").unwrap(), "rescheduled");
        assert!(matches!(
            outcome(401, b"<h1>Unauthorized</h1>"),
            Err(RecheckError::Unauthorized)
        ));
        let none = br#"{"error":404.0,"status":"No objects found."}"#;
        match outcome(404, none) {
            Err(RecheckError::NoObject(t)) => assert_eq!(t, "No objects found."),
            other => panic!("{other:?}"),
        }
        let denied =
            br#"{"error":403.0,"status":"No permission to access object \"x\"\n\u001b[31m."}"#;
        match outcome(403, denied) {
            Err(RecheckError::Forbidden(t)) => {
                assert_eq!(t, "No permission to access object \"x\" ?[31m.")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome(500, b"{}"),
            Err(RecheckError::Status { status: 500, .. })
        ));
    }

    #[test]
    fn status_text_is_bounded_and_survives_junk() {
        let long = format!("{{\"status\":\"{}\"}}", "x".repeat(10_000));
        assert_eq!(status_text(long.as_bytes()).unwrap().len(), MAX_TEXT);
        for junk in [
            &b"\"status\""[..],
            b"\"status\":",
            b"\"status\":\"\\",
            b"\"status\":\"\\u12",
            b"\"status\": 5",
            b"\xff\xfe\"status\":\"\\uzzzz\"",
        ] {
            let _ = status_text(junk);
        }
        assert_eq!(status_text(b"{\"status\" : \"a\"}").unwrap(), "a");
    }
}
