//! Fix hints: what to change in the blob's source or build when the audit finds a
//! problem.

use crate::relocs;

/// Hint for an undefined symbol that a relocation references.
pub fn undefined_symbol(name: &str) -> String {
    match name {
        "syscall" => "use the restorer's typed wrapper for that syscall (pie_sys) instead of libc's syscall()".into(),
        "memcpy" | "memset" | "memmove" | "memcmp" | "bcmp" => format!(
            "the compiler emitted a call to `{name}`: provide mem builtins (the restorer's `blob` feature) or link compel's std.lib.a"
        ),
        "__stack_chk_fail" | "__stack_chk_guard" => {
            "build without stack protector (-fno-stack-protector / -Z stack-protector=none)".into()
        }
        "__tls_get_addr" => "no thread-locals in a blob: there is no TLS block in the restorer's address space".into(),
        _ if is_panic_machinery(name) => {
            "formatting/panic machinery pulled in: build with panic=abort and a #[panic_handler] that does not format (no core::fmt in a blob)".into()
        }
        _ if name.starts_with("sys_") => format!(
            "`{name}` is one of compel's syscall stubs: link compel's std.lib.a or use the restorer's typed wrapper (pie_sys)"
        ),
        _ => format!(
            "no libc in a blob: `{name}` must be defined inside the blob (or the call removed); nothing resolves it at run time"
        ),
    }
}

/// Whether a (possibly mangled) name belongs to Rust's formatting, panicking or
/// unwinding machinery.
pub fn is_panic_machinery(name: &str) -> bool {
    name.contains("core..fmt")
        || name.contains("4core3fmt")
        || name.contains("panic")
        || name == "rust_begin_unwind"
        || name == "rust_eh_personality"
        || name.starts_with("_Unwind_")
}

/// Hint for thread-local storage, by section or by relocation type.
pub const THREAD_LOCALS: &str = "no thread-locals in a blob: drop #[thread_local]/__thread variables";

/// Hint for a relocation type compel does not support.
pub fn relocation(r_type: u32) -> String {
    use object::elf::*;
    if relocs::is_tls(r_type) {
        return THREAD_LOCALS.into();
    }
    match r_type {
        R_X86_64_GOTOFF64 | R_X86_64_GOTPC32 | R_X86_64_GOT64 | R_X86_64_GOTPCREL64 | R_X86_64_GOTPC64
        | R_X86_64_GOTPLT64 | R_X86_64_PLTOFF64 | R_X86_64_PC64 => {
            "large/medium code model addressing: build with the small code model (-mcmodel=small, -C code-model=small) and -fpie / -C relocation-model=pie".into()
        }
        _ => {
            let supported: Vec<&str> = relocs::supported_names()
                .map(|n| n.strip_prefix("R_X86_64_").unwrap_or(n))
                .collect();
            format!(
                "compel handles only R_X86_64_{}; build PIE code with the small code model",
                supported.join("/")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_by_name() {
        assert!(undefined_symbol("syscall").contains("pie_sys"));
        for m in ["memcpy", "memset", "memmove", "memcmp", "bcmp"] {
            let h = undefined_symbol(m);
            assert!(h.contains("mem builtins") && h.contains("std.lib.a"), "{m}: {h}");
        }
        assert!(undefined_symbol("__stack_chk_fail").contains("-fno-stack-protector"));
        assert!(undefined_symbol("__stack_chk_guard").contains("-fno-stack-protector"));
        assert!(undefined_symbol("__tls_get_addr").contains("thread-locals"));
        for p in [
            "_ZN4core3fmt9Formatter3pad17h0123456789abcdefE",
            "_ZN4core9panicking5panic17h0123456789abcdefE",
            "_RNvNtCs1234_4core3fmt5write",
            "rust_begin_unwind",
            "rust_eh_personality",
            "_Unwind_Resume",
            "core..fmt..Display",
        ] {
            assert!(undefined_symbol(p).contains("panic=abort"), "{p}");
        }
        assert!(undefined_symbol("sys_write").contains("std.lib.a"));
        assert!(undefined_symbol("printf").contains("no libc"));
    }

    #[test]
    fn relocation_hints() {
        assert!(relocation(23).contains("thread-locals"));
        assert!(relocation(25).contains("code model"));
        assert!(relocation(24).contains("code model"));
        assert!(relocation(16).contains("thread-locals"));
        assert!(relocation(14).contains("compel handles only"));
        assert_eq!(
            relocation(14),
            "compel handles only R_X86_64_32/32S/64/PC32/PLT32/GOTPCREL/GOTPCRELX/REX_GOTPCRELX; \
             build PIE code with the small code model"
        );
    }
}
