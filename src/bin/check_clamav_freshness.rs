//! `check_clamav_freshness`: Nagios check of ClamAV signature freshness. All logic lives in
//! the library (`clamav_freshen::check`).

fn main() -> std::process::ExitCode {
    clamav_freshen::check::main()
}
