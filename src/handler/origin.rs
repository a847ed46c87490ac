//! Who started a repair (for `status` and the record): the monitor's event handler, NRPE,
//! the heal timer, root running `heal` by hand or from cron, or an admin's `repair`.
//!
//! A label only: no decision depends on it. It is worked out once in `main` from how we
//! were invoked, and handed to the detached worker as `worker --by LABEL`.

use crate::handler::decide::Trigger;

/// How this process was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Through sudo (the monitor's user: Nagios's event handler, NRPE).
    Sudo,
    /// By systemd (clamav-freshen-heal.service).
    Systemd,
    /// By root directly: a shell, cron.
    Direct,
}

impl Via {
    /// From the environment sudo and systemd set. sudo resets the environment, so a caller
    /// cannot pass INVOCATION_ID through it; without sudo the caller is root already.
    pub(crate) fn from_env() -> Via {
        if std::env::var_os("SUDO_USER").is_some() {
            Via::Sudo
        } else if std::env::var_os("INVOCATION_ID").is_some() {
            Via::Systemd
        } else {
            Via::Direct
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    Monitor,
    Nrpe,
    Timer,
    Heal,
    Admin,
}

impl By {
    pub(crate) const ALL: [By; 5] = [By::Monitor, By::Nrpe, By::Timer, By::Heal, By::Admin];

    pub(crate) fn of(trigger: Trigger, via: Via) -> By {
        match (trigger, via) {
            (Trigger::Handle { .. }, _) => By::Monitor,
            (Trigger::Heal { .. }, Via::Sudo) => By::Nrpe,
            (Trigger::Heal { .. }, Via::Systemd) => By::Timer,
            (Trigger::Heal { .. }, Via::Direct) => By::Heal,
            (Trigger::Admin, _) => By::Admin,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            By::Monitor => "monitor",
            By::Nrpe => "nrpe",
            By::Timer => "timer",
            By::Heal => "heal",
            By::Admin => "admin",
        }
    }

    /// The worker's `--by` value: one of the labels exactly.
    pub(crate) fn parse(s: &str) -> Option<By> {
        By::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

impl std::fmt::Display for By {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nagios::{ServiceState, StateType};

    #[test]
    fn each_trigger_has_its_label() {
        let handle = Trigger::Handle {
            state: ServiceState::Critical,
            state_type: StateType::Hard,
            attempt: 3,
        };
        let heal = Trigger::Heal {
            state: ServiceState::Critical,
        };
        assert_eq!(By::of(handle, Via::Sudo), By::Monitor);
        assert_eq!(By::of(heal, Via::Sudo), By::Nrpe);
        assert_eq!(By::of(heal, Via::Systemd), By::Timer);
        assert_eq!(By::of(heal, Via::Direct), By::Heal);
        assert_eq!(By::of(Trigger::Admin, Via::Sudo), By::Admin);
        for b in By::ALL {
            assert_eq!(By::parse(b.as_str()), Some(b));
        }
        assert_eq!(By::parse("Monitor"), None);
        assert_eq!(By::parse("monitor "), None);
    }
}
