//! Text from files other users write (CVD headers, freshclam.conf, freshclam's messages,
//! hostile arguments) on its way to a terminal or a monitor: one rule for all of them.

/// Control characters (escape sequences, newlines, NUL) become `?`.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// [`printable`], and also `|` → `!`: in a plugin's output `|` starts the perfdata.
pub(crate) fn plugin_text(s: &str) -> String {
    printable(s).replace('|', "!")
}

/// The reason in a rendered clap error (`error: unexpected argument 'x' found ...`): its
/// first non-empty line without the `error: ` prefix, printable, at most 300 characters
/// (it may quote a hostile argument). `fallback` when there is none.
pub(crate) fn clap_reason(rendered: &str, fallback: &str) -> String {
    let line = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(fallback);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    printable(line).chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_pipes() {
        assert_eq!(printable("a\x1b]2;x\x07\nb"), "a?]2;x??b");
        assert_eq!(plugin_text("a|b\nc"), "a!b?c");
        assert_eq!(clap_reason("\n  \nerror: x\x1b\ny", "f"), "x?");
        assert_eq!(clap_reason("", "f"), "f");
        assert_eq!(clap_reason(&"y".repeat(400), "f").len(), 300);
    }
}
