//! `criu-pie compact DIR`: all-zero pages out of a CRIU dump, where and only where their
//! absence restores the same bytes (see [`plan`] and [`classify`] for the rules), with
//! the pages files rewritten to hold exactly the remaining pages in order and a commit
//! that is safe against a kill or a full disk at any point ([`commit`]).
//!
//! Jobs, one a module: [`load`] reads and checks the directory (refusing what it does not
//! understand), [`classify`] says which VMAs restore absent pages as zero, [`plan`]
//! decides page by page and rewrites the pagemap, [`scan`] reads each pages file once
//! (threads = CPUs) and feeds the kept pages to the new file, [`commit`] switches
//! each task's pagemap and pages file together and cleans up after a stopped run.

pub mod classify;
pub mod commit;
pub mod error;
pub mod fault;
pub mod load;
pub mod plan;
pub mod scan;

use std::path::Path;
use std::time::{Duration, Instant};

use criu_image::magic::PAGE_SIZE;

pub use error::{Error, Result};
use plan::{ParentChain, ZeroMaps};

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Read and decide, write nothing.
    pub dry_run: bool,
    /// Reader threads per pages file.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dry_run: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One task's pages before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReport {
    pub pid: u32,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Zero pages it keeps because their absence could show something else.
    pub zero_kept: u64,
}

/// What a run did (or, dry, would do).
#[derive(Clone, Debug)]
pub struct Report {
    pub tasks: Vec<TaskReport>,
    pub dry_run: bool,
    pub elapsed: Duration,
    /// What an interrupted earlier run left and this one cleaned up.
    pub recovered: Option<String>,
}

impl Report {
    pub fn bytes_before(&self) -> u64 {
        self.tasks.iter().map(|t| t.bytes_before).sum()
    }

    pub fn bytes_after(&self) -> u64 {
        self.tasks.iter().map(|t| t.bytes_after).sum()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.recovered {
            writeln!(f, "recovered: {r}")?;
        }
        for t in &self.tasks {
            writeln!(
                f,
                "task {}: {} -> {} bytes of pages{}",
                t.pid,
                t.bytes_before,
                t.bytes_after,
                if t.zero_kept > 0 {
                    format!(" ({} zero pages kept by the rules)", t.zero_kept)
                } else {
                    String::new()
                }
            )?;
        }
        let (b, a) = (self.bytes_before(), self.bytes_after());
        let pct = if b == 0 { 0.0 } else { 100.0 * (b - a) as f64 / b as f64 };
        write!(
            f,
            "{} {b} -> {a} bytes ({} bytes, {pct:.1}%, {}) in {:.3} s",
            if self.dry_run { "would compact:" } else { "compacted:" },
            b - a,
            if self.dry_run { "would be saved" } else { "saved" },
            self.elapsed.as_secs_f64()
        )
    }
}

/// Compact the dump in `dir` (see the module docs).
pub fn compact(dir: &Path, opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let recovered = if opts.dry_run {
        dir.join(commit::JOURNAL)
            .exists()
            .then(|| "an interrupted run left a journal: a run without --dry-run cleans it up first".to_string())
    } else {
        commit::recover(dir)?
    };
    let dump = load::load(dir)?;
    let first_new = dump.next_pages_id;
    let switches = dump
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let new_pages =
                u32::try_from(first_new + i as u64).map_err(|_| Error::new("no free pages id left below 2^32"))?;
            Ok(commit::Switch {
                pagemap_id: t.pid,
                old_pages: t.pagemap.pages_id,
                new_pages,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let txn = if opts.dry_run {
        None
    } else {
        match commit::Txn::begin(dir, switches.clone()) {
            Ok(t) => Some(t),
            Err(e) => return Err(undo(dir, e)),
        }
    };
    match run(&dump, opts, txn.as_ref(), &switches) {
        Ok((tasks, pagemaps)) => {
            if let Some(txn) = txn {
                if let Err(e) = txn.commit(pagemaps) {
                    return Err(undo(dir, e));
                }
            }
            Ok(Report {
                tasks,
                dry_run: opts.dry_run,
                elapsed: started.elapsed(),
                recovered,
            })
        }
        Err(e) if txn.is_some() => Err(undo(dir, e)),
        Err(e) => Err(e),
    }
}

/// After a failure: the journal's recovery leaves each task as it was or switched.
fn undo(dir: &Path, e: Error) -> Error {
    match commit::recover(dir) {
        Ok(_) => Error::new(format!("{e} (the directory is as it was)")),
        Err(r) => Error::new(format!(
            "{e}; cleaning up failed too: {r} (a later run cleans up first)"
        )),
    }
}

type Outcome = (Vec<TaskReport>, Vec<Option<criu_image::Pagemap>>);

/// Scan every task, parents first; with a transaction, write each new pages file.
fn run(dump: &load::Dump, opts: &Options, txn: Option<&commit::Txn>, switches: &[commit::Switch]) -> Result<Outcome> {
    let mut zeros = ZeroMaps::new();
    let mut reports = Vec::new();
    let mut pagemaps = Vec::new();
    for (i, t) in dump.tasks.iter().enumerate() {
        let droppable = plan::droppable(dump, &zeros, t);
        let mut chain = dump.parent_dir.clone().map(|d| ParentChain::new(d, t.pid));
        let mut zero_kept = 0u64;
        let decide = |page: u64, zero: bool| {
            if !zero {
                return true;
            }
            let drop = droppable[page as usize]
                && match &mut chain {
                    None => true,
                    Some(c) => plan::addr_of(t, page).is_some_and(|a| c.zero_or_absent(a)),
                };
            zero_kept += u64::from(!drop);
            !drop
        };
        let scanned = match txn {
            Some(txn) => {
                let mut out = txn.create_pages(i)?;
                let mut sink = |b: &[u8]| out.write(b);
                let s = scan::scan(&t.pages_path, t.file_pages, opts.threads, decide, Some(&mut sink))?;
                out.finish()?;
                s
            }
            None => scan::scan(&t.pages_path, t.file_pages, opts.threads, decide, None)?,
        };
        let changed = scanned.kept_pages < t.file_pages;
        pagemaps.push(changed.then(|| plan::rewrite(&t.pagemap, &scanned.keep, switches[i].new_pages)));
        reports.push(TaskReport {
            pid: t.pid,
            bytes_before: t.file_pages * PAGE_SIZE,
            bytes_after: scanned.kept_pages * PAGE_SIZE,
            zero_kept,
        });
        zeros.insert(t.pid, scanned.zero);
    }
    Ok((reports, pagemaps))
}
