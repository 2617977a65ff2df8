//! `zdtm-run`: zdtm's static tests with one or more CRIU binaries, side by side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use zdtm::{report, Binary, Config};

const USAGE: &str = "\
usage: zdtm-run [options]

  --criu NAME=PATH     a CRIU binary (repeatable; runs alternate between them). Default:
                       stock=criu of the CRIU test fixture (built on first use)
  --fixture VERSION    which fixture the defaults take: 4.1.1 (default) or 4.2.1
  --zdtm DIR           zdtm's built test/zdtm/static (default: the fixture's)
  --tests LIST         comma-separated test names, or @FILE with one a line (default: all)
  --dump-args ARGS     extra arguments of every criu dump (split at whitespace)
  --restore-args ARGS  extra arguments of every criu restore (split at whitespace)
  --timeout S          seconds for each step (default 60)
  --workdir DIR        images and logs (default target/zdtm-run)
  --hugepages N        reserve N huge pages for the run, put back after (default 64; 0: leave alone)
  --json FILE          write the results as JSON
  --pass-lists DIR     write DIR/NAME.pass: the tests that passed with each binary
  --quiet              no progress line per test
exit status: 0 no test failed, 1 a test failed, 2 usage or setup error";

struct Cli {
    cfg: Config,
    json: Option<PathBuf>,
    pass_lists: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Cli, String> {
    let mut binaries = Vec::new();
    let mut zdtm = None;
    let mut fixture_src = &criu_src::FIXTURES[0];
    let mut tests = None;
    let (mut dump_args, mut restore_args) = (Vec::new(), Vec::new());
    let mut timeout = 60u64;
    let mut workdir = PathBuf::from("target/zdtm-run");
    let mut hugepages = 64u64;
    let (mut json, mut pass_lists, mut progress) = (None, None, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--criu" => {
                let v = val()?;
                let (n, p) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--criu {v}: expected NAME=PATH"))?;
                if n.is_empty() || binaries.iter().any(|b: &Binary| b.name == n) {
                    return Err(format!("--criu {v}: names must be non-empty and distinct"));
                }
                binaries.push(Binary {
                    name: n.into(),
                    path: p.into(),
                });
            }
            "--zdtm" => zdtm = Some(PathBuf::from(val()?)),
            "--fixture" => {
                let v = val()?;
                fixture_src = criu_src::Source::fixture(&v).ok_or_else(|| {
                    let known: Vec<&str> = criu_src::FIXTURES.iter().map(|s| s.version).collect();
                    format!("--fixture {v}: no such fixture (there are {})", known.join(", "))
                })?;
            }
            "--tests" => {
                let v = val()?;
                tests = Some(match v.strip_prefix('@') {
                    Some(f) => zdtm::list::read_list(&std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?),
                    None => v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                });
            }
            "--dump-args" => dump_args = val()?.split_whitespace().map(str::to_owned).collect(),
            "--restore-args" => restore_args = val()?.split_whitespace().map(str::to_owned).collect(),
            "--timeout" => timeout = val()?.parse().map_err(|_| "--timeout: seconds expected")?,
            "--workdir" => workdir = val()?.into(),
            "--hugepages" => hugepages = val()?.parse().map_err(|_| "--hugepages: a number expected")?,
            "--json" => json = Some(val()?.into()),
            "--pass-lists" => pass_lists = Some(val()?.into()),
            "--quiet" => progress = false,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if timeout == 0 {
        return Err("--timeout must be at least 1".into());
    }
    // The fixture is built only when something defaults to it.
    let fixture = if binaries.is_empty() || zdtm.is_none() {
        Some(criu_src::CriuTree::fixture_of(fixture_src).map_err(|e| e.to_string())?)
    } else {
        None
    };
    if binaries.is_empty() {
        binaries.push(Binary {
            name: "stock".into(),
            path: fixture.as_ref().expect("built above").criu(),
        });
    }
    let static_dir = zdtm.unwrap_or_else(|| fixture.as_ref().expect("built above").zdtm_static());
    let cfg = Config {
        static_dir,
        binaries,
        tests,
        dump_args,
        restore_args,
        step_timeout: Duration::from_secs(timeout),
        workdir,
        hugepages,
        progress,
    };
    Ok(Cli { cfg, json, pass_lists })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse(&args) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zdtm-run: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rep = match zdtm::run(&cli.cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zdtm-run: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report::table(&rep));
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report::json(&rep)).expect("JSON of plain values");
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("zdtm-run: write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = &cli.pass_lists {
        for (i, b) in rep.binaries.iter().enumerate() {
            let path = dir.join(format!("{}.pass", b.name));
            let text: String = rep.passed(i).iter().map(|t| format!("{t}\n")).collect();
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, text)) {
                eprintln!("zdtm-run: write {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let failed = (0..rep.binaries.len()).any(|b| report::counts(&rep, b).1 > 0);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
