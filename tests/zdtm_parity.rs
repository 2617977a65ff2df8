//! zdtm's static suite with CRIU 4.1.1's stock restorer and with the Rust restorer,
//! alternating from one test to the next in one run (the binaries differ only by
//! `restorer.built-in.o`). Each test of tests/zdtm/stock-4.1.1.txt must pass with stock,
//! each of tests/zdtm/rust-restorer.txt with ours (a listed test that fails gets one
//! retry with that binary alone, reported when it passes then); the pass lists, the table
//! and the JSON go to target/zdtm/. The hugetlb tests get their huge pages and give them back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zdtm::{hugepages, report, Binary, Config, Outcome, Report};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The tests of the committed list `list` that did not pass with binary `b`: (name, why).
fn missing(rep: &Report, b: usize, list: &str) -> Vec<(String, String)> {
    let expected = zdtm::list::read_list(&fs::read_to_string(root().join(list)).unwrap());
    let mut out = Vec::new();
    for name in &expected {
        match rep.results.iter().find(|r| &r.name == name) {
            Some(r) if r.outcomes[b].is_pass() => {}
            Some(r) => out.push((name.clone(), report::progress_line(&rep.binaries, r))),
            None => out.push((name.clone(), "not in the suite".into())),
        }
    }
    out
}

/// Run the `failed` tests once more with binary `b` alone; those that fail again, with
/// both attempts. A listed test that fails once and passes on its retry is reported on
/// stderr: these machines are shared VMs, and some tests race with the machine (cgroup
/// v1 hierarchies busy, lease timing).
fn retry(cfg: &Config, b: usize, failed: Vec<(String, String)>) -> Vec<String> {
    if failed.is_empty() {
        return Vec::new();
    }
    let names: Vec<String> = failed
        .iter()
        .filter(|(_, why)| why != "not in the suite")
        .map(|(n, _)| n.clone())
        .collect();
    let again = Config {
        binaries: vec![cfg.binaries[b].clone()],
        tests: Some(names),
        workdir: cfg.workdir.join(format!("retry-{}", cfg.binaries[b].name)),
        ..cfg.clone()
    };
    let rep = zdtm::run(&again).unwrap();
    let mut still = Vec::new();
    for (name, first) in failed {
        match rep.results.iter().find(|r| r.name == name) {
            Some(r) if r.outcomes[0].is_pass() => {
                let _ = writeln!(
                    std::io::stderr(),
                    "zdtm parity: {name} failed once with {} ({first}), passed on its retry",
                    cfg.binaries[b].name
                );
            }
            Some(r) => still.push(format!(
                "{name}: {first}; retry: {}",
                report::progress_line(&rep.binaries, r)
            )),
            None => still.push(format!("{name}: {first}")),
        }
    }
    still
}

#[test]
fn zdtm_static_suite_stock_and_rust_restorer_side_by_side() {
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../zdtm");
    fs::create_dir_all(&out).unwrap();
    let before = hugepages::read().unwrap();
    let cfg = Config {
        static_dir: t.fixture.zdtm_static(),
        binaries: vec![
            Binary {
                name: "stock".into(),
                path: t.stock(),
            },
            Binary {
                name: "rust".into(),
                path: t.ours(),
            },
        ],
        tests: None,
        dump_args: vec![],
        restore_args: vec![],
        step_timeout: Duration::from_secs(60),
        workdir: out.join("work"),
        hugepages: 64,
        progress: true,
    };
    let rep = zdtm::run(&cfg).unwrap();
    assert_eq!(hugepages::read().unwrap(), before, "vm.nr_hugepages was not put back");

    let table = report::table(&rep);
    fs::write(out.join("parity-4.1.1.txt"), &table).unwrap();
    fs::write(
        out.join("parity-4.1.1.json"),
        serde_json::to_string_pretty(&report::json(&rep)).unwrap(),
    )
    .unwrap();
    for (b, file) in [(0, "stock-4.1.1.pass"), (1, "rust-restorer.pass")] {
        let passed: String = rep.passed(b).iter().map(|t| format!("{t}\n")).collect();
        fs::write(out.join(file), passed).unwrap();
        let (p, f, s) = report::counts(&rep, b);
        // Past the harness's capture: the figures belong in CI's log.
        let _ = writeln!(
            std::io::stderr(),
            "zdtm static, CRIU 4.1.1 with the {} restorer: {p} passed, {f} failed, {s} skipped of {}; list in {}",
            rep.binaries[b].name,
            rep.results.len(),
            out.join(file).display()
        );
    }
    let _ = writeln!(std::io::stderr(), "zdtm static, both restorers: {:.0} s", rep.secs);

    let stock = retry(&cfg, 0, missing(&rep, 0, "tests/zdtm/stock-4.1.1.txt"));
    let ours = retry(&cfg, 1, missing(&rep, 1, "tests/zdtm/rust-restorer.txt"));
    assert!(
        stock.is_empty() && ours.is_empty(),
        "tests of tests/zdtm/stock-4.1.1.txt that did not pass with stock:\n{}\n\n\
         tests of tests/zdtm/rust-restorer.txt that did not pass with the Rust restorer:\n{}\n\n{table}",
        stock.join("\n"),
        ours.join("\n")
    );
    for r in rep.results.iter().filter(|r| r.name.contains("hugetlb")) {
        for o in &r.outcomes {
            assert!(!matches!(o, Outcome::Fail { .. }), "{}: {o:?}", r.name);
        }
    }
}
