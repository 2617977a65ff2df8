//! A writer for the "newc" cpio format (`070701`), the one the kernel unpacks as initramfs.
//!
//! Layout of one entry: a 110-byte ASCII header (magic and 13 eight-digit hex fields), the
//! NUL-terminated name padded to a multiple of 4 (counting the header), then the data padded
//! to a multiple of 4. The archive ends with an entry named `TRAILER!!!`. Several archives
//! may be concatenated; the kernel unpacks them in order, later entries replacing earlier.

use std::collections::BTreeSet;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// Builds one archive in memory. Parent directories of every entry are created on demand.
#[derive(Clone, Debug)]
pub struct CpioWriter {
    buf: Vec<u8>,
    next_ino: u32,
    dirs: BTreeSet<String>,
}

impl Default for CpioWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CpioWriter {
    pub fn new() -> Self {
        CpioWriter {
            buf: Vec::new(),
            next_ino: 1,
            dirs: BTreeSet::new(),
        }
    }

    /// A writer for an archive that is appended after `self`'s: it knows which directories
    /// exist already and continues the inode numbering, but starts with no bytes.
    pub fn continuation(&self) -> Self {
        CpioWriter {
            buf: Vec::new(),
            next_ino: self.next_ino,
            dirs: self.dirs.clone(),
        }
    }

    /// The bytes written so far (no trailer).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    fn norm(path: &str) -> String {
        path.trim_start_matches('/').trim_end_matches('/').to_string()
    }

    fn header(&mut self, name: &str, mode: u32, nlink: u32, size: usize, rdev: (u32, u32)) {
        let ino = self.next_ino;
        self.next_ino += 1;
        let namesize = name.len() + 1;
        let fields = [
            ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            u32::try_from(size).expect("cpio entry larger than 4 GiB"),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            u32::try_from(namesize).expect("name too long"),
            0, // check
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn parents(&mut self, name: &str) {
        let mut prefix = String::new();
        let parts: Vec<&str> = name.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !self.dirs.contains(&prefix) {
                let p = prefix.clone();
                self.dir_entry(&p, 0o755);
            }
        }
    }

    fn dir_entry(&mut self, name: &str, perm: u32) {
        self.dirs.insert(name.to_string());
        self.header(name, S_IFDIR | (perm & 0o7777), 2, 0, (0, 0));
    }

    /// A directory (and its parents).
    pub fn dir(&mut self, path: &str, perm: u32) {
        let name = Self::norm(path);
        if name.is_empty() || self.dirs.contains(&name) {
            return;
        }
        self.parents(&name);
        self.dir_entry(&name, perm);
    }

    /// A regular file with the given permission bits (file type bits are ignored).
    pub fn file(&mut self, path: &str, data: &[u8], perm: u32) {
        let name = Self::norm(path);
        self.parents(&name);
        self.header(&name, S_IFREG | (perm & 0o7777), 1, data.len(), (0, 0));
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) {
        let name = Self::norm(path);
        self.parents(&name);
        self.header(&name, S_IFLNK | 0o777, 1, target.len(), (0, 0));
        self.buf.extend_from_slice(target.as_bytes());
        self.pad();
    }

    /// A character device node.
    pub fn char_dev(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
        let name = Self::norm(path);
        self.parents(&name);
        self.header(&name, S_IFCHR | (perm & 0o7777), 1, 0, (major, minor));
    }

    /// The archive's bytes followed by the trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 1, 0, (0, 0));
        // Round the whole archive up to 512 bytes, as cpio(1) does.
        while !self.buf.len().is_multiple_of(512) {
            self.buf.push(0);
        }
        self.buf
    }
}

/// One entry as read back by [`parse`] (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    pub rdev: (u32, u32),
    pub data: Vec<u8>,
}

/// Reads a (possibly concatenated) newc archive back; used by the unit tests.
pub fn parse(mut buf: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let total = buf.len();
    loop {
        // Skip zero padding between concatenated archives.
        while let Some((&0, rest)) = buf.split_first() {
            buf = rest;
        }
        if buf.is_empty() {
            return Ok(out);
        }
        let off = total - buf.len();
        if buf.len() < 110 || &buf[..6] != b"070701" {
            return Err(format!("bad magic at offset {off}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            let s = std::str::from_utf8(&buf[6 + i * 8..14 + i * 8]).map_err(|e| e.to_string())?;
            u32::from_str_radix(s, 16).map_err(|e| e.to_string())
        };
        let mode = field(1)?;
        let size = field(6)? as usize;
        let rdev = (field(9)?, field(10)?);
        let namesize = field(11)? as usize;
        let name_end = 110 + namesize;
        let name = std::str::from_utf8(&buf[110..name_end - 1])
            .map_err(|e| e.to_string())?
            .to_string();
        let data_start = name_end.div_ceil(4) * 4;
        let data_end = data_start + size;
        if data_end > buf.len() {
            return Err(format!("entry {name} runs past the end"));
        }
        let data = buf[data_start..data_end].to_vec();
        buf = &buf[data_end.div_ceil(4) * 4..];
        if name != "TRAILER!!!" {
            out.push(Entry { name, mode, rdev, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_parents_links_devices_and_concatenation() {
        let mut w = CpioWriter::new();
        w.file("/usr/bin/hello", b"hi\n", 0o755);
        w.symlink("/bin/sh", "busybox");
        w.char_dev("/dev/console", 0o600, 5, 1);
        let mut tail = w.continuation();
        tail.file("/usr/bin/other", b"12345", 0o644);
        tail.dir("/img", 0o700);
        let mut all = w.finish();
        all.extend_from_slice(&tail.finish());
        assert_eq!(all.len() % 512, 0);
        let entries = parse(&all).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "usr",
                "usr/bin",
                "usr/bin/hello",
                "bin",
                "bin/sh",
                "dev",
                "dev/console",
                "usr/bin/other",
                "img"
            ]
        );
        assert_eq!(entries[2].mode, 0o100755);
        assert_eq!(entries[2].data, b"hi\n");
        assert_eq!(entries[4].mode, 0o120777);
        assert_eq!(entries[4].data, b"busybox");
        assert_eq!(entries[6].rdev, (5, 1));
        assert_eq!(entries[6].mode, 0o020600);
        assert_eq!(entries[7].data, b"12345");
        assert_eq!(entries[8].mode, 0o040700);
    }
}
