//! The ELF view: parse, then walk every relocation section.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elf) = compel_gen::elf::Elf::parse(data) {
        for s in elf.sections.iter().filter(|s| s.is_reloc()) {
            for r in elf.relocs(s) {
                let _ = elf.symbols.get(r.sym);
            }
        }
    }
});
