//! The main job: write the restorer blob, its compel header and its audit into a
//! directory (default `target/blob`) and print where they are. `install` builds the
//! restorer against a CRIU tree and drops it into that tree's build instead. `compact`
//! removes all-zero pages from a dump directory (`criu_pie::compact`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use criu_pie::{install, quickstart, timings};

const USAGE: &str =
    "usage: criu-pie [DIR]   (writes restorer.built-in.o, restorer-blob.h and the audit into DIR, default target/blob)
       criu-pie install [--prefix DIR] [--work DIR] [--huge-pages]
                        (no CRIU tree needed: fetches and builds CRIU 4.2.1, drops the Rust restorer in,
                         builds criu again and checks it with a dump and restore; --prefix installs
                         DIR/sbin/criu; --work moves the tree and logs from target/criu-pie-install)
       criu-pie install --criu TREE [--huge-pages | --restore-original]
                        (builds the restorer against the built CRIU tree TREE and puts it in place of
                         TREE/criu/pie/restorer.built-in.o, keeping the original beside it; with
                         --huge-pages, restored memory goes into huge pages without advice (see the
                         README: slower on many cores); with --restore-original, puts the original back)
       criu-pie timings RESTORE_LOG [--json]
                        (where a restore's time went, from a criu restore -v4 log, ours or stock's:
                         CRIU's stages, each task's restorer phases, the page phase's bytes and GB/s)
       criu-pie compact DIR [--dry-run] [--threads N]
                        (removes all-zero pages of private anonymous memory from the CRIU dump in DIR
                         where their absence restores the same bytes; prints bytes before, after and the
                         time taken; --dry-run prints what it would save and writes nothing)";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first() {
        Some(a) if a == "install" => install_main(&args[1..]),
        Some(a) if a == "timings" => timings_main(&args[1..]),
        Some(a) if a == "compact" => compact_main(&args[1..]),
        Some(a) if a == "-h" || a == "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        None => write_main(Path::new("target/blob")),
        Some(d) if args.len() == 1 => write_main(Path::new(d)),
        _ => usage_error(),
    }
}

fn usage_error() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn write_main(dir: &Path) -> ExitCode {
    match criu_pie::artifacts::write_to(dir) {
        Ok(a) => {
            println!("object: {}", a.object.display());
            println!("header: {}", a.header.display());
            println!(
                "engine: {} (for CRIU's restorer; declared in {})",
                a.engine.display(),
                a.engine_header.display()
            );
            println!("audit:  {} (json: {})", a.audit_text.display(), a.audit_json.display());
            print!("{}", a.report);
            if a.report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("criu-pie: {e}");
            ExitCode::FAILURE
        }
    }
}

fn install_main(args: &[OsString]) -> ExitCode {
    let mut tree: Option<PathBuf> = None;
    let mut prefix: Option<PathBuf> = None;
    let mut work: Option<PathBuf> = None;
    let mut restore = false;
    let mut restorer = install::RESTORER;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--criu" {
            match it.next() {
                Some(t) => tree = Some(PathBuf::from(t)),
                None => return usage_error(),
            }
        } else if a == "--prefix" || a == "--work" {
            let Some(d) = it.next() else {
                return usage_error();
            };
            let d = Some(PathBuf::from(d));
            if a == "--prefix" {
                prefix = d;
            } else {
                work = d;
            }
        } else if a == "--restore-original" {
            restore = true;
        } else if a == "--huge-pages" {
            restorer = install::RESTORER_HUGE_COLLAPSE;
        } else {
            return usage_error();
        }
    }
    let Some(tree) = tree else {
        if restore {
            return usage_error();
        }
        let mut plan = quickstart::Plan::new(restorer);
        plan.prefix = prefix;
        if let Some(w) = work {
            plan.work = w;
        }
        return quickstart_main(&plan);
    };
    if prefix.is_some() || work.is_some() {
        eprintln!("criu-pie install: --prefix and --work are for the install without --criu; with your own tree, `make -C TREE install PREFIX=DIR`");
        return ExitCode::from(2);
    }
    let result = if restore {
        install::restore_original(&tree).map(|object| {
            println!("restored: {} (CRIU's own restorer object)", object.display());
        })
    } else {
        let opts = install::Options {
            tree: &tree,
            restorer,
            link_also: &[],
        };
        install::install(&opts).map(|done| print_installed(&done))
    };
    match result {
        Ok(()) => {
            println!("next:     make -C {} criu", tree.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("criu-pie install: {e}");
            ExitCode::FAILURE
        }
    }
}

fn quickstart_main(plan: &quickstart::Plan) -> ExitCode {
    let done = match quickstart::run(plan) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("criu-pie install: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ms = |c: &quickstart::Checked| c.timings.total_us as f64 / 1000.0;
    let pages = |c: &quickstart::Checked| {
        c.timings
            .tasks
            .first()
            .and_then(|t| t.pages.as_ref())
            .and_then(|p| p.bytes.and_then(|b| timings::report::gb_per_s(b, p.phase.us())))
            .map_or(String::new(), |r| format!(", pages at {r:.2} GB/s"))
    };
    println!(
        "checked:  every byte of the restored process equal; restore {:.1} ms{} (stock criu: {:.1} ms{})",
        ms(&done.ours),
        pages(&done.ours),
        ms(&done.stock),
        pages(&done.stock)
    );
    println!(
        "criu:     {} (CRIU {} with the Rust restorer)",
        done.criu.display(),
        quickstart::SOURCE.version
    );
    if let Some(p) = &done.installed {
        println!("installed: {p}", p = p.display());
    }
    println!("tree:     {}", done.tree.display());
    println!(
        "use:      put it first in PATH (runc, crun, Podman and containerd run the `criu` they find there), \
         or --prefix DIR for DIR/sbin/criu; `criu-pie timings {}` shows where the restore's time went",
        done.ours.log.display()
    );
    ExitCode::SUCCESS
}

fn timings_main(args: &[OsString]) -> ExitCode {
    let json = args.iter().any(|a| a == "--json");
    let logs: Vec<&OsString> = args.iter().filter(|a| *a != "--json").collect();
    let [log] = logs.as_slice() else {
        return usage_error();
    };
    match criu_pie::timings::of_file(Path::new(log)) {
        Ok(t) if json => {
            println!("{:#}", criu_pie::timings::report::json(&t));
            ExitCode::SUCCESS
        }
        Ok(t) => {
            print!("{}", criu_pie::timings::report::text(&t));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("criu-pie timings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn compact_main(args: &[OsString]) -> ExitCode {
    let mut dir: Option<PathBuf> = None;
    let mut opts = criu_pie::compact::Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--dry-run" {
            opts.dry_run = true;
        } else if a == "--threads" {
            match it
                .next()
                .and_then(|n| n.to_str()?.parse::<usize>().ok())
                .filter(|&n| n > 0)
            {
                Some(n) => opts.threads = n,
                None => return usage_error(),
            }
        } else if dir.is_none() && !a.to_string_lossy().starts_with('-') {
            dir = Some(PathBuf::from(a));
        } else {
            return usage_error();
        }
    }
    let Some(dir) = dir else {
        return usage_error();
    };
    match criu_pie::compact::compact(&dir, &opts) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("criu-pie compact: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn print_installed(done: &install::Installed) {
    let b = &done.built;
    println!(
        "built:    {} (package {}, features {}, audit clean: {} warnings)",
        b.object.display(),
        done.restorer.package,
        done.restorer.features,
        done.report().findings.len()
    );
    println!(
        "checked:  compel hgen of the tree accepts it ({})",
        b.compel_header.display()
    );
    println!("put in:   {}", done.object.display());
    let kept = if done.saved_original {
        "kept now"
    } else if done.original.exists() {
        "kept by an earlier install"
    } else {
        "none: the tree's object was this one already"
    };
    println!("original: {} ({kept})", done.original.display());
}
