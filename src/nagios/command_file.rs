//! Asking Nagios to re-check the service after a repair, through its command FIFO.
//!
//! Opened O_WRONLY|O_NONBLOCK|O_NOFOLLOW: with no reader the open fails (ENXIO) instead of
//! hanging, and a symlink or regular file planted there is refused.

use crate::system::secure_open::{self, Access, Kind, OpenError, Rules};
use std::io::Write;
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Submit {
    Sent,
    /// The command file does not exist (Nagios not installed here).
    Absent,
    Failed(String),
}

pub(crate) fn line(host: &str, service: &str, now: i64) -> String {
    format!("[{now}] SCHEDULE_FORCED_SVC_CHECK;{host};{service};{now}\n")
}

pub(crate) fn submit(path: &Path, host: &str, service: &str, now: i64) -> Submit {
    let fifo = Rules {
        kind: Kind::Fifo,
        owner: None,
        closed: false,
    };
    let file = match secure_open::open(path, Access::Write, &fifo) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Submit::Absent,
        Err(OpenError::Open {
            source: nix::errno::Errno::ENXIO,
            ..
        }) => return Submit::Failed("no reader on the command FIFO".into()),
        Err(OpenError::Kind { .. }) => return Submit::Failed("not a FIFO".into()),
        Err(e) => return Submit::Failed(format!("cannot open: {e}")),
    };
    // One write below PIPE_BUF is atomic: it cannot interleave with Nagios' other writers.
    let text = line(host, service, now);
    match (&file).write(text.as_bytes()) {
        Ok(n) if n == text.len() => Submit::Sent,
        Ok(n) => Submit::Failed(format!("short write ({n} of {} bytes)", text.len())),
        Err(e) => Submit::Failed(format!("write: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn fifo_with_reader_receives_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nagios.cmd");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o660)).unwrap();
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags_nonblock()
            .open(&p)
            .unwrap();
        assert_eq!(
            submit(&p, "localhost", "ClamAV signatures", 42),
            Submit::Sent
        );
        let mut s = String::new();
        let _ = (&reader).read_to_string(&mut s);
        assert_eq!(
            s,
            "[42] SCHEDULE_FORCED_SVC_CHECK;localhost;ClamAV signatures;42\n"
        );
    }

    #[test]
    fn no_reader_does_not_hang_and_others_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nagios.cmd");
        assert_eq!(submit(&p, "h", "s", 1), Submit::Absent);
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o660)).unwrap();
        assert_eq!(
            submit(&p, "h", "s", 1),
            Submit::Failed("no reader on the command FIFO".into())
        );
        let f = d.path().join("plain");
        std::fs::write(&f, "").unwrap();
        assert_eq!(submit(&f, "h", "s", 1), Submit::Failed("not a FIFO".into()));
        let l = d.path().join("link");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert!(matches!(submit(&l, "h", "s", 1), Submit::Failed(_)));
        assert_eq!(std::fs::read(&f).unwrap(), b"");
    }

    trait NonBlock {
        fn custom_flags_nonblock(&mut self) -> &mut Self;
    }
    impl NonBlock for std::fs::OpenOptions {
        fn custom_flags_nonblock(&mut self) -> &mut Self {
            std::os::unix::fs::OpenOptionsExt::custom_flags(self, nix::libc::O_NONBLOCK)
        }
    }
}
