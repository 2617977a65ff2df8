//! Version-dependent parts of the ABI, decided from what the bindings contain rather
//! than from a version string (distributions backport, and trees carry patches).

/// What a cfg stands for in the bindings.
enum Has {
    /// `struct .field` exists.
    Field(&'static str, &'static str),
    /// The constant exists.
    Const(&'static str),
}

/// Every cfg this script may set.
const CFGS: &[(&str, Has)] = &[
    // CRIU 4.2: the kernel restores POSIX timer IDs itself (PR_TIMER_CREATE_RESTORE_IDS).
    (
        "criu_has_posix_timer_cr_ids",
        Has::Field("task_restore_args", "posix_timer_cr_ids"),
    ),
    // x86 CET shadow stacks restored by the restorer (CRIU 4.0 and later).
    ("criu_has_shstk", Has::Field("thread_restore_args", "shstk")),
    // CRIU 4.2: guard-page VMAs (MADV_GUARD_INSTALL) and uprobes VMAs.
    ("criu_has_vma_area_guard", Has::Const("VMA_AREA_GUARD")),
    ("criu_has_vma_area_uprobes", Has::Const("VMA_AREA_UPROBES")),
];

pub fn declare_cfgs() {
    for (cfg, _) in CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
}

/// The cfgs the bindings call for.
pub fn present(bindings: &str) -> Vec<&'static str> {
    CFGS.iter()
        .filter(|(_, has)| match has {
            Has::Field(s, f) => struct_fields(bindings, s).iter().any(|x| x == f),
            Has::Const(c) => bindings.lines().any(|l| l.starts_with(&format!("pub const {c}:"))),
        })
        .map(|(cfg, _)| *cfg)
        .collect()
}

/// The field names of `pub struct name { ... }` in bindgen's (prettyplease) output.
fn struct_fields(bindings: &str, name: &str) -> Vec<String> {
    let head = format!("pub struct {name} {{");
    let mut lines = bindings.lines().skip_while(|l| l.trim() != head);
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| l.trim() != "}")
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub ")?
                .split_once(':')
                .map(|(n, _)| n.trim().to_string())
        })
        .collect()
}
