//! The engine's own C ABI against `include/pie_restore.h`: a C program that includes the
//! header prints the size, alignment and every field's offset and size of each struct it
//! declares, and the values of its constants; this test compares them with the Rust
//! definitions (`size_of`, `offset_of!`). The compile-time assertions beside those
//! definitions pin the same numbers, so a change must move both sides and the header.

use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;

use c_probe::CProgram;

use page_engine::abi::{Options, Outcome, Strategy, FLAG_HUGEPAGES, FLAG_HUGE_COLLAPSE, FLAG_POPULATE, OPTIONS_V1};
use page_engine::probe::Features;

/// The size of the field that `get` borrows.
fn size_of_field<T, F>(_get: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// One struct: its C name, `(size, align)` and each field as `(name, offset, size)`.
struct Layout {
    c: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(&'static str, usize, usize)>,
}

macro_rules! layout {
    ($c:literal => $t:ty { $($f:ident),* $(,)? }) => {
        Layout {
            c: $c,
            size: size_of::<$t>(),
            align: align_of::<$t>(),
            fields: vec![$((stringify!($f), offset_of!($t, $f), size_of_field(|s: &$t| &s.$f))),*],
        }
    };
}

/// Every struct the header declares, with every field it has there.
fn layouts() -> Vec<Layout> {
    vec![
        layout!("pie_restore_opts" => Options {
            version, size, strategy, workers, prefetch_window, dedup_chunk, max_pid, flags,
        }),
        layout!("pie_restore_result" => Outcome { record, offset, strategy, workers, bytes }),
        layout!("pie_restore_features" => Features {
            cachestat, io_uring, io_uring_readv, populate_write, clone3, clone3_set_tid, cpus,
        }),
    ]
}

/// The header's constants, by C name, with the Rust value.
fn constants() -> Vec<(&'static str, i64)> {
    vec![
        ("PIE_RESTORE_OPTS_V1", OPTIONS_V1 as i64),
        ("PIE_RESTORE_POPULATE", FLAG_POPULATE as i64),
        ("PIE_RESTORE_HUGEPAGES", FLAG_HUGEPAGES as i64),
        ("PIE_RESTORE_HUGE_COLLAPSE", FLAG_HUGE_COLLAPSE as i64),
        ("PIE_RESTORE_AUTO", Strategy::Auto as i64),
        ("PIE_RESTORE_SERIAL", Strategy::Serial as i64),
        ("PIE_RESTORE_PREFETCH", Strategy::Prefetch as i64),
        ("PIE_RESTORE_PARALLEL", Strategy::Parallel as i64),
        ("PIE_RESTORE_IO_URING", Strategy::IoUring as i64),
        ("PIE_RESTORE_DIRECT", Strategy::Direct as i64),
        ("PIE_RESTORE_AIO", Strategy::Aio as i64),
        ("PIE_RESTORE_AIO_DIRECT", Strategy::AioDirect as i64),
    ]
}

/// Build and run the C program; returns its output, one `KEY value` a line.
fn c_output(layouts: &[Layout], constants: &[(&str, i64)]) -> String {
    let mut src =
        String::from("#include <stddef.h>\n#include <stdio.h>\n#include \"pie_restore.h\"\nint main(void)\n{\n");
    for l in layouts {
        let s = format!("struct {}", l.c);
        writeln!(src, "    printf(\"{c} size %zu\\n\", sizeof({s}));", c = l.c).unwrap();
        writeln!(src, "    printf(\"{c} align %zu\\n\", _Alignof({s}));", c = l.c).unwrap();
        for (f, _, _) in &l.fields {
            writeln!(
                src,
                "    printf(\"{c}.{f} offset %zu\\n\", offsetof({s}, {f}));",
                c = l.c
            )
            .unwrap();
            writeln!(
                src,
                "    printf(\"{c}.{f} size %zu\\n\", sizeof((({s} *)0)->{f}));",
                c = l.c
            )
            .unwrap();
        }
    }
    for (name, _) in constants {
        writeln!(src, "    printf(\"{name} %lld\\n\", (long long)({name}));").unwrap();
    }
    src.push_str("    return 0;\n}\n");

    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include");
    CProgram::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_abi"), "c_abi")
        .args(["-std=c11", "-Wall", "-Werror"])
        .include(include)
        .run(&src)
}

#[test]
fn engine_structs_and_constants_match_include_pie_restore_h() {
    let (layouts, constants) = (layouts(), constants());
    let out = c_output(&layouts, &constants);
    let values = c_probe::values(&out);
    let c = |key: &str| -> i64 {
        let v = values.get(key).unwrap_or_else(|| panic!("no line for {key}"));
        v.parse().unwrap()
    };
    let mut wrong = Vec::new();
    let mut check = |key: String, rust: i64| {
        let cv = c(&key);
        if cv != rust {
            wrong.push(format!("{key}: Rust {rust} C {cv}"));
        }
    };
    for l in &layouts {
        check(format!("{} size", l.c), l.size as i64);
        check(format!("{} align", l.c), l.align as i64);
        for &(f, off, size) in &l.fields {
            check(format!("{}.{f} offset", l.c), off as i64);
            check(format!("{}.{f} size", l.c), size as i64);
        }
    }
    for &(name, v) in &constants {
        check(name.to_string(), v);
    }
    assert!(wrong.is_empty(), "differ from include/pie_restore.h: {wrong:#?}");
}
