//! restore-bench: the page-restore engine against CRIU's serial loop and the machine's
//! own limits, on synthetic CRIU images of several sizes, warm and cold page cache.
//!
//! Every figure is a median of rounds in which the variants alternate; every restore is
//! verified byte for byte (outside the timed part). Prints a table and writes JSON and,
//! next to it, a PNG chart of the table.

mod chart;
mod image;
mod mem;
mod report;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

/// What to measure.
pub struct Config {
    pub sizes_mib: Vec<u64>,
    pub rounds: usize,
    pub dir: PathBuf,
    pub json: Option<PathBuf>,
    pub cold: bool,
    pub warm: bool,
    pub keep: bool,
}

fn usage() -> &'static str {
    "usage: restore-bench [--sizes GIB[,GIB...]] [--sizes-mib MIB[,...]] [--rounds N] [--dir DIR] [--json FILE] [--warm-only|--cold-only] [--keep]\n\
     defaults: --sizes 1,2,4 --rounds 3 --dir target/bench-images --json target/bench/restore-bench.json"
}

fn parse() -> Result<Config, String> {
    let mut c = Config {
        sizes_mib: vec![1024, 2048, 4096],
        rounds: 3,
        dir: PathBuf::from("target/bench-images"),
        json: Some(PathBuf::from("target/bench/restore-bench.json")),
        cold: true,
        warm: true,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--sizes" => {
                c.sizes_mib = val()?
                    .split(',')
                    .map(|s| {
                        s.parse::<f64>()
                            .map(|g| (g * 1024.0) as u64)
                            .map_err(|e| format!("--sizes: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--sizes-mib" => {
                c.sizes_mib = val()?
                    .split(',')
                    .map(|s| s.parse::<u64>().map_err(|e| format!("--sizes-mib: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--rounds" => c.rounds = val()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--dir" => c.dir = PathBuf::from(val()?),
            "--json" => c.json = Some(PathBuf::from(val()?)),
            "--warm-only" => c.cold = false,
            "--cold-only" => c.warm = false,
            "--keep" => c.keep = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if c.sizes_mib.contains(&0) || c.rounds == 0 {
        return Err("sizes and rounds must be positive".into());
    }
    Ok(c)
}

fn main() -> ExitCode {
    let cfg = match parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("restore-bench: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match run::all(&cfg) {
        Ok(results) => {
            print!("{}", report::table(&results));
            if let Some(path) = &cfg.json {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(e) = std::fs::write(path, report::json(&results)) {
                    eprintln!("restore-bench: write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("json: {}", path.display());
                let png = path.with_extension("png");
                match chart::write(&results, &png) {
                    Ok(()) => println!("chart: {}", png.display()),
                    // The figures are in the table and the JSON: a chart is not worth failing for.
                    Err(e) => eprintln!("restore-bench: chart {}: {e}", png.display()),
                }
            }
            if results.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("restore-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
