//! Image files: the magic header, then entries, each a little-endian `u32` size followed
//! by that many bytes of a protobuf message.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::magic::{IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, INVENTORY_MAGIC, RAW_IMAGE_MAGIC};
use crate::proto::Message;

/// The head magic an image starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// [`IMG_COMMON_MAGIC`] then the type magic (most images).
    Common,
    /// [`IMG_SERVICE_MAGIC`] then the type magic (stats, irmap cache).
    Service,
    /// The type magic alone (the inventory).
    Bare,
}

impl Head {
    /// The head CRIU writes for an image of type `magic` (service images aside).
    pub fn for_magic(magic: u32) -> Head {
        if magic == INVENTORY_MAGIC {
            Head::Bare
        } else {
            Head::Common
        }
    }
}

/// Reads entries from an image.
pub struct ImageReader<R> {
    r: R,
    offset: u64,
    head: Head,
    magic: u32,
    what: String,
}

/// Read up to `buf.len()` bytes, stopping early only at end of input.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl ImageReader<BufReader<File>> {
    /// Open the image at `path`, which must be of type `magic`.
    pub fn open(path: impl AsRef<Path>, magic: u32) -> Result<Self> {
        let path = path.as_ref();
        let f = File::open(path).map_err(|e| Error::io(Some(path), e))?;
        ImageReader::new(BufReader::with_capacity(64 << 10, f), magic, path.display().to_string())
    }
}

impl<R: Read> ImageReader<R> {
    /// Read the header from `r` and check it is an image of type `magic` (either head
    /// magic is accepted; the inventory has none). `what` names the input in errors.
    pub fn new(mut r: R, magic: u32, what: impl Into<String>) -> Result<Self> {
        let what = what.into();
        if magic == RAW_IMAGE_MAGIC {
            return Err(Error::invalid(format!(
                "{what}: raw images have no header and no entries"
            )));
        }
        let mut offset = 0u64;
        let mut word = |offset: &mut u64| -> Result<u32> {
            let mut b = [0u8; 4];
            let got = read_full(&mut r, &mut b).map_err(|e| Error::io(None, e).context(&what))?;
            if got < 4 {
                return Err(Error::Truncated {
                    what: format!("{what}: header"),
                    offset: *offset,
                    needed: 4,
                    got: got as u64,
                });
            }
            *offset += 4;
            Ok(u32::from_le_bytes(b))
        };
        let head = if magic == INVENTORY_MAGIC {
            Head::Bare
        } else {
            match word(&mut offset)? {
                IMG_COMMON_MAGIC => Head::Common,
                IMG_SERVICE_MAGIC => Head::Service,
                found => {
                    return Err(Error::BadMagic {
                        what: format!("{what} (head)"),
                        expected: IMG_COMMON_MAGIC,
                        found,
                    })
                }
            }
        };
        let found = word(&mut offset)?;
        if found != magic {
            return Err(Error::BadMagic {
                what: format!("{what} (type)"),
                expected: magic,
                found,
            });
        }
        Ok(ImageReader {
            r,
            offset,
            head,
            magic,
            what,
        })
    }

    pub fn head(&self) -> Head {
        self.head
    }

    pub fn magic(&self) -> u32 {
        self.magic
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next entry's message bytes, or `None` at a clean end of the image.
    pub fn next_entry(&mut self) -> Result<Option<Vec<u8>>> {
        let mut b = [0u8; 4];
        let got = read_full(&mut self.r, &mut b).map_err(|e| Error::io(None, e).context(&self.what))?;
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(Error::Truncated {
                what: format!("{}: entry size", self.what),
                offset: self.offset,
                needed: 4,
                got: got as u64,
            });
        }
        let size = u64::from(u32::from_le_bytes(b));
        let at = self.offset;
        self.offset += 4;
        // Grow the buffer as data arrives, so a bogus size cannot force a huge allocation.
        let mut buf = Vec::with_capacity(size.min(1 << 16) as usize);
        (&mut self.r)
            .take(size)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(None, e).context(&self.what))?;
        if (buf.len() as u64) < size {
            return Err(Error::Truncated {
                what: format!("{}: entry", self.what),
                offset: at,
                needed: size,
                got: buf.len() as u64,
            });
        }
        self.offset += size;
        Ok(Some(buf))
    }

    /// The next entry decoded as `M`, or `None` at a clean end of the image.
    pub fn next_message<M: Message>(&mut self) -> Result<Option<M>> {
        let at = self.offset;
        match self.next_entry()? {
            None => Ok(None),
            Some(b) => M::decode(&b)
                .map(Some)
                .map_err(|e| e.context(format_args!("{}: entry at offset {at}", self.what))),
        }
    }

    /// Like [`next_message`](Self::next_message), but the end of the image is an error.
    pub fn expect_message<M: Message>(&mut self, name: &str) -> Result<M> {
        let at = self.offset;
        self.next_message()?.ok_or_else(|| Error::Truncated {
            what: format!("{}: {name}", self.what),
            offset: at,
            needed: 4,
            got: 0,
        })
    }

    pub fn into_inner(self) -> R {
        self.r
    }
}

/// Writes an image: the header, then entries.
pub struct ImageWriter<W: Write> {
    w: W,
    offset: u64,
    path: Option<PathBuf>,
}

impl ImageWriter<BufWriter<File>> {
    /// Create (or truncate) the image at `path` with the header CRIU writes for `magic`.
    pub fn create(path: impl AsRef<Path>, magic: u32) -> Result<Self> {
        let path = path.as_ref();
        let f = File::create(path).map_err(|e| Error::io(Some(path), e))?;
        let mut w = ImageWriter::new(BufWriter::with_capacity(64 << 10, f), Head::for_magic(magic), magic)?;
        w.path = Some(path.to_path_buf());
        Ok(w)
    }
}

impl<W: Write> ImageWriter<W> {
    /// Write the header (`head` then `magic`) to `w`.
    pub fn new(mut w: W, head: Head, magic: u32) -> Result<Self> {
        if magic == RAW_IMAGE_MAGIC {
            return Err(Error::invalid("raw images have no header and no entries"));
        }
        let mut hdr = Vec::with_capacity(8);
        match head {
            Head::Common => hdr.extend_from_slice(&IMG_COMMON_MAGIC.to_le_bytes()),
            Head::Service => hdr.extend_from_slice(&IMG_SERVICE_MAGIC.to_le_bytes()),
            Head::Bare => {}
        }
        hdr.extend_from_slice(&magic.to_le_bytes());
        w.write_all(&hdr).map_err(|e| Error::io(None, e))?;
        Ok(ImageWriter {
            w,
            offset: hdr.len() as u64,
            path: None,
        })
    }

    /// Append one entry (its size, then its bytes).
    pub fn write_entry(&mut self, msg: &[u8]) -> Result<()> {
        let size = u32::try_from(msg.len())
            .map_err(|_| Error::invalid(format!("entry of {} bytes is too large", msg.len())))?;
        let path = self.path.as_deref();
        self.w.write_all(&size.to_le_bytes()).map_err(|e| Error::io(path, e))?;
        self.w.write_all(msg).map_err(|e| Error::io(path, e))?;
        self.offset += 4 + msg.len() as u64;
        Ok(())
    }

    /// Append one message as an entry.
    pub fn write_message<M: Message>(&mut self, m: &M) -> Result<()> {
        self.write_entry(&m.to_bytes())
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Flush and return the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.w.flush().map_err(|e| Error::io(self.path.as_deref(), e))?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::magic::PAGEMAP_MAGIC;
    use crate::proto::PagemapHead;

    fn image(entries: &[&[u8]]) -> Vec<u8> {
        let mut w = ImageWriter::new(Vec::new(), Head::Common, PAGEMAP_MAGIC).unwrap();
        for e in entries {
            w.write_entry(e).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn header_and_entries() {
        let b = image(&[&[0x08, 0x05], &[]]);
        assert_eq!(&b[..8], &[0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56]);
        let mut r = ImageReader::new(&b[..], PAGEMAP_MAGIC, "test").unwrap();
        assert_eq!(r.head(), Head::Common);
        assert_eq!(
            r.next_message::<PagemapHead>().unwrap(),
            Some(PagemapHead { pages_id: 5 })
        );
        assert_eq!(r.next_entry().unwrap(), Some(vec![]));
        assert_eq!(r.next_entry().unwrap(), None);
    }

    #[test]
    fn malformed_images() {
        let b = image(&[&[0x08, 0x05]]);
        // Every truncation is an error except the one at an entry boundary.
        for n in 0..b.len() {
            let res = ImageReader::new(&b[..n], PAGEMAP_MAGIC, "t").and_then(|mut r| {
                while r.next_entry()?.is_some() {}
                Ok(())
            });
            assert_eq!(res.is_ok(), n == 8, "length {n}");
        }
        // Bad head, bad type magic.
        let mut bad = b.clone();
        bad[0] ^= 1;
        assert!(matches!(
            ImageReader::new(&bad[..], PAGEMAP_MAGIC, "t"),
            Err(Error::BadMagic { .. })
        ));
        assert!(matches!(
            ImageReader::new(&b[..], crate::magic::MM_MAGIC, "t"),
            Err(Error::BadMagic { .. })
        ));
        // A size far past the end does not allocate it.
        let mut huge = b[..8].to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[1, 2, 3]);
        let mut r = ImageReader::new(&huge[..], PAGEMAP_MAGIC, "t").unwrap();
        let e = r.next_entry().unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated {
                    needed: 4294967295,
                    got: 3,
                    ..
                }
            ),
            "{e}"
        );
        // Entries that are not valid messages.
        let junk = image(&[&[0xff]]);
        let mut r = ImageReader::new(&junk[..], PAGEMAP_MAGIC, "t").unwrap();
        assert!(r.next_message::<PagemapHead>().is_err());
        assert!(ImageReader::new(&b[..], RAW_IMAGE_MAGIC, "t").is_err());
    }

    #[test]
    fn inventory_has_bare_head() {
        let w = ImageWriter::new(Vec::new(), Head::for_magic(INVENTORY_MAGIC), INVENTORY_MAGIC).unwrap();
        let b = w.finish().unwrap();
        assert_eq!(b, INVENTORY_MAGIC.to_le_bytes());
        let r = ImageReader::new(&b[..], INVENTORY_MAGIC, "inv").unwrap();
        assert_eq!(r.head(), Head::Bare);
    }
}
