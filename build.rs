//! Renders the man pages of both binaries from their clap definitions.
//!
//! The pages land in `$OUT_DIR/man/`, and gzipped (`gzip -9n`: Debian Policy wants
//! compressed man pages, and cargo-deb does not compress files under its build-products prefix)
//! in `<target>/<profile>/man/`, the only place cargo-deb can name in an asset
//! (`target/release/man/...`, its "target/release" prefix being mapped to the real target and
//! profile dir). Cargo gives build scripts no
//! stable artifact dir (rust-lang/cargo#5457), so that dir is found from OUT_DIR
//! (`<target>/<profile>/build/<pkg>-<hash>/out`); the package test checks the pages are in
//! the .deb, so a Cargo layout change cannot go unnoticed.

use std::env;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;

// The CLI files hold only clap + std code (a contract between the branches), so they compile
// here as plain modules. `#[path]` rather than `include!` because they open with `//!` inner
// doc comments, which `include!` rejects.
#[allow(dead_code)]
#[path = "src/check/cli.rs"]
mod cli_check;
#[allow(dead_code)]
#[path = "src/handler/cli.rs"]
mod cli_handler;
#[allow(dead_code)]
#[path = "src/defaults.rs"]
mod defaults;

struct Page {
    cmd: clap::Command,
    section: &'static str,
    manual: &'static str,
    files: &'static [(&'static str, &'static str)],
    see_also: &'static str,
}

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/check/cli.rs");
    println!("cargo:rerun-if-changed=src/defaults.rs");
    println!("cargo:rerun-if-changed=src/handler/cli.rs");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let man_dir = out_dir.join("man");
    fs::create_dir_all(&man_dir)?;

    let pages = [
        // Section 8: a root-only administration command in /usr/sbin.
        Page {
            cmd: cli_handler::Cli::command(),
            section: "8",
            manual: "System Administration",
            files: &[
                (defaults::CONFIG, "configuration"),
                (defaults::SUDOERS, "what user nagios may run through sudo"),
                (
                    defaults::ICINGA_API_FILE,
                    "Icinga 2's REST API for the re-check after a repair (root's, mode 0600); absent: the command file",
                ),
                (
                    defaults::FRESHCLAM_CONF,
                    "freshclam configuration (read only)",
                ),
                (
                    "/var/lib/clamav-freshen/",
                    "state (last repair, consecutive failures: rate limit and backoff)",
                ),
                (
                    "/usr/lib/systemd/system/clamav-freshen-heal.timer",
                    "runs heal every 30 minutes (systemctl edit to change, disable to stop)",
                ),
                (
                    "/etc/cron.d/clamav-freshen",
                    "the same where systemd is not PID 1",
                ),
                ("/run/clamav-freshen/", "repair lock"),
            ],
            see_also: "check_clamav_freshness(1), freshclam(1), freshclam.conf(5), sudoers(5)",
        },
        // Section 1: the check is an unprivileged command any user may run.
        Page {
            cmd: cli_check::Cli::command(),
            section: "1",
            manual: "User Commands",
            files: &[
                (
                    defaults::FRESHCLAM_CONF,
                    "read for DatabaseDirectory and DNSDatabaseInfo",
                ),
                (
                    defaults::CLAMD_CONF,
                    "read for LocalSocket, TCPSocket/TCPAddr, User and SelfCheck; absent: clamd is not checked",
                ),
                (
                    "/etc/nagios-plugins/config/clamav-freshen.cfg",
                    "Nagios command definitions",
                ),
                (
                    "/etc/nagios/nrpe.d/clamav-freshen.cfg",
                    "NRPE command definitions",
                ),
            ],
            see_also: "clamav-freshen(8), freshclam(1)",
        },
    ];

    for page in pages {
        let name = page.cmd.get_name().to_owned();
        let path = man_dir.join(format!("{name}.{}", page.section));
        let mut buf = Vec::new();
        render(page, &mut buf)?;
        fs::File::create(&path)?.write_all(&buf)?;
    }

    if let Some(profile_dir) = profile_dir(&out_dir) {
        let dest = profile_dir.join("man");
        fs::create_dir_all(&dest)?;
        for entry in fs::read_dir(&man_dir)? {
            let entry = entry?;
            let mut gz_name = entry.file_name();
            gz_name.push(".gz");
            gzip(&entry.path(), &dest.join(gz_name))?;
        }
    } else {
        println!(
            "cargo:warning=unexpected OUT_DIR layout {}; man pages only in OUT_DIR",
            out_dir.display()
        );
    }
    Ok(())
}

fn render(page: Page, w: &mut dyn Write) -> io::Result<()> {
    let version = page.cmd.get_version().unwrap_or_default().to_owned();
    let name = page.cmd.get_name().to_owned();
    let mut cmd = page.cmd.clone();
    let man = clap_mangen::Man::new(page.cmd)
        .section(page.section)
        .manual(page.manual)
        .source(format!("{name} {version}"));
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    // One page per binary: the subcommands are described here rather than in pages of their
    // own that clap_mangen's SUBCOMMANDS section would point to.
    if cmd.has_subcommands() {
        writeln!(w, ".SH COMMANDS")?;
        for sub in cmd.get_subcommands_mut().filter(|s| !s.is_hide_set()) {
            let usage = sub.render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ").replace('-', "\\-");
            writeln!(w, ".TP\n\\fB{usage}\\fR")?;
            if let Some(about) = sub.get_long_about().or(sub.get_about()) {
                writeln!(w, "{}", roff_text(&about.to_string()))?;
            }
            // The subcommand's own arguments, indented under it.
            let args: Vec<_> = sub
                .get_arguments()
                .filter(|a| !a.is_hide_set() && a.get_help().is_some())
                .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
                .collect();
            if !args.is_empty() {
                writeln!(w, ".RS")?;
                for arg in args {
                    let name = match (arg.get_long(), arg.get_value_names()) {
                        (Some(long), _) => format!("\\-\\-{long}"),
                        (None, Some(names)) => format!("<{}>", names.join(" ")),
                        (None, None) => format!("<{}>", arg.get_id().as_str().to_uppercase()),
                    };
                    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                    writeln!(w, ".TP\n\\fI{name}\\fR\n{}", roff_text(&help))?;
                }
                writeln!(w, ".RE")?;
            }
        }
    }
    writeln!(w, ".SH FILES")?;
    for (file, what) in page.files {
        writeln!(w, ".TP\n.I {file}\n{}", roff_text(what))?;
    }
    writeln!(w, ".SH \"SEE ALSO\"\n{}", roff_text(page.see_also))?;
    man.render_version_section(w)?;
    Ok(())
}

/// Plain text as a roff paragraph: no line may start with a control character, and `-`
/// must be `\-` to stay a real minus.
fn roff_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = l.replace('\\', "\\\\").replace('-', "\\-");
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `gzip -9n` (no name, no timestamp: reproducible): gzip is on every Debian system, which
/// saves a compression crate for one build-time use.
fn gzip(src: &Path, dest: &Path) -> io::Result<()> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(src)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("gzip {} failed", src.display())));
    }
    fs::write(dest, out.stdout)
}

/// `<target>/<profile>` from `<target>/<profile>/build/<pkg>-<hash>/out`.
fn profile_dir(out_dir: &Path) -> Option<PathBuf> {
    let build = out_dir.parent()?.parent()?;
    (build.file_name()? == "build").then(|| build.parent().map(Path::to_path_buf))?
}
