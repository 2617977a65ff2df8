//! One function's machine code: how far below its entry stack pointer it goes (its
//! frame), and where it calls or tail-jumps to others, at what depth.
//!
//! The function is decoded (iced-x86) and walked along its control flow with an abstract
//! state: the stack pointer's depth below the entry (return address excluded), and what
//! is known of each general register (a constant, an address in the object, or "the
//! stack pointer at depth d"). That is enough for what LLVM emits: `push`es and
//! `sub rsp, imm` in prologues, shrink-wrapped prologues on some paths only, inline stack
//! probes (unrolled `sub rsp, 0x1000; mov [rsp], 0`, or the loop that compares `rsp` with
//! a register set to the final depth), epilogues that restore `rsp` from `rbp`, calls
//! through a register loaded from the GOT (`mov r12, [rip+memcpy@GOTPCREL]; call r12`)
//! and the child side of a `clone`/`clone3` trampoline. Whatever it cannot bound is a
//! [`Problem`], never a guess: `rsp` set from an unknown value (alloca), a push inside a
//! loop, an indirect call it cannot resolve, undecodable bytes.
//!
//! Every read is of the function's own byte slice through the decoder; the walk visits
//! each instruction a bounded number of times, so malformed input costs linear time.

use std::collections::HashMap;

use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};

/// A place in the object: a section index and an offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub section: usize,
    pub offset: u64,
}

/// What a call or a register refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Code or data of this object.
    At(Loc),
    /// An undefined symbol (its index): the audit reports it on its own.
    External(usize),
}

/// What the object's relocation at a 4-byte field says the field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixup {
    /// PC-relative (PC32, PLT32): the instruction refers to this place itself.
    Place(Target),
    /// GOT-relative (GOTPCREL*): the instruction reads a slot holding this address.
    Slot(Target),
}

/// The function's code and how to read the relocations inside it.
pub struct FnCode<'a> {
    pub section: usize,
    /// Offset of `bytes` in the section.
    pub start: u64,
    pub bytes: &'a [u8],
    /// Whether anything outside the code refers into its body (jump tables do): an
    /// indirect jump is then taken for a table jump, else for an indirect tail call.
    pub has_interior_refs: bool,
}

/// A call or tail jump to another function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    /// Section offset of the instruction.
    pub offset: u64,
    /// Depth of the stack pointer at the instruction (the call then pushes 8 more).
    pub depth: u64,
    pub target: Target,
    pub tail: bool,
}

/// An indirect call or tail jump whose target the code does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indirect {
    pub offset: u64,
    pub depth: u64,
    pub tail: bool,
}

/// Something that keeps the frame from being bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offset: u64,
    pub what: String,
}

/// What [`measure`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The deepest the stack pointer goes below the entry, return address excluded.
    pub frame: u64,
    pub sites: Vec<Site>,
    /// Addresses the code loads into registers: functions among them are address-taken.
    pub loads: Vec<Target>,
    /// Indirect calls on the child side of a clone: a new thread's entry, on its stack.
    pub thread_starts: Vec<u64>,
    /// Indirect calls and tail jumps not resolved here. They may reach any function
    /// whose address the object's code or data takes.
    pub indirect: Vec<Indirect>,
    pub problems: Vec<Problem>,
}

/// `clone` and `clone3`: after them the child runs on the stack the call gave it.
const CLONE_SYSCALLS: [u64; 2] = [56, 435];
/// Times one instruction may be walked again with a changed state before the walk gives
/// up on it: states only lose information or deepen, so more means a loop that keeps
/// moving the stack pointer.
const MAX_VISITS: u8 = 8;
/// Deeper than any stack: past it the arithmetic is not trusted.
const MAX_DEPTH: u64 = 1 << 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Unknown,
    Const(u64),
    /// The stack pointer at this depth.
    Sp(u64),
    Addr(Target),
}

/// Where a `clone` syscall's result is in being tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloneStep {
    None,
    /// Right after the syscall: rax is 0 in the child.
    Returned,
    /// rax was just tested against 0: the next conditional jump splits child and parent.
    Tested,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    depth: u64,
    regs: [Val; 16],
    /// After `cmp rsp, reg` with reg = Sp(d): a probe loop ends at depth d.
    probe_end: Option<u64>,
    clone: CloneStep,
    /// On the child side of a clone: runs on another stack.
    child: bool,
    /// The stack pointer was set to a value not known here: only a sigreturn may follow.
    switched: bool,
}

impl State {
    fn entry() -> State {
        State {
            depth: 0,
            regs: [Val::Unknown; 16],
            probe_end: None,
            clone: CloneStep::None,
            child: false,
            switched: false,
        }
    }

    /// What holds on both paths into one instruction.
    fn merge(&self, other: &State) -> State {
        let mut regs = self.regs;
        for (r, o) in regs.iter_mut().zip(other.regs.iter()) {
            if r != o {
                *r = Val::Unknown;
            }
        }
        State {
            depth: self.depth.max(other.depth),
            regs,
            probe_end: if self.probe_end == other.probe_end {
                self.probe_end
            } else {
                None
            },
            clone: if self.clone == other.clone {
                self.clone
            } else {
                CloneStep::None
            },
            child: self.child && other.child,
            switched: self.switched || other.switched,
        }
    }
}

/// Index 0..16 of a general register (any width), in iced's order rax, rcx, ... r15.
fn gpr(r: Register) -> Option<usize> {
    let full = r.full_register();
    if !full.is_gpr64() {
        return None;
    }
    let i = (full as usize).checked_sub(Register::RAX as usize)?;
    (i < 16).then_some(i)
}

/// `rt_sigreturn`: leaves the restorer for the frame at the stack pointer.
const SYS_RT_SIGRETURN: u64 = 15;
const RAX: usize = 0;
const RSP: usize = 4;
const RBP: usize = 5;
/// Registers a call may change (System V): rax, rcx, rdx, rsi, rdi, r8-r11.
const CALLER_SAVED: [usize; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];

/// Measure the function in `code`; `fixup(field_offset, next_ip)` resolves the
/// relocation at a section offset, `next_ip` being the section offset of the next
/// instruction (what PC-relative fields count from).
pub fn measure(code: &FnCode<'_>, fixup: &dyn Fn(u64, u64) -> Option<Fixup>) -> Facts {
    let mut w = Walk::new(code, fixup);
    w.run();
    w.facts
}

struct Walk<'c, 'a> {
    code: &'c FnCode<'a>,
    fixup: &'c dyn Fn(u64, u64) -> Option<Fixup>,
    instrs: Vec<Instruction>,
    /// Section offset -> index into `instrs`.
    index: HashMap<u64, usize>,
    states: Vec<Option<State>>,
    visits: Vec<u8>,
    /// Deepest state at a table jump: what its (unknown) targets start from.
    table_depth: Option<u64>,
    facts: Facts,
    info: InstructionInfoFactory,
}

impl<'c, 'a> Walk<'c, 'a> {
    fn new(code: &'c FnCode<'a>, fixup: &'c dyn Fn(u64, u64) -> Option<Fixup>) -> Self {
        let mut decoder = Decoder::with_ip(64, code.bytes, code.start, DecoderOptions::NONE);
        let mut instrs = Vec::new();
        let mut index = HashMap::new();
        let mut facts = Facts::default();
        let mut instr = Instruction::default();
        while decoder.can_decode() {
            decoder.decode_out(&mut instr);
            if instr.code() == Code::INVALID {
                // Bytes past the last valid instruction (a truncated tail) end the list;
                // a path that reaches them is reported where it does.
                break;
            }
            index.insert(instr.ip(), instrs.len());
            instrs.push(instr);
        }
        if instrs.is_empty() {
            facts.problems.push(Problem {
                offset: code.start,
                what: "no instruction decodes at the function's start".into(),
            });
        }
        let n = instrs.len();
        Walk {
            code,
            fixup,
            instrs,
            index,
            states: vec![None; n],
            visits: vec![0; n],
            table_depth: None,
            facts,
            info: InstructionInfoFactory::new(),
        }
    }

    fn end(&self) -> u64 {
        self.code.start.saturating_add(self.code.bytes.len() as u64)
    }

    fn inside(&self, offset: u64) -> bool {
        offset >= self.code.start && offset < self.end()
    }

    fn problem(&mut self, offset: u64, what: impl Into<String>) {
        // One per place is enough to read; a loop could report the same one again.
        if !self.facts.problems.iter().any(|p| p.offset == offset) {
            self.facts.problems.push(Problem {
                offset,
                what: what.into(),
            });
        }
    }

    fn run(&mut self) {
        if self.instrs.is_empty() {
            return;
        }
        self.walk_from(0, State::entry());
        // Code only a jump table reaches: walked from the depth of the table jump. Code
        // nothing reaches (padding after a noreturn call) is left alone otherwise.
        if let Some(depth) = self.table_depth {
            for i in 0..self.instrs.len() {
                if self.states[i].is_none() {
                    let mut s = State::entry();
                    s.depth = depth;
                    self.walk_from(i, s);
                }
            }
        }
    }

    fn walk_from(&mut self, first: usize, state: State) {
        let mut work = vec![(first, state)];
        while let Some((i, incoming)) = work.pop() {
            let state = match &self.states[i] {
                None => incoming,
                Some(old) => {
                    let merged = old.merge(&incoming);
                    if &merged == old {
                        continue;
                    }
                    if self.visits[i] >= MAX_VISITS {
                        let at = self.instrs[i].ip();
                        self.problem(at, "the stack pointer keeps moving around a loop");
                        continue;
                    }
                    merged
                }
            };
            self.visits[i] = self.visits[i].saturating_add(1);
            self.states[i] = Some(state.clone());
            let instr = self.instrs[i];
            for (next_ip, s) in self.step(&instr, state) {
                if s.depth > MAX_DEPTH {
                    self.problem(instr.ip(), "the stack pointer goes deeper than any stack");
                    continue;
                }
                self.facts.frame = self.facts.frame.max(s.depth);
                match self.index.get(&next_ip) {
                    Some(&j) => work.push((j, s)),
                    None if self.inside(next_ip) => self.problem(next_ip, "a jump into the middle of an instruction"),
                    None => self.problem(instr.ip(), "control runs off the end of the function"),
                }
            }
        }
    }

    /// The instruction's effect: the successors inside the function and their states.
    fn step(&mut self, instr: &Instruction, mut s: State) -> Vec<(u64, State)> {
        let ip = instr.ip();
        let next = instr.next_ip();
        let probe_end = s.probe_end.take();
        let clone = std::mem::replace(&mut s.clone, CloneStep::None);
        let flow = instr.flow_control();

        if s.switched {
            // On a stack pointer set from elsewhere (a sigreturn frame): nothing of
            // this stack is used any more, and only the sigreturn may come.
            if instr.mnemonic() == Mnemonic::Syscall && s.regs[RAX] == Val::Const(SYS_RT_SIGRETURN) {
                return Vec::new();
            }
            if !matches!(flow, FlowControl::Next) || instr.is_stack_instruction() {
                self.problem(
                    ip,
                    "the stack pointer was set to a value not known here, and code goes on using it",
                );
                return Vec::new();
            }
            self.effect(instr, &mut s, clone);
            return vec![(next, s)];
        }

        match flow {
            FlowControl::Return | FlowControl::Exception => return Vec::new(),
            // iced counts `syscall` among calls: it is a plain instruction here.
            FlowControl::Call | FlowControl::IndirectCall if instr.mnemonic() != Mnemonic::Syscall => {
                if instr.is_call_far() || instr.is_call_far_indirect() {
                    self.problem(ip, "a far call");
                    return Vec::new();
                }
                self.call(instr, &s);
                if next >= self.end() {
                    // The function's last instruction: a call that does not return.
                    return Vec::new();
                }
                for r in CALLER_SAVED {
                    s.regs[r] = Val::Unknown;
                }
                return vec![(next, s)];
            }
            FlowControl::UnconditionalBranch | FlowControl::IndirectBranch => {
                return self.jump(instr, s);
            }
            FlowControl::ConditionalBranch => return self.branch(instr, s, probe_end, clone),
            _ => {}
        }

        if !self.effect(instr, &mut s, clone) {
            return Vec::new();
        }
        if flow == FlowControl::Interrupt && instr.mnemonic() == Mnemonic::Int3 {
            // A trap: nothing after it runs in a blob.
            return Vec::new();
        }
        vec![(next, s)]
    }

    /// A plain instruction's effect on the state; false where the path cannot go on.
    fn effect(&mut self, instr: &Instruction, s: &mut State, clone: CloneStep) -> bool {
        let ip = instr.ip();
        let m = instr.mnemonic();
        let op0 = (instr.op_count() > 0 && instr.op0_kind() == OpKind::Register).then(|| instr.op0_register());
        let op1 = (instr.op_count() > 1 && instr.op1_kind() == OpKind::Register).then(|| instr.op1_register());
        let dst = op0.and_then(gpr);
        let dst64 = op0.is_some_and(|r| r.is_gpr64());
        let imm1 = (instr.op_count() > 1 && is_immediate(instr.op1_kind())).then(|| instr.immediate(1) as i64);

        // What this instruction makes of its destination, computed before the writes are
        // forgotten below.
        let mut produced: Option<(usize, Val)> = None;
        let mut new_depth: Option<u64> = None;
        let mut rsp_handled = false;

        match (m, dst) {
            (
                Mnemonic::Push | Mnemonic::Pop | Mnemonic::Pushfq | Mnemonic::Popfq | Mnemonic::Pushf | Mnemonic::Popf,
                _,
            ) => {
                let inc = i64::from(instr.stack_pointer_increment());
                new_depth = Some(sub_depth(s.depth, inc));
                rsp_handled = true;
                if m == Mnemonic::Pop && dst == Some(RSP) {
                    self.problem(ip, "`pop rsp`: the stack pointer comes from memory");
                    return false;
                }
            }
            (Mnemonic::Leave, _) => {
                let Val::Sp(d) = s.regs[RBP] else {
                    self.problem(ip, "`leave` with rbp not known to point into the frame");
                    return false;
                };
                new_depth = Some(d.saturating_sub(8));
                rsp_handled = true;
            }
            (Mnemonic::Sub | Mnemonic::Add, Some(RSP)) if dst64 => {
                if let Some(v) = imm1 {
                    let v = if m == Mnemonic::Sub { v } else { v.wrapping_neg() };
                    new_depth = Some(add_depth(s.depth, v));
                    rsp_handled = true;
                }
            }
            (Mnemonic::And, Some(RSP)) if dst64 => {
                if let Some(mask) = imm1.filter(|v| (-(1 << 16)..0).contains(v)) {
                    // Realignment: at most the alignment more.
                    new_depth = Some(s.depth.saturating_add(mask.unsigned_abs()));
                    rsp_handled = true;
                }
            }
            (Mnemonic::Mov, Some(RSP)) if dst64 => {
                if let Some(Val::Sp(d)) = op1.and_then(gpr).map(|r| s.regs[r]) {
                    new_depth = Some(d);
                } else {
                    // Another stack (a sigreturn frame): `step` lets only a sigreturn
                    // follow.
                    s.switched = true;
                }
                rsp_handled = true;
            }
            (Mnemonic::Lea, Some(RSP)) if dst64 => {
                if let Some(d) = self.stack_address(instr, s) {
                    new_depth = Some(d);
                    rsp_handled = true;
                }
            }
            (Mnemonic::Lea, Some(r)) if dst64 => {
                produced = Some((r, self.address(instr, s)));
            }
            (Mnemonic::Mov, Some(r)) => {
                let v = if let Some(src) = op1.and_then(gpr) {
                    if src == RSP && dst64 {
                        Val::Sp(s.depth)
                    } else if dst64 {
                        s.regs[src]
                    } else if let Val::Const(v) = s.regs[src] {
                        Val::Const(u64::from(v as u32))
                    } else {
                        Val::Unknown
                    }
                } else if let Some(v) = imm1 {
                    if dst64 {
                        Val::Const(v as u64)
                    } else {
                        Val::Const(u64::from(v as u32))
                    }
                } else if dst64 && instr.is_ip_rel_memory_operand() {
                    self.slot_value(instr)
                } else {
                    Val::Unknown
                };
                produced = Some((r, v));
            }
            (Mnemonic::Xor, Some(r)) if op1 == op0 => produced = Some((r, Val::Const(0))),
            (Mnemonic::Sub | Mnemonic::Add, Some(r)) if dst64 => {
                if let (Val::Sp(d), Some(v)) = (s.regs[r], imm1) {
                    let v = if m == Mnemonic::Sub { v } else { v.wrapping_neg() };
                    produced = Some((r, Val::Sp(add_depth(d, v))));
                }
            }
            (Mnemonic::Cmp, Some(RSP)) => {
                if let Some(Val::Sp(d)) = op1.and_then(gpr).map(|r| s.regs[r]) {
                    s.probe_end = Some(d);
                }
            }
            (Mnemonic::Cmp, Some(r)) if op1.and_then(gpr) == Some(RSP) => {
                if let Val::Sp(d) = s.regs[r] {
                    s.probe_end = Some(d);
                }
            }
            _ => {}
        }

        // A clone's result tested against 0 (`test rax, rax`, `cmp rax, 0`).
        if clone == CloneStep::Returned && dst == Some(RAX) {
            let tests_zero =
                (m == Mnemonic::Test && op1.and_then(gpr) == Some(RAX)) || (m == Mnemonic::Cmp && imm1 == Some(0));
            if tests_zero {
                s.clone = CloneStep::Tested;
            }
        }

        // Forget what the instruction writes, then record what it produced.
        let syscall_nr = s.regs[RAX];
        let mut writes_rsp = false;
        let info = self.info.info(instr);
        for u in info.used_registers() {
            if matches!(
                u.access(),
                OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
            ) {
                if let Some(r) = gpr(u.register()) {
                    if r == RSP {
                        writes_rsp = true;
                    } else {
                        s.regs[r] = Val::Unknown;
                    }
                }
            }
        }
        if m == Mnemonic::Syscall {
            // rax: the result; rcx and r11: clobbered by the instruction.
            for r in [RAX, 1, 11] {
                s.regs[r] = Val::Unknown;
            }
            if matches!(syscall_nr, Val::Const(n) if CLONE_SYSCALLS.contains(&n)) {
                s.clone = CloneStep::Returned;
            }
        }
        if let Some((r, v)) = produced {
            if let Val::Addr(t) = v {
                self.facts.loads.push(t);
            }
            s.regs[r] = v;
        }
        if s.switched {
            // Depths on a foreign stack are not this one's.
        } else if let Some(d) = new_depth {
            s.depth = d;
        } else if writes_rsp && !rsp_handled {
            self.problem(
                ip,
                format!("`{m:?}` sets the stack pointer to a value not known here (a dynamic allocation?)")
                    .to_lowercase(),
            );
            return false;
        }
        true
    }

    /// `lea reg, [base + disp]` where base is the stack pointer or a register known to
    /// hold it: the depth that address is at.
    fn stack_address(&self, instr: &Instruction, s: &State) -> Option<u64> {
        if instr.memory_index() != Register::None {
            return None;
        }
        let base = gpr(instr.memory_base())?;
        let d = if base == RSP {
            s.depth
        } else {
            match s.regs[base] {
                Val::Sp(d) => d,
                _ => return None,
            }
        };
        Some(add_depth(d, (instr.memory_displacement64() as i64).wrapping_neg()))
    }

    /// What `lea reg, [...]` produces.
    fn address(&self, instr: &Instruction, s: &State) -> Val {
        if instr.is_ip_rel_memory_operand() {
            return match self.field_fixup(instr) {
                Some(Fixup::Place(t)) => Val::Addr(t),
                Some(Fixup::Slot(_)) => Val::Unknown,
                None => Val::Addr(Target::At(Loc {
                    section: self.code.section,
                    offset: instr.ip_rel_memory_address(),
                })),
            };
        }
        self.stack_address(instr, s).map_or(Val::Unknown, Val::Sp)
    }

    /// What `mov reg, [rip + x]` loads: the address in a GOT slot, else unknown.
    fn slot_value(&self, instr: &Instruction) -> Val {
        match self.field_fixup(instr) {
            Some(Fixup::Slot(t)) => Val::Addr(t),
            _ => Val::Unknown,
        }
    }

    /// The relocation of an instruction's rip-relative displacement.
    fn field_fixup(&self, instr: &Instruction) -> Option<Fixup> {
        // The displacement is the instruction's last 4 bytes unless an immediate follows.
        let imm = immediate_bytes(instr);
        let field = instr.next_ip().checked_sub(4 + imm)?;
        (self.fixup)(field, instr.next_ip())
    }

    /// The target of a near branch or call: its relocation, else its displacement.
    fn branch_target(&self, instr: &Instruction) -> Option<Target> {
        if instr.op_count() == 0 || !matches!(instr.op0_kind(), OpKind::NearBranch64) {
            return None;
        }
        // A rel32 field is the last 4 bytes; rel8 forms are too short to carry one.
        if instr.len() >= 5 {
            if let Some(f) = instr
                .next_ip()
                .checked_sub(4)
                .and_then(|p| (self.fixup)(p, instr.next_ip()))
            {
                return match f {
                    Fixup::Place(t) => Some(t),
                    Fixup::Slot(_) => None,
                };
            }
        }
        Some(Target::At(Loc {
            section: self.code.section,
            offset: instr.near_branch_target(),
        }))
    }

    /// Where an indirect call or jump goes, if the state or a GOT relocation says.
    fn indirect_target(&self, instr: &Instruction, s: &State) -> Option<Target> {
        match instr.op0_kind() {
            OpKind::Register => match gpr(instr.op0_register()).map(|r| s.regs[r]) {
                Some(Val::Addr(t)) => Some(t),
                _ => None,
            },
            OpKind::Memory if instr.is_ip_rel_memory_operand() => match self.field_fixup(instr) {
                Some(Fixup::Slot(t)) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    fn call(&mut self, instr: &Instruction, s: &State) {
        let ip = instr.ip();
        let target = if instr.is_call_near() {
            self.branch_target(instr)
        } else {
            self.indirect_target(instr, s)
        };
        if s.child {
            // The new thread's first call: its entry, on the stack the clone gave it. The
            // entry must be a root of its own (the caller's analysis says which).
            self.facts.thread_starts.push(ip);
            return;
        }
        match target {
            // A call to its own start is recursion, a graph edge like any other.
            Some(Target::At(l))
                if l.section == self.code.section && self.inside(l.offset) && l.offset != self.code.start =>
            {
                self.problem(ip, "a call into the function's own body");
            }
            Some(t) => self.facts.sites.push(Site {
                offset: ip,
                depth: s.depth,
                target: t,
                tail: false,
            }),
            None => self.facts.indirect.push(Indirect {
                offset: ip,
                depth: s.depth,
                tail: false,
            }),
        }
    }

    fn jump(&mut self, instr: &Instruction, s: State) -> Vec<(u64, State)> {
        let ip = instr.ip();
        if instr.flow_control() == FlowControl::IndirectBranch {
            if let Some(t) = self.indirect_target(instr, &s) {
                self.tail(ip, &s, t);
                return Vec::new();
            }
            if s.child {
                self.problem(ip, "an indirect jump on a clone's child side");
                return Vec::new();
            }
            if self.code.has_interior_refs {
                // A jump table: its targets are walked from this depth (`run`).
                self.table_depth = Some(self.table_depth.unwrap_or(0).max(s.depth));
            }
            if !self.code.has_interior_refs || s.depth == 0 {
                // With the frame gone it may as well be a tail call through a pointer.
                self.facts.indirect.push(Indirect {
                    offset: ip,
                    depth: s.depth,
                    tail: true,
                });
            }
            return Vec::new();
        }
        match self.branch_target(instr) {
            Some(Target::At(l)) if l.section == self.code.section && self.inside(l.offset) => vec![(l.offset, s)],
            Some(t) => {
                self.tail(ip, &s, t);
                Vec::new()
            }
            None => {
                self.problem(ip, "a far jump");
                Vec::new()
            }
        }
    }

    fn tail(&mut self, ip: u64, s: &State, target: Target) {
        if s.child {
            self.problem(ip, "a jump out of a clone's child side");
            return;
        }
        self.facts.sites.push(Site {
            offset: ip,
            depth: s.depth,
            target,
            tail: true,
        });
    }

    fn branch(&mut self, instr: &Instruction, s: State, probe_end: Option<u64>, clone: CloneStep) -> Vec<(u64, State)> {
        let ip = instr.ip();
        let next = instr.next_ip();
        let Some(target) = self.branch_target(instr) else {
            self.problem(ip, "a conditional branch with no target");
            return Vec::new();
        };
        let mut taken = s.clone();
        let mut fall = s;
        if clone == CloneStep::Tested {
            // rax == 0 is the child. `jne/jnz parent` falls into the child; `je/jz child`
            // jumps to it.
            match instr.mnemonic() {
                Mnemonic::Jne => fall.child = true,
                Mnemonic::Je => taken.child = true,
                _ => {}
            }
        }
        let mut out = Vec::new();
        match target {
            Target::At(l) if l.section == self.code.section && self.inside(l.offset) => {
                if let (Some(end), true) = (probe_end, l.offset <= ip) {
                    // A stack probe loop: it runs until rsp reaches the register's depth.
                    fall.depth = fall.depth.max(end);
                } else {
                    out.push((l.offset, taken));
                }
            }
            t => self.tail(ip, &taken, t),
        }
        out.push((next, fall));
        out
    }
}

fn is_immediate(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
}

/// Bytes of immediate after a memory operand's displacement.
fn immediate_bytes(instr: &Instruction) -> u64 {
    let mut n = 0;
    for i in 0..instr.op_count() {
        n += match instr.op_kind(i) {
            OpKind::Immediate8 | OpKind::Immediate8to16 | OpKind::Immediate8to32 | OpKind::Immediate8to64 => 1,
            OpKind::Immediate16 => 2,
            OpKind::Immediate32 | OpKind::Immediate32to64 => 4,
            OpKind::Immediate64 => 8,
            _ => 0,
        };
    }
    n
}

/// `depth` after the stack pointer moved down by `down` bytes (up if negative).
fn add_depth(depth: u64, down: i64) -> u64 {
    if down >= 0 {
        depth.saturating_add(down as u64)
    } else {
        depth.saturating_sub(down.unsigned_abs())
    }
}

/// `depth` after the stack pointer moved by `inc` (iced's sign: negative is a push).
fn sub_depth(depth: u64, inc: i64) -> u64 {
    add_depth(depth, inc.wrapping_neg())
}

#[cfg(test)]
mod tests;
