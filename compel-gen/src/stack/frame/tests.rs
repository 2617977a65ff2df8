//! Frames and call sites of hand-assembled byte sequences, as LLVM emits them.
//!
//! Not under Miri: iced-x86's decoder retags a handler-table entry as a larger type,
//! which Stacked Borrows rejects (Tree Borrows accepts it). They run natively, and the
//! fuzz targets reach the decoder through the audit.

use super::*;

const SECTION: usize = 1;
const START: u64 = 0x100;

fn at(offset: u64) -> Target {
    Target::At(Loc {
        section: SECTION,
        offset,
    })
}

/// Measure `bytes` at `START` with relocations `fixups`: (field offset from START, fixup).
fn run_with(bytes: &[u8], fixups: &[(u64, Fixup)], interior: bool) -> Facts {
    let code = FnCode {
        section: SECTION,
        start: START,
        bytes,
        has_interior_refs: interior,
    };
    let table: Vec<(u64, Fixup)> = fixups.iter().map(|&(o, f)| (START + o, f)).collect();
    measure(&code, &|field, _next| {
        table.iter().find(|(o, _)| *o == field).map(|&(_, f)| f)
    })
}

fn run(bytes: &[u8], fixups: &[(u64, Fixup)]) -> Facts {
    run_with(bytes, fixups, false)
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn pushes_and_sub_rsp_then_a_relocated_call() {
    let code = [
        0x53, // push rbx
        0x48, 0x83, 0xec, 0x20, // sub rsp, 0x20
        0xe8, 0, 0, 0, 0, // call callee (PLT32 at +6)
        0x48, 0x83, 0xc4, 0x20, // add rsp, 0x20
        0x5b, // pop rbx
        0xc3, // ret
    ];
    let f = run(&code, &[(6, Fixup::Place(at(0x1000)))]);
    assert_eq!(f.frame, 0x28);
    assert_eq!(
        f.sites,
        vec![Site {
            offset: START + 5,
            depth: 0x28,
            target: at(0x1000),
            tail: false
        }]
    );
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn unrolled_stack_probes() {
    let mut code = vec![0x55]; // push rbp
    for _ in 0..2 {
        code.extend([0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00]); // sub rsp, 0x1000
        code.extend([0x48, 0xc7, 0x04, 0x24, 0, 0, 0, 0]); // mov qword [rsp], 0
    }
    code.extend([0x48, 0x81, 0xec, 0x98, 0x02, 0x00, 0x00]); // sub rsp, 0x298
    code.push(0xc3);
    let f = run(&code, &[]);
    assert_eq!(f.frame, 8 + 0x2298);
    assert!(f.problems.is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn a_probe_loop_ends_at_the_bound_register() {
    let code = [
        0x49, 0x89, 0xe3, // mov r11, rsp
        0x49, 0x81, 0xeb, 0x00, 0x00, 0x01, 0x00, // sub r11, 0x10000
        0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00, // L: sub rsp, 0x1000
        0x48, 0xc7, 0x04, 0x24, 0, 0, 0, 0, // mov qword [rsp], 0
        0x4c, 0x39, 0xdc, // cmp rsp, r11
        0x75, 0xec, // jne L
        0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00, // sub rsp, 0x100
        0xc3,
    ];
    let f = run(&code, &[]);
    assert_eq!(f.frame, 0x10100);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn shrink_wrapped_prologue_and_a_frame_pointer_epilogue() {
    let code = [
        0x85, 0xff, // test edi, edi
        0x74, 0x00, // je ret (set below)
        0x55, // push rbp
        0x48, 0x89, 0xe5, // mov rbp, rsp
        0x48, 0x83, 0xec, 0x40, // sub rsp, 0x40
        0x48, 0x83, 0xe4, 0xe0, // and rsp, -32
        0x48, 0x89, 0xec, // mov rsp, rbp
        0x5d, // pop rbp
        0xc3, // ret
    ];
    // The je at 2 skips to the final ret.
    let mut code = code.to_vec();
    code[3] = (code.len() as u8 - 1) - 4;
    let f = run(&code, &[]);
    assert_eq!(f.frame, 8 + 0x40 + 32);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn tail_jumps_and_calls_through_the_got() {
    let code = [
        0x4c, 0x8b, 0x25, 0, 0, 0, 0, // mov r12, [rip + memcpy@GOTPCREL]
        0x41, 0xff, 0xd4, // call r12
        0xff, 0x15, 0, 0, 0, 0, // call [rip + memset@GOTPCREL]
        0xe9, 0, 0, 0, 0, // jmp next (PLT32 at +17)
    ];
    let f = run(
        &code,
        &[
            (3, Fixup::Slot(Target::External(7))),
            (12, Fixup::Slot(at(0x2000))),
            (17, Fixup::Place(at(0x3000))),
        ],
    );
    let sites: Vec<(Target, bool)> = f.sites.iter().map(|s| (s.target, s.tail)).collect();
    assert_eq!(
        sites,
        vec![(Target::External(7), false), (at(0x2000), false), (at(0x3000), true)]
    );
    assert_eq!(f.loads, vec![Target::External(7)]);
    assert_eq!(f.frame, 0);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn a_call_through_a_register_survives_calls_only_in_callee_saved_ones() {
    let code = [
        0x48, 0x8b, 0x05, 0, 0, 0, 0, // mov rax, [rip + f@GOTPCREL]
        0xe8, 0, 0, 0, 0, // call g (clobbers rax)
        0xff, 0xd0, // call rax: no longer known
        0xc3,
    ];
    let f = run(&code, &[(3, Fixup::Slot(at(0x10))), (8, Fixup::Place(at(0x20)))]);
    assert_eq!(f.sites.len(), 1);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(
        f.indirect,
        vec![Indirect {
            offset: START + 12,
            depth: 0,
            tail: false
        }]
    );
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn dynamic_allocation_and_a_push_loop_are_problems() {
    let f = run(&[0x48, 0x29, 0xc4, 0xc3], &[]); // sub rsp, rax; ret
    assert!(f.problems[0].what.contains("dynamic"), "{:?}", f.problems);
    let f = run(&[0x50, 0xeb, 0xfd], &[]); // L: push rax; jmp L
    assert!(f.problems[0].what.contains("loop"), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn indirect_jumps_are_tables_only_where_data_points_into_the_body_else_tail_calls() {
    let code = [
        0x48, 0x83, 0xec, 0x18, // sub rsp, 0x18
        0xff, 0xe0, // jmp rax (a table jump)
        0x48, 0x83, 0xec, 0x08, // case: sub rsp, 8 (from the table's depth)
        0x48, 0x83, 0xc4, 0x20, // add rsp, 0x20
        0xc3,
    ];
    let f = run_with(&code, &[], true);
    assert_eq!(f.frame, 0x20);
    assert!(f.problems.is_empty() && f.indirect.is_empty(), "{f:?}");
    // Without a table, a tail call through a pointer.
    let f = run(&code, &[]);
    assert_eq!(
        f.indirect,
        vec![Indirect {
            offset: START + 4,
            depth: 0x18,
            tail: true
        }]
    );
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn the_child_side_of_clone3_starts_a_thread() {
    let code = [
        0xb8, 0xb3, 0x01, 0x00, 0x00, // mov eax, 435 (clone3)
        0x0f, 0x05, // syscall
        0x48, 0x85, 0xc0, // test rax, rax
        0x75, 0x05, // jnz parent
        0x41, 0xff, 0xd0, // call r8 (child: the entry)
        0x0f, 0x0b, // ud2
        0xc3, // parent: ret
    ];
    let f = run(&code, &[]);
    assert_eq!(f.thread_starts, vec![START + 12]);
    assert!(f.sites.is_empty());
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert!(f.indirect.is_empty());
    // Any other syscall: the indirect call is the caller's own, and unknown.
    let mut other = code;
    other[1] = 0x27; // 0x127: preadv
    let f = run(&other, &[]);
    assert!(f.thread_starts.is_empty());
    assert_eq!(f.indirect.len(), 1);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn bad_bytes_are_problems_not_panics() {
    assert!(!run(&[], &[]).problems.is_empty());
    assert!(!run(&[0x0f], &[]).problems.is_empty());
    // Runs off the end.
    assert!(!run(&[0x90, 0x90], &[]).problems.is_empty());
    // A jump into the middle of an instruction.
    let f = run(&[0xeb, 0x01, 0x48, 0x83, 0xec, 0x20, 0xc3], &[]);
    assert!(f.problems.iter().any(|p| p.what.contains("middle")), "{:?}", f.problems);
    // Every byte value at the start, and a sweep of short sequences: no panic.
    for b in 0..=255u8 {
        let _ = run(&[b, 0xc3], &[]);
        let _ = run(&[0x48, b, 0xe4, 0xff, 0xff, 0xff, 0xff, 0xc3], &[]);
    }
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn a_sigreturn_on_a_frame_elsewhere_ends_the_path() {
    let code = [
        0x50, // push rax
        0x48, 0x89, 0xfc, // mov rsp, rdi
        0xb8, 0x0f, 0x00, 0x00, 0x00, // mov eax, 15
        0x0f, 0x05, // syscall (rt_sigreturn)
        0x0f, 0x0b, // ud2
    ];
    let f = run(&code, &[]);
    assert_eq!(f.frame, 8);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    // Going on with a call on that stack pointer is a problem.
    let code = [
        0x48, 0x89, 0xfc, // mov rsp, rdi
        0xe8, 0, 0, 0, 0, // call
        0xc3,
    ];
    let f = run(&code, &[(4, Fixup::Place(at(0x10)))]);
    assert!(f.problems[0].what.contains("not known"), "{:?}", f.problems);
}

#[test]
#[cfg_attr(miri, ignore = "iced-x86 trips Stacked Borrows")]
fn a_call_that_ends_the_function_does_not_return() {
    let code = [
        0x48, 0x83, 0xec, 0x08, // sub rsp, 8
        0xe8, 0, 0, 0, 0, // call panic (the last instruction)
    ];
    let f = run(&code, &[(5, Fixup::Place(at(0x10)))]);
    assert_eq!(f.frame, 8);
    assert_eq!(f.sites.len(), 1);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}
