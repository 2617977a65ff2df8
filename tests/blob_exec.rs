//! The blob loaded as CRIU loads it (copied, mremapped, relocated by Debian's libcompel)
//! and called: entries that make real syscalls, and the trap-mode head.

mod common;

use std::io::Write;

use common::{field, run_loader, stdout};

fn temp_file(name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::File::create(&p).unwrap().write_all(data).unwrap();
    p
}

#[test]
fn getpid_through_the_relocated_blob() {
    for cmd in ["getpid", "trap-getpid"] {
        let o = run_loader([cmd]);
        let out = stdout(&o);
        assert!(o.status.success(), "{cmd}: {out}{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(field(&out, "blob"), field(&out, "libc"), "{out}");
    }
}

#[test]
fn readahead_and_preadv_through_the_blob() {
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let f = temp_file("read-range", &data);
    // Whole file, an unaligned middle range, a range running past the end (short).
    for (cmd, off, len, want) in [
        ("read", 0u64, 300_000u64, 300_000i64),
        ("read", 4097, 123_457, 123_457),
        ("trap-read", 250_000, 100_000, 50_000),
    ] {
        let o = run_loader([
            cmd.to_string(),
            f.display().to_string(),
            off.to_string(),
            len.to_string(),
        ]);
        let out = stdout(&o);
        assert!(o.status.success(), "{cmd} {off} {len}: {out}");
        assert_eq!(field(&out, "ret").unwrap().parse::<i64>().unwrap(), want, "{out}");
        assert_eq!(field(&out, "match").as_deref(), Some("1"), "{out}");
    }
}

#[test]
fn errors_come_back_as_negative_errno() {
    let o = run_loader(["read-badfd"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(field(&stdout(&o), "ret").as_deref(), Some("-9"));
}

#[test]
fn relocations_were_applied_by_libcompel() {
    let o = run_loader(["info"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    // The blob reads its service slots through the GOT: without relocations the trap
    // test above could not pass; here the header's numbers are checked to be sane.
    let relocs: u32 = field(&out, "relocs").unwrap().parse().unwrap();
    assert!(relocs > 0, "{out}");
    let data_off: u64 = field(&out, "data_off").unwrap().parse().unwrap();
    assert_eq!(
        data_off % criu_image::magic::PAGE_SIZE,
        0,
        "data is page-aligned: {out}"
    );
}
