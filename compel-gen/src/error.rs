//! The one error type of the crate: a kind (so callers can tell bad input from a refusal)
//! and a single-line message.

use std::fmt;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is not a well-formed ELF64 object (truncated, out-of-range offsets or
    /// indexes, ...).
    Malformed,
    /// A well-formed ELF file that is not what compel handles (class, byte order,
    /// machine, file type).
    Unsupported,
    /// A well-formed x86-64 relocatable object that compel would refuse to turn into a
    /// blob (undefined or COMMON symbols, unsupported relocations, ...).
    Rejected,
}

/// An error with a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub(crate) fn rejected(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Rejected, message)
    }

    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        // Messages embed names taken from the input; keep them on one line regardless.
        let message = message.into().replace(['\n', '\r'], " ");
        Error { kind, message }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Render a name taken from the input for a message: lossy UTF-8, with control
/// characters escaped so that one finding or error stays on one line.
pub(crate) fn printable(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for c in String::from_utf8_lossy(name).chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(printable(b"a\nb\x01"), "a\\nb\\u{1}");
        assert_eq!(printable(b"memcpy"), "memcpy");
    }

    #[test]
    fn messages_stay_on_one_line() {
        let e = Error::malformed("bad\nname");
        assert_eq!(e.to_string(), "bad name");
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }
}
