//! The stack check: every function's frame measured from its machine code, the call
//! graph from each root (an entry point, with the stack it runs on), and the deepest path
//! held against that stack less a margin ([`roots`] says which stacks and why the
//! margin).
//!
//! What it sees: direct calls and tail jumps (through the relocation at the field, else
//! the displacement), calls through a GOT slot or a register loaded from one, stack
//! probes, and the child side of a `clone`/`clone3` (whose first call is a new thread's
//! entry, on another stack: those entries must be roots of their own).
//!
//! An indirect call it cannot resolve may reach any function whose address the object
//! takes (its code loads it, or its data holds it): only such a function can be a
//! pointer's target inside the object, so the call is counted as a call to each. An
//! indirect jump is a jump table where data points into the function's body (its
//! targets are walked from the jump's depth), else, and also when the frame is gone at
//! it, a tail call through a pointer, counted the same way.
//!
//! What it refuses, each an error finding in a function some root reaches:
//! - an indirect call or tail jump where the object takes no function's address (the
//!   callee is outside the object): its stack is unknown;
//! - a stack pointer set from an unknown value (alloca, a dynamic array) or moving around
//!   a loop: the frame has no bound;
//! - recursion (a cycle in the call graph): its depth is unbounded as far as machine code
//!   shows, whatever the source means to bound it; it is reported, never assumed;
//! - a call into code no sized function symbol covers.
//!
//! What it cannot see: code outside the object (the vDSO, CRIU's own restorer around a
//! drop-in object), and functions only reached through pointers from outside; every
//! function whose address the code takes counts as a possible signal handler, its depth
//! added to the margin.

mod frame;
mod functions;
mod paths;
mod roots;

use std::collections::VecDeque;

use rustc_demangle::try_demangle;

use crate::elf::Elf;
use crate::error::printable;
use crate::report::{Finding, Kind, Level};
use frame::{FnCode, Target};
use functions::Functions;
use paths::{Deepest, Edge, Graph};

pub use roots::{
    criu_stack, margin, Root, RootName, Stack, PARASITE_STACK_SIZE, RED_ZONE, RESTORE_STACK_SIZE, SIGNAL_FRAME,
};

/// One function on a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub function: String,
    /// Bytes below the root's first stack pointer at which this function's entry stack
    /// pointer is (return addresses included).
    pub at: u64,
    /// Its own frame: bytes below its entry stack pointer, return address excluded.
    pub frame: u64,
}

/// The deepest path from one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackUse {
    pub root: String,
    pub stack: Stack,
    /// Bytes kept free on the stack (see [`roots`]).
    pub margin: u64,
    /// Deepest use, the root's return address included.
    pub depth: u64,
    pub path: Vec<Hop>,
    /// A possible signal handler: its depth is part of every margin, not held against a
    /// stack of its own.
    pub handler: bool,
}

impl StackUse {
    /// What the root may use: the stack less the margin.
    pub fn budget(&self) -> u64 {
        self.stack.usable.saturating_sub(self.margin)
    }

    pub fn fits(&self) -> bool {
        self.handler || self.depth <= self.budget()
    }

    /// `a (frame 8) -> b (at 56, frame 120) -> ...`
    pub fn path_text(&self) -> String {
        let hops: Vec<String> = self
            .path
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    format!("{} (frame {})", h.function, h.frame)
                } else {
                    format!("{} (at {}, frame {})", h.function, h.at, h.frame)
                }
            })
            .collect();
        hops.join(" -> ")
    }
}

/// What the check found: each root's deepest path, and the findings.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub uses: Vec<StackUse>,
    pub findings: Vec<Finding>,
}

/// Bytes of function code the check decodes at most, per byte of the file: overlapping
/// function symbols in a malformed file could otherwise make it decode one region over
/// and over.
const MAX_CODE_PER_FILE_BYTE: u64 = 4;

/// Check the stacks of `elf`: its CRIU entry points ([`criu_stack`]) and `extra` roots.
pub fn analyze(elf: &Elf<'_>, extra: &[Root]) -> Analysis {
    let funcs = Functions::new(elf);
    let mut out = Analysis::default();
    let code: u64 = funcs.list.iter().map(|f| f.bytes.len() as u64).sum();
    if code > (elf.data.len() as u64).saturating_mul(MAX_CODE_PER_FILE_BYTE) {
        out.findings.push(finding(
            Kind::StackUnmeasured,
            None,
            format!(
                "function symbols cover {code:#x} bytes of code in a {:#x}-byte file: they overlap too much to analyse",
                elf.data.len()
            ),
            "the object is corrupt".into(),
        ));
        return out;
    }

    let n = funcs.list.len();
    let stacks: Vec<Option<Stack>> = funcs
        .list
        .iter()
        .map(|f| {
            extra
                .iter()
                .find(|r| r.name.matches(f.name))
                .map(|r| r.stack.clone())
                .or_else(|| criu_stack(f.name))
        })
        .collect();

    // Measure what the roots and the address-taken functions reach, and only that.
    let mut facts = vec![None; n];
    let mut taken = vec![false; n];
    let mut graph = Graph {
        frames: vec![0; n],
        edges: vec![Vec::new(); n],
    };
    let mut work: VecDeque<usize> = (0..n).filter(|&i| stacks[i].is_some()).collect();
    for i in funcs.referenced_by_data() {
        taken[i] = true;
        work.push_back(i);
    }
    let mut unresolved: Vec<(usize, u64, String)> = Vec::new();
    // Indirect calls not resolved in their function: (caller, site, how many of
    // `taken_list` it is connected to so far).
    let mut indirect: Vec<(usize, frame::Indirect, usize)> = Vec::new();
    let mut taken_list: Vec<usize> = (0..n).filter(|&i| taken[i]).collect();
    loop {
        while let Some(i) = work.pop_front() {
            if facts[i].is_some() {
                continue;
            }
            let f = &funcs.list[i];
            let code = FnCode {
                section: f.section,
                start: f.start,
                bytes: f.bytes,
                has_interior_refs: funcs.has_interior_refs(i),
            };
            let section = f.section;
            let fx = frame::measure(&code, &|field, next| funcs.fixup(section, field, next));
            graph.frames[i] = fx.frame;
            for site in &fx.sites {
                let Target::At(l) = site.target else { continue };
                match funcs.at(l) {
                    Some(j) => {
                        let offset = site.depth.saturating_add(if site.tail { 0 } else { 8 });
                        graph.edges[i].push(Edge { to: j, offset });
                        work.push_back(j);
                    }
                    None => unresolved.push((
                        i,
                        site.offset,
                        format!(
                            "a {} to {}+{:#x}, which no sized function symbol covers: its stack is unknown",
                            if site.tail { "jump" } else { "call" },
                            elf.sections
                                .get(l.section)
                                .map_or_else(|| "?".into(), |s| s.display_name()),
                            l.offset
                        ),
                    )),
                }
            }
            for t in &fx.loads {
                if let Target::At(l) = *t {
                    if let Some(j) = funcs.starts_at(l) {
                        if !taken[j] {
                            taken[j] = true;
                            taken_list.push(j);
                        }
                        work.push_back(j);
                    }
                }
            }
            indirect.extend(fx.indirect.iter().map(|&site| (i, site, 0)));
            facts[i] = Some(fx);
        }
        // A function pointer can only come from a place that takes a function's
        // address: an indirect call may reach any such function. Connecting them may
        // reach more code, which may take more addresses: until nothing changes.
        for (i, site, connected) in indirect.iter_mut() {
            for &j in &taken_list[*connected..] {
                graph.edges[*i].push(Edge {
                    to: j,
                    offset: site.depth.saturating_add(if site.tail { 0 } else { 8 }),
                });
                work.push_back(j);
            }
            *connected = taken_list.len();
        }
        if work.is_empty() {
            break;
        }
    }
    if taken_list.is_empty() {
        for &(i, site, _) in &indirect {
            unresolved.push((
                i,
                site.offset,
                "an indirect call or jump, and no function of the object has its address taken: it calls code outside \
                 the object, whose stack is unknown"
                    .into(),
            ));
        }
    }

    let name = |i: usize| display_name(funcs.list[i].name);
    let mut deepest = Deepest::new(&graph);
    let use_of = |deepest: &mut Deepest<'_>, i: usize, stack: Stack, margin: u64, handler: bool| {
        let (d, path) = deepest.from(i);
        let mut at = 8u64;
        let mut hops = Vec::with_capacity(path.len());
        for (k, &p) in path.iter().enumerate() {
            if k > 0 {
                let e = graph.edges[path[k - 1]]
                    .iter()
                    .filter(|e| e.to == p)
                    .map(|e| e.offset)
                    .max()
                    .unwrap_or(0);
                at = at.saturating_add(e);
            }
            hops.push(Hop {
                function: name(p),
                at,
                frame: graph.frames[p],
            });
        }
        StackUse {
            root: name(i),
            stack,
            margin,
            depth: d.saturating_add(8),
            path: hops,
            handler,
        }
    };

    // Possible signal handlers first: the deepest of them is part of every margin.
    let handlers: Vec<usize> = (0..n).filter(|&i| taken[i] && stacks[i].is_none()).collect();
    let mut handler_uses: Vec<StackUse> = handlers
        .iter()
        .map(|&i| {
            let any = Stack {
                usable: 0,
                what: "a possible signal handler, on whatever stack it interrupts".into(),
            };
            use_of(&mut deepest, i, any, 0, true)
        })
        .collect();
    let handler_depth = handler_uses.iter().map(|u| u.depth).max().unwrap_or(0);
    let margin = margin(handler_depth);

    for i in (0..n).filter(|&i| stacks[i].is_some()) {
        let stack = stacks[i].clone().unwrap_or_else(|| Stack {
            usable: 0,
            what: String::new(),
        });
        let u = use_of(&mut deepest, i, stack, margin, false);
        if !u.fits() {
            let deepest_handler = handler_uses.iter().max_by_key(|u| u.depth).map(|h| h.root.clone());
            out.findings.push(Finding {
                level: Level::Error,
                kind: Kind::StackOverflow,
                section: None,
                offset: None,
                function: None,
                symbol: Some(u.root.clone()),
                message: format!(
                    "`{}' needs {} bytes of stack, more than its budget of {} ({} usable on {}, less a margin of {}: \
                     red zone {RED_ZONE}, signal frame {SIGNAL_FRAME}{}); deepest path: {}",
                    u.root,
                    u.depth,
                    u.budget(),
                    u.stack.usable,
                    u.stack.what,
                    u.margin,
                    deepest_handler.map_or_else(String::new, |h| format!(", signal handler `{h}' {handler_depth}")),
                    u.path_text()
                ),
                hint: Some(
                    "shrink the big frames on that path: move large arrays off the stack (a mapping, a static, \
                     smaller buffers), or keep a big callee from being inlined into a deep caller"
                        .into(),
                ),
            });
        }
        out.uses.push(u);
    }
    out.uses.append(&mut handler_uses);

    // Problems and cycles in what the roots and handlers reach.
    let mut reached = vec![false; n];
    for i in (0..n).filter(|&i| stacks[i].is_some() || taken[i]) {
        for (k, r) in paths::reachable(&graph, i).into_iter().enumerate() {
            reached[k] |= r;
        }
    }
    for (i, fx) in facts.iter().enumerate() {
        let Some(fx) = fx.as_ref().filter(|_| reached[i]) else {
            continue;
        };
        let problems = fx.problems.iter().map(|p| (p.offset, p.what.clone()));
        let calls = unresolved.iter().filter(|u| u.0 == i).map(|u| (u.1, u.2.clone()));
        for (offset, what) in problems.chain(calls) {
            out.findings.push(Finding {
                level: Level::Error,
                kind: Kind::StackUnmeasured,
                section: elf.sections.get(funcs.list[i].section).map(|s| s.display_name()),
                offset: Some(offset),
                function: Some(name(i)),
                symbol: None,
                message: format!("stack not measurable: {what}"),
                hint: Some("the stack check needs every frame bounded and every callee known".into()),
            });
        }
    }
    for cycle in &deepest.cycles {
        let mut names: Vec<String> = cycle.iter().map(|&i| name(i)).collect();
        if let Some(first) = names.first().cloned() {
            names.push(first);
        }
        out.findings.push(finding(
            Kind::StackRecursion,
            cycle.first().map(|&i| name(i)),
            format!(
                "recursion: {}: its depth has no bound the machine code shows",
                names.join(" -> ")
            ),
            "turn the recursion into a loop, or bound it with an explicit depth limit and an iterative form".into(),
        ));
    }
    out
}

fn finding(kind: Kind, symbol: Option<String>, message: String, hint: String) -> Finding {
    Finding {
        level: Level::Error,
        kind,
        section: None,
        offset: None,
        function: None,
        symbol,
        message,
        hint: Some(hint),
    }
}

/// A symbol for messages: a Rust path without its hash, else the name as it is.
pub fn display_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw).ok().and_then(|s| try_demangle(s).ok()) {
        Some(d) => printable(format!("{d:#}").as_bytes()),
        None => printable(raw),
    }
}
