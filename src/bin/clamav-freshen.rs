//! `clamav-freshen`: the root event handler. All logic lives in the library
//! (`clamav_freshen::handler`); this only hands over the raw arguments and exits.

fn main() -> anyhow::Result<()> {
    // Raw OsStrings: non-UTF-8 arguments are refused by the parser, never a panic here.
    let code = clamav_freshen::handler::main(std::env::args_os().collect());
    std::process::exit(code);
}
