//! A small protobuf (proto2) wire codec and the messages this crate reads and writes.
//!
//! The message structs are written from the field numbers and types CRIU documents for
//! its images (`pagemap_head`, `pagemap_entry`, `vma_entry`, `mm_entry`). Decoding is
//! strict where a mistake would change meaning (wire types of known fields, varints past
//! 64 bits, `uint32` values past 32 bits, missing required fields, lengths past the end)
//! and lenient where protobuf is (unknown fields are skipped, the last value of a
//! repeated scalar wins).

use crate::error::{Error, Result};

/// Wire type of a field key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    Varint = 0,
    Fixed64 = 1,
    Len = 2,
    Fixed32 = 5,
}

/// One decoded field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl Value<'_> {
    fn wire_type(&self) -> WireType {
        match self {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64(_) => WireType::Fixed64,
            Value::Len(_) => WireType::Len,
            Value::Fixed32(_) => WireType::Fixed32,
        }
    }
}

/// Decode a base-128 varint from the front of `buf`: the value and the bytes it took.
pub fn decode_varint(buf: &[u8]) -> Result<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Err(Error::proto("varint overflows 64 bits"));
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(Error::proto("varint longer than 10 bytes"))
    } else {
        Err(Error::proto("varint truncated"))
    }
}

/// Append `v` as a varint.
pub fn encode_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Iterates over the fields of one message's bytes.
pub struct FieldReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> FieldReader<'a> {
    pub fn new(buf: &'a [u8]) -> FieldReader<'a> {
        FieldReader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let (v, n) =
            decode_varint(&self.buf[self.pos..]).map_err(|e| e.context(format_args!("at byte {}", self.pos)))?;
        self.pos += n;
        Ok(v)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(Error::proto(format!(
                "field at byte {} needs {n} bytes, {left} left",
                self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// The next field number and value, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(Error::proto(format!("bad field number {field}")));
        }
        let field = field as u32;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let n = self.varint()?;
                Value::Len(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            wt => return Err(Error::proto(format!("field {field}: unsupported wire type {wt}"))),
        };
        Ok(Some((field, value)))
    }
}

fn want_varint(field: u32, v: Value<'_>) -> Result<u64> {
    match v {
        Value::Varint(x) => Ok(x),
        other => Err(Error::proto(format!(
            "field {field}: expected a varint, got wire type {:?}",
            other.wire_type()
        ))),
    }
}

fn as_u32(field: u32, v: Value<'_>) -> Result<u32> {
    let x = want_varint(field, v)?;
    u32::try_from(x).map_err(|_| Error::proto(format!("field {field}: uint32 value {x:#x} overflows")))
}

fn as_u64(field: u32, v: Value<'_>) -> Result<u64> {
    want_varint(field, v)
}

fn as_bool(field: u32, v: Value<'_>) -> Result<bool> {
    Ok(want_varint(field, v)? != 0)
}

fn as_i32(field: u32, v: Value<'_>) -> Result<i32> {
    let x = want_varint(field, v)? as i64;
    i32::try_from(x).map_err(|_| Error::proto(format!("field {field}: int32 value {x} overflows")))
}

fn as_sint64(field: u32, v: Value<'_>) -> Result<i64> {
    let x = want_varint(field, v)?;
    Ok(((x >> 1) as i64) ^ -((x & 1) as i64))
}

fn as_bytes<'a>(field: u32, v: Value<'a>) -> Result<&'a [u8]> {
    match v {
        Value::Len(b) => Ok(b),
        other => Err(Error::proto(format!(
            "field {field}: expected length-delimited, got wire type {:?}",
            other.wire_type()
        ))),
    }
}

/// Read a `repeated uint64` field value, packed or not, appending to `out`.
fn push_u64s(field: u32, v: Value<'_>, out: &mut Vec<u64>) -> Result<()> {
    match v {
        Value::Len(mut b) => {
            while !b.is_empty() {
                let (x, n) = decode_varint(b).map_err(|e| e.context(format_args!("field {field}")))?;
                out.push(x);
                b = &b[n..];
            }
            Ok(())
        }
        other => {
            out.push(as_u64(field, other)?);
            Ok(())
        }
    }
}

fn required<T>(v: Option<T>, msg: &str, field: &str) -> Result<T> {
    v.ok_or_else(|| Error::proto(format!("{msg}: required field {field} missing")))
}

/// Encoding helpers.
pub struct FieldWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> FieldWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> FieldWriter<'a> {
        FieldWriter { out }
    }

    fn key(&mut self, field: u32, wt: WireType) {
        encode_varint((u64::from(field) << 3) | wt as u64, self.out);
    }

    pub fn varint(&mut self, field: u32, v: u64) {
        self.key(field, WireType::Varint);
        encode_varint(v, self.out);
    }

    pub fn int32(&mut self, field: u32, v: i32) {
        // Negative int32 values are sign-extended to 64 bits on the wire.
        self.varint(field, v as i64 as u64);
    }

    pub fn sint64(&mut self, field: u32, v: i64) {
        self.varint(field, ((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn bool(&mut self, field: u32, v: bool) {
        self.varint(field, u64::from(v));
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, WireType::Len);
        encode_varint(b.len() as u64, self.out);
        self.out.extend_from_slice(b);
    }

    pub fn message<M: Message>(&mut self, field: u32, m: &M) {
        let mut tmp = Vec::new();
        m.encode(&mut tmp);
        self.bytes(field, &tmp);
    }
}

/// A message of the CRIU images.
pub trait Message: Sized {
    /// Parse the message from its bytes (without the image's size prefix).
    fn decode(buf: &[u8]) -> Result<Self>;
    /// Append the message's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// `pagemap_head`: the first entry of a pagemap image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagemapHead {
    /// Field 1 (`uint32`, required): the `N` of the `pages-N.img` file.
    pub pages_id: u32,
}

impl Message for PagemapHead {
    fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(buf);
        let mut pages_id = None;
        while let Some((f, v)) = r.next_field()? {
            if f == 1 {
                pages_id = Some(as_u32(f, v)?);
            }
        }
        Ok(PagemapHead {
            pages_id: required(pages_id, "pagemap_head", "pages_id")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        FieldWriter::new(out).varint(1, u64::from(self.pages_id));
    }
}

/// `pagemap_entry`, field for field as it is on the wire.
///
/// CRIU before 4.0 stores the page count in field 2 (`uint32`); later versions add field 5
/// (`uint64`) and read field 2 only when field 5 is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagemapEntryMsg {
    /// Field 1 (`uint64`, required): first page's address.
    pub vaddr: u64,
    /// Field 2 (`uint32`, required): page count of old images.
    pub compat_nr_pages: u32,
    /// Field 3 (`bool`, optional, deprecated): pages are in the parent snapshot.
    pub in_parent: Option<bool>,
    /// Field 4 (`uint32`, optional): `PE_*` flags.
    pub flags: Option<u32>,
    /// Field 5 (`uint64`, optional): page count.
    pub nr_pages: Option<u64>,
}

impl Message for PagemapEntryMsg {
    fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(buf);
        let (mut vaddr, mut compat) = (None, None);
        let mut e = PagemapEntryMsg::default();
        while let Some((f, v)) = r.next_field()? {
            match f {
                1 => vaddr = Some(as_u64(f, v)?),
                2 => compat = Some(as_u32(f, v)?),
                3 => e.in_parent = Some(as_bool(f, v)?),
                4 => e.flags = Some(as_u32(f, v)?),
                5 => e.nr_pages = Some(as_u64(f, v)?),
                _ => {}
            }
        }
        e.vaddr = required(vaddr, "pagemap_entry", "vaddr")?;
        e.compat_nr_pages = required(compat, "pagemap_entry", "nr_pages (field 2)")?;
        Ok(e)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter::new(out);
        w.varint(1, self.vaddr);
        w.varint(2, u64::from(self.compat_nr_pages));
        if let Some(p) = self.in_parent {
            w.bool(3, p);
        }
        if let Some(fl) = self.flags {
            w.varint(4, u64::from(fl));
        }
        if let Some(n) = self.nr_pages {
            w.varint(5, n);
        }
    }
}

/// `vma_entry`: one mapping of the dumped task (inside `mm_entry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmaEntry {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub shmid: u64,
    pub prot: u32,
    pub flags: u32,
    /// CRIU's `VMA_*` status bits.
    pub status: u32,
    pub fd: i64,
    pub madv: Option<u64>,
    pub fdflags: Option<u32>,
}

impl Message for VmaEntry {
    fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(buf);
        let mut req: [Option<u64>; 7] = [None; 7];
        let mut fd = None;
        let mut e = VmaEntry::default();
        while let Some((f, v)) = r.next_field()? {
            match f {
                1..=4 => req[f as usize - 1] = Some(as_u64(f, v)?),
                5..=7 => req[f as usize - 1] = Some(u64::from(as_u32(f, v)?)),
                8 => fd = Some(as_sint64(f, v)?),
                9 => e.madv = Some(as_u64(f, v)?),
                10 => e.fdflags = Some(as_u32(f, v)?),
                _ => {}
            }
        }
        const NAMES: [&str; 7] = ["start", "end", "pgoff", "shmid", "prot", "flags", "status"];
        let mut vals = [0u64; 7];
        for i in 0..7 {
            vals[i] = required(req[i], "vma_entry", NAMES[i])?;
        }
        e.start = vals[0];
        e.end = vals[1];
        e.pgoff = vals[2];
        e.shmid = vals[3];
        e.prot = vals[4] as u32;
        e.flags = vals[5] as u32;
        e.status = vals[6] as u32;
        e.fd = required(fd, "vma_entry", "fd")?;
        Ok(e)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter::new(out);
        w.varint(1, self.start);
        w.varint(2, self.end);
        w.varint(3, self.pgoff);
        w.varint(4, self.shmid);
        w.varint(5, u64::from(self.prot));
        w.varint(6, u64::from(self.flags));
        w.varint(7, u64::from(self.status));
        w.sint64(8, self.fd);
        if let Some(m) = self.madv {
            w.varint(9, m);
        }
        if let Some(f) = self.fdflags {
            w.varint(10, u64::from(f));
        }
    }
}

/// `mm_entry`: the dumped task's memory layout (`mm-N.img`). Fields this crate does not
/// use (AIO rings) are skipped when decoding and not written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MmEntry {
    pub mm_start_code: u64,
    pub mm_end_code: u64,
    pub mm_start_data: u64,
    pub mm_end_data: u64,
    pub mm_start_stack: u64,
    pub mm_start_brk: u64,
    pub mm_brk: u64,
    pub mm_arg_start: u64,
    pub mm_arg_end: u64,
    pub mm_env_start: u64,
    pub mm_env_end: u64,
    pub exe_file_id: u32,
    pub mm_saved_auxv: Vec<u64>,
    pub vmas: Vec<VmaEntry>,
    pub dumpable: Option<i32>,
    pub thp_disabled: Option<bool>,
}

impl Message for MmEntry {
    fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(buf);
        let mut req: [Option<u64>; 12] = [None; 12];
        let mut m = MmEntry::default();
        while let Some((f, v)) = r.next_field()? {
            match f {
                1..=11 => req[f as usize - 1] = Some(as_u64(f, v)?),
                12 => req[11] = Some(u64::from(as_u32(f, v)?)),
                13 => push_u64s(f, v, &mut m.mm_saved_auxv)?,
                14 => {
                    let i = m.vmas.len();
                    m.vmas.push(
                        VmaEntry::decode(as_bytes(f, v)?).map_err(|e| e.context(format_args!("mm_entry.vmas[{i}]")))?,
                    )
                }
                15 => m.dumpable = Some(as_i32(f, v)?),
                17 => m.thp_disabled = Some(as_bool(f, v)?),
                _ => {}
            }
        }
        let mut vals = [0u64; 12];
        for (i, slot) in req.iter().enumerate() {
            vals[i] = required(*slot, "mm_entry", &format!("field {}", i + 1))?;
        }
        m.mm_start_code = vals[0];
        m.mm_end_code = vals[1];
        m.mm_start_data = vals[2];
        m.mm_end_data = vals[3];
        m.mm_start_stack = vals[4];
        m.mm_start_brk = vals[5];
        m.mm_brk = vals[6];
        m.mm_arg_start = vals[7];
        m.mm_arg_end = vals[8];
        m.mm_env_start = vals[9];
        m.mm_env_end = vals[10];
        m.exe_file_id = vals[11] as u32;
        Ok(m)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter::new(out);
        let scalars = [
            self.mm_start_code,
            self.mm_end_code,
            self.mm_start_data,
            self.mm_end_data,
            self.mm_start_stack,
            self.mm_start_brk,
            self.mm_brk,
            self.mm_arg_start,
            self.mm_arg_end,
            self.mm_env_start,
            self.mm_env_end,
        ];
        for (i, v) in scalars.iter().enumerate() {
            w.varint(i as u32 + 1, *v);
        }
        w.varint(12, u64::from(self.exe_file_id));
        for a in &self.mm_saved_auxv {
            w.varint(13, *a);
        }
        for v in &self.vmas {
            w.message(14, v);
        }
        if let Some(d) = self.dumpable {
            w.int32(15, d);
        }
        if let Some(t) = self.thp_disabled {
            w.bool(17, t);
        }
    }
}

/// `pstree_entry`: one task of the dumped tree (`pstree.img`), its thread-group leader's
/// PID, its parent's, its group and session, and its threads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PstreeEntry {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub threads: Vec<u32>,
}

impl Message for PstreeEntry {
    fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(buf);
        let mut req: [Option<u32>; 4] = [None; 4];
        let mut threads = Vec::new();
        while let Some((f, v)) = r.next_field()? {
            match f {
                1..=4 => req[f as usize - 1] = Some(as_u32(f, v)?),
                5 => {
                    let mut all = Vec::new();
                    push_u64s(f, v, &mut all)?;
                    for t in all {
                        threads.push(
                            u32::try_from(t)
                                .map_err(|_| Error::proto(format!("field 5: uint32 value {t:#x} overflows")))?,
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(PstreeEntry {
            pid: required(req[0], "pstree_entry", "pid")?,
            ppid: required(req[1], "pstree_entry", "ppid")?,
            pgid: required(req[2], "pstree_entry", "pgid")?,
            sid: required(req[3], "pstree_entry", "sid")?,
            threads,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = FieldWriter::new(out);
        w.varint(1, u64::from(self.pid));
        w.varint(2, u64::from(self.ppid));
        w.varint(3, u64::from(self.pgid));
        w.varint(4, u64::from(self.sid));
        for t in &self.threads {
            w.varint(5, u64::from(*t));
        }
    }
}

/// The field numbers of `buf` (one message) that are not in `known`: a reader that must
/// not guess at what it does not understand (a newer format) refuses on any.
pub fn unknown_fields(buf: &[u8], known: &[u32]) -> Result<Vec<u32>> {
    let mut r = FieldReader::new(buf);
    let mut out = Vec::new();
    while let Some((f, _)) = r.next_field()? {
        if !known.contains(&f) && !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_limits() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut b = Vec::new();
            encode_varint(v, &mut b);
            assert_eq!(decode_varint(&b).unwrap(), (v, b.len()));
        }
        assert!(decode_varint(&[]).is_err());
        assert!(decode_varint(&[0x80]).is_err());
        assert!(decode_varint(&[0xff; 9]).is_err());
        // Ten bytes whose last carries more than the 64th bit.
        let mut b = vec![0xff; 9];
        b.push(0x02);
        assert!(decode_varint(&b).is_err());
        assert!(decode_varint(&[0xff; 11]).is_err());
    }

    #[test]
    fn pagemap_entry_encoding_is_canonical() {
        let e = PagemapEntryMsg {
            vaddr: 0x1000,
            compat_nr_pages: 2,
            in_parent: None,
            flags: Some(4),
            nr_pages: Some(2),
        };
        assert_eq!(e.to_bytes(), vec![0x08, 0x80, 0x20, 0x10, 0x02, 0x20, 0x04, 0x28, 0x02]);
        assert_eq!(PagemapEntryMsg::decode(&e.to_bytes()).unwrap(), e);
    }

    #[test]
    fn malformed_messages_are_errors() {
        // Missing required field.
        assert!(PagemapHead::decode(&[]).is_err());
        assert!(PagemapEntryMsg::decode(&[0x08, 0x01]).is_err());
        // Wrong wire type for a known field.
        assert!(PagemapHead::decode(&[0x0d, 1, 2, 3, 4]).is_err());
        // Length past the end.
        assert!(PagemapHead::decode(&[0x08, 0x01, 0x12, 0x05, 0x00]).is_err());
        // uint32 overflow.
        assert!(PagemapHead::decode(&[0x08, 0xff, 0xff, 0xff, 0xff, 0x10]).is_err());
        // Field number zero, group wire types.
        assert!(PagemapHead::decode(&[0x00, 0x01]).is_err());
        assert!(PagemapHead::decode(&[0x0b]).is_err());
        // Unknown fields of every wire type are skipped.
        let mut b = vec![0x08, 0x07];
        b.extend_from_slice(&[
            0x18, 0x05, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a, 0x01, 0xaa, 0x35, 1, 2, 3, 4,
        ]);
        assert_eq!(PagemapHead::decode(&b).unwrap().pages_id, 7);
    }

    #[test]
    fn pstree_entry_round_trip_and_limits() {
        let e = PstreeEntry {
            pid: 7,
            ppid: 1,
            pgid: 7,
            sid: 1,
            threads: vec![7, 8, 9],
        };
        assert_eq!(PstreeEntry::decode(&e.to_bytes()).unwrap(), e);
        // Packed threads decode too.
        let packed = [0x08, 7, 0x10, 1, 0x18, 7, 0x20, 1, 0x2a, 2, 7, 8];
        assert_eq!(PstreeEntry::decode(&packed).unwrap().threads, vec![7, 8]);
        // A missing pid, a thread past 32 bits.
        assert!(PstreeEntry::decode(&[0x10, 1, 0x18, 1, 0x20, 1]).is_err());
        assert!(
            PstreeEntry::decode(&[0x08, 1, 0x10, 1, 0x18, 1, 0x20, 1, 0x28, 0x80, 0x80, 0x80, 0x80, 0x10]).is_err()
        );
        assert_eq!(unknown_fields(&[0x08, 1, 0x30, 1], &[1]).unwrap(), vec![6]);
    }

    #[test]
    fn mm_entry_round_trip() {
        let m = MmEntry {
            mm_start_code: 0x400000,
            exe_file_id: 3,
            mm_saved_auxv: vec![1, 2, 3],
            vmas: vec![VmaEntry {
                start: 0x1000,
                end: 0x3000,
                fd: -1,
                prot: 3,
                madv: Some(1),
                ..Default::default()
            }],
            dumpable: Some(-1),
            ..Default::default()
        };
        assert_eq!(MmEntry::decode(&m.to_bytes()).unwrap(), m);
    }
}
