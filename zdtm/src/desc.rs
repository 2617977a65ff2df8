//! A zdtm test's `.desc` file: a Python dict literal of strings and lists of strings.
//!
//! Only what a host-flavor run uses is kept: flavors, flags, CRIU options, required
//! features, the architecture and the test's own timeout.

use std::collections::BTreeMap;

/// What a `.desc` says; a test without one gets `Desc::default()` (every flavor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desc {
    /// `None`: every flavor.
    pub flavors: Option<Vec<String>>,
    pub flags: Vec<String>,
    /// Options for both dump and restore, then for each alone.
    pub opts: Vec<String>,
    pub dump_opts: Vec<String>,
    pub restore_opts: Vec<String>,
    /// `criu check --feature` names that must be present.
    pub features: Vec<String>,
    pub arch: Option<String>,
    pub timeout_s: Option<u64>,
}

impl Desc {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Whether the test runs in the host flavor (zdtm's `h`).
    pub fn runs_on_host(&self) -> bool {
        self.flavors.as_ref().is_none_or(|f| f.iter().any(|f| f == "h"))
    }

    pub fn parse(text: &str) -> Result<Desc, String> {
        let map = parse_dict(text)?;
        let words = |k: &str| -> Result<Vec<String>, String> {
            match map.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Str(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
                Some(Value::List(_)) => Err(format!("'{k}' is a list, expected a string")),
            }
        };
        let timeout_s = match words("timeout")?.as_slice() {
            [] => None,
            [t] => Some(t.parse().map_err(|_| format!("'timeout' is not a number: {t}"))?),
            _ => return Err("'timeout' has several words".into()),
        };
        Ok(Desc {
            flavors: map.contains_key("flavor").then(|| words("flavor")).transpose()?,
            flags: words("flags")?,
            opts: words("opts")?,
            dump_opts: words("dopts")?,
            restore_opts: words("ropts")?,
            features: words("feature")?,
            arch: words("arch")?.into_iter().next(),
            timeout_s,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    List(Vec<String>),
}

/// `{ 'key': 'value' | ['v', ...], ... }`, with either quote and a trailing comma.
fn parse_dict(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut map = BTreeMap::new();
    p.expect(b'{')?;
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        let value = if p.eat(b'[') {
            let mut items = Vec::new();
            while !p.eat(b']') {
                items.push(p.string()?);
                if !p.eat(b',') {
                    p.expect(b']')?;
                    break;
                }
            }
            Value::List(items)
        } else {
            Value::Str(p.string()?)
        };
        map.insert(key, value);
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("trailing text at byte {}", p.i));
    }
    Ok(map)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == q)
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec()).map_err(|_| "string is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_zdtm_uses() {
        let d = Desc::parse("{'flavor': 'h ns', 'flags': 'suid crfail', 'opts': '--file-locks'}\n").unwrap();
        assert_eq!(d.flavors, Some(vec!["h".into(), "ns".into()]));
        assert!(d.has_flag("suid") && d.has_flag("crfail") && !d.has_flag("noauto"));
        assert_eq!(d.opts, vec!["--file-locks"]);
        assert!(d.runs_on_host());

        let d = Desc::parse(
            "{   'deps': [   '/bin/sh',\n '/sbin/ip|/bin/ip'],\n    'dopts': '--a b',\n    'ropts': \"--c\",\n 'feature': 'x y', 'arch': 'x86_64', 'timeout': '60',\n}",
        )
        .unwrap();
        assert_eq!(d.dump_opts, vec!["--a", "b"]);
        assert_eq!(d.restore_opts, vec!["--c"]);
        assert_eq!(d.features, vec!["x", "y"]);
        assert_eq!(d.arch.as_deref(), Some("x86_64"));
        assert_eq!(d.timeout_s, Some(60));
        assert_eq!(d.flavors, None);
    }

    #[test]
    fn ns_only_tests_do_not_run_on_the_host() {
        assert!(!Desc::parse("{'flavor': 'ns uns'}").unwrap().runs_on_host());
        assert!(Desc::parse("{}").unwrap().runs_on_host());
    }

    #[test]
    fn malformed_text_is_an_error() {
        for bad in [
            "",
            "{",
            "{'a'}",
            "{'a': 1}",
            "{'a': 'b'} x",
            "{'timeout': 'soon'}",
            "{'flags': ['x']}",
            "{'a: 'b'}",
        ] {
            assert!(Desc::parse(bad).is_err(), "{bad:?}");
        }
    }
}
