//! The default symbol prefix compel derives from a file name when `-p` is not given.

/// The prefix `compel hgen` would use for `path`, or `None` where compel gives up.
///
/// The rules, as compel applies them: take the part after the last `/`; cut it at its
/// first `.`; then every byte must be an ASCII letter, `_`, a digit (not first) or `-`
/// (which becomes `_`). A name that starts with `.` yields nothing, and a path ending in
/// `/` yields the empty prefix, as with compel.
pub fn default_prefix(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let start = bytes.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let base = &bytes[start..];
    let stem = match base.iter().position(|&b| b == b'.') {
        Some(0) => return None,
        Some(dot) => &base[..dot],
        None => base,
    };
    let mut out = String::with_capacity(stem.len());
    for (i, &b) in stem.iter().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => out.push(char::from(b)),
            b'0'..=b'9' if i > 0 => out.push(char::from(b)),
            b'-' => out.push('_'),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::default_prefix;

    fn p(s: &str) -> Option<String> {
        default_prefix(s)
    }

    #[test]
    fn strips_directories_and_everything_after_the_first_dot() {
        assert_eq!(p("restorer.built-in.o"), Some("restorer".into()));
        assert_eq!(p("./some/path/to/file.c"), Some("file".into()));
        assert_eq!(p("/tmp/x.y/parasite.built-in.o"), Some("parasite".into()));
        assert_eq!(p("a.b/c"), Some("c".into()));
        assert_eq!(p("blob"), Some("blob".into()));
        assert_eq!(p("blob."), Some("blob".into()));
    }

    #[test]
    fn dashes_become_underscores() {
        assert_eq!(p("my-blob.o"), Some("my_blob".into()));
        assert_eq!(p("-x.o"), Some("_x".into()));
        assert_eq!(p("dir-with-dash/a-b-c"), Some("a_b_c".into()));
    }

    #[test]
    fn digits_only_after_the_first_character() {
        assert_eq!(p("x86.o"), Some("x86".into()));
        assert_eq!(p("_1.o"), Some("_1".into()));
        assert_eq!(p("1x.o"), None);
        assert_eq!(p("dir/9.o"), None);
    }

    #[test]
    fn invalid_identifiers_give_none() {
        assert_eq!(p(""), None);
        assert_eq!(p("a b.o"), None);
        assert_eq!(p("a+b.o"), None);
        assert_eq!(p("caf\u{e9}.o"), None);
        assert_eq!(p(".hidden"), None);
        assert_eq!(p("dir/.o"), None);
        assert_eq!(p("."), None);
        assert_eq!(p(".."), None);
    }

    #[test]
    fn trailing_slash_gives_the_empty_prefix() {
        // compel's scan finds no name at all and accepts the empty string.
        assert_eq!(p("dir/"), Some("".into()));
        assert_eq!(p("/"), Some("".into()));
    }
}
