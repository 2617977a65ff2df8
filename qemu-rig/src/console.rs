//! Reading results back from the guest's serial console.
//!
//! The guest's `/rig/lib.sh` prints these lines (each starting with `@@RIG `; a marker may
//! also appear after other text on the same line, e.g. when a kernel message was printed
//! without a newline):
//!
//! ```text
//! @@RIG boot <uptime-s> <kernel-release>
//! @@RIG result <name> PASS|FAIL <detail...>
//! @@RIG file <size> <guest-path>      followed by base64 lines (busybox `base64`), then
//! @@RIG end
//! @@RIG missing <guest-path>          a fetch that matched no regular file
//! @@RIG exit <status>                 the scenario script's exit status
//! @@RIG done <uptime-s>               /init finished; it powers off next
//! ```

use std::collections::BTreeMap;

pub const MARK: &str = "@@RIG ";

#[derive(Debug, Default, Clone)]
pub struct Parsed {
    pub results: Vec<(String, bool, String)>,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Problems found while reading file blocks (bad base64, size mismatch, missing files).
    pub file_errors: Vec<String>,
    pub exit_status: Option<i32>,
    pub booted: bool,
    pub done: bool,
}

fn marker(line: &str) -> Option<&str> {
    line.find(MARK).map(|i| &line[i + MARK.len()..])
}

pub fn parse(console: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut file: Option<(String, usize, String)> = None;
    for raw in console.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some((path, size, mut b64)) = file.take() {
            match marker(line) {
                Some(m) if m.trim_end() == "end" => match decode_base64(&b64) {
                    Ok(data) if data.len() == size => {
                        p.files.insert(path, data);
                    }
                    Ok(data) => p.file_errors.push(format!(
                        "{path}: guest said {size} bytes, decoded {} (console garbled?)",
                        data.len()
                    )),
                    Err(e) => p.file_errors.push(format!("{path}: {e}")),
                },
                Some(_) => {
                    p.file_errors
                        .push(format!("{path}: marker inside the file's base64 block: {line:?}"));
                    file = None;
                }
                None => {
                    b64.push_str(line.trim());
                    file = Some((path, size, b64));
                }
            }
            continue;
        }
        let Some(m) = marker(line) else { continue };
        let mut words = m.splitn(2, ' ');
        let kind = words.next().unwrap_or("");
        let rest = words.next().unwrap_or("").trim_end();
        match kind {
            "boot" => p.booted = true,
            "result" => {
                let mut w = rest.splitn(3, ' ');
                let name = w.next().unwrap_or("").to_string();
                let status = w.next().unwrap_or("");
                let detail = w.next().unwrap_or("").trim().to_string();
                p.results.push((name, status == "PASS", detail));
            }
            "file" => {
                let mut w = rest.splitn(2, ' ');
                match (w.next().and_then(|s| s.parse::<usize>().ok()), w.next()) {
                    (Some(size), Some(path)) => file = Some((path.to_string(), size, String::new())),
                    _ => p.file_errors.push(format!("malformed file marker: {line:?}")),
                }
            }
            "missing" => p.file_errors.push(format!("{rest}: no such regular file in the guest")),
            "exit" => p.exit_status = rest.trim().parse().ok(),
            "done" => p.done = true,
            _ => {}
        }
    }
    if let Some((path, _, _)) = file {
        p.file_errors
            .push(format!("{path}: console ended inside the file's block"));
    }
    p
}

/// Standard base64 (RFC 4648, `+/`, `=` padding); whitespace is ignored.
pub fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut pad = 0;
    for (i, c) in s.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            _ => return Err(format!("invalid base64 byte {c:#04x} at {i}")),
        };
        if pad > 0 {
            return Err(format!("base64 data after padding at {i}"));
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if pad > 2 || bits >= 6 {
        return Err("truncated base64".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(decode_base64(enc).unwrap(), plain.as_bytes(), "{enc}");
        }
        assert_eq!(decode_base64("Zm9v\r\nYmFy\n").unwrap(), b"foobar");
        assert!(decode_base64("Zm9v!").is_err());
        assert!(decode_base64("Z").is_err());
    }

    #[test]
    fn parses_markers_files_and_noise() {
        let console = "\
[    1.0] booting\r\n\
@@RIG boot 1.92 6.1.0-56-cloud-amd64\r\n\
some output\r\n\
@@RIG result criu-check PASS Looks good.\r\n\
[  3.2] random kernel line @@RIG result second FAIL exit 1: criu dump\r\n\
@@RIG file 6 /img/a b.img\r\n\
Zm9v\r\n\
YmFy\r\n\
@@RIG end\r\n\
@@RIG file 3 /img/bad.img\r\n\
Zm9vYmFy\r\n\
@@RIG end\r\n\
@@RIG missing /img/none\r\n\
@@RIG exit 0\r\n\
@@RIG done 9.5\r\n";
        let p = parse(console);
        assert!(p.booted && p.done);
        assert_eq!(p.exit_status, Some(0));
        assert_eq!(
            p.results,
            vec![
                ("criu-check".into(), true, "Looks good.".into()),
                ("second".into(), false, "exit 1: criu dump".into())
            ]
        );
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files["/img/a b.img"], b"foobar");
        assert_eq!(p.file_errors.len(), 2, "{:?}", p.file_errors);
    }
}
