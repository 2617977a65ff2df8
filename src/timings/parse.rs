//! One line of a CRIU `-v4` log: `(SS.UUUUUU) text`, where the restorer's own lines
//! read `pie: PID: text`. Lines without a timestamp (continuations of a multi-line
//! message) carry no time and are skipped.

/// A timestamped line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// Microseconds since CRIU started logging.
    pub us: u64,
    /// The pid of a restorer (`pie:`) line.
    pub pie: Option<u32>,
    /// The text after the timestamp (after `pie: PID: ` for a restorer line).
    pub text: &'a str,
}

/// The timestamped lines of `log`, in file order.
pub fn lines(log: &str) -> Vec<Line<'_>> {
    log.lines().filter_map(line).collect()
}

/// One line, or `None` without a `(SS.UUUUUU)` timestamp.
pub fn line(l: &str) -> Option<Line<'_>> {
    let rest = l.strip_prefix('(')?;
    let (stamp, text) = rest.split_once(") ")?;
    let (s, u) = stamp.trim().split_once('.')?;
    // CRIU prints exactly six digits of microseconds; anything else is not its stamp.
    if u.len() != 6 {
        return None;
    }
    let us = s
        .parse::<u64>()
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(u.parse().ok()?)?;
    let (pie, text) = match text.strip_prefix("pie: ").and_then(|t| t.split_once(": ")) {
        Some((pid, t)) => match pid.trim().parse() {
            Ok(pid) => (Some(pid), t),
            Err(_) => (None, text),
        },
        None => (None, text),
    };
    Some(Line { us, pie, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criu_and_restorer_lines() {
        let l = line("(00.043890) Forking task with 28077 pid (flags 0x0)").unwrap();
        assert_eq!(
            (l.us, l.pie, l.text),
            (43_890, None, "Forking task with 28077 pid (flags 0x0)")
        );
        let l = line("(12.144838) pie: 28077: Restored 104976384 bytes of pages").unwrap();
        assert_eq!(
            (l.us, l.pie, l.text),
            (12_144_838, Some(28077), "Restored 104976384 bytes of pages")
        );
        assert_eq!(line("task_args->pid: 28077"), None);
        assert_eq!(line("(1.5) short"), None);
    }
}
