//! zdtm's static suite, for each CRIU fixture (4.1.1, 4.2.1), with that version's stock
//! restorer and with the Rust restorer built against it, alternating from one test to
//! the next in one run (the binaries differ only by `restorer.built-in.o`). Each test of
//! tests/zdtm/stock-VERSION.txt must pass with stock, each of
//! tests/zdtm/rust-restorer-VERSION.txt with ours (a listed test that fails gets one
//! retry with that binary alone, reported when it passes then). Tests of
//! tests/zdtm/not-run.txt are left out: they cannot pass on these machines and only cost
//! minutes. The pass lists, the table, the JSON and a one-line summary go to
//! target/zdtm/. The hugetlb tests get their huge pages and give them back.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use criu_src::{Source, CRIU_4_1_1, CRIU_4_2_1, FIXTURES};
use zdtm::{hugepages, report, Binary, Config, Outcome, Report};

/// zdtm runs must not overlap: cgroup tests share the machine's hierarchies, and the
/// hugetlb tests its huge-page pool.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

const NOT_RUN: &str = "tests/zdtm/not-run.txt";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stock_list(v: &Source) -> String {
    format!("tests/zdtm/stock-{}.txt", v.version)
}

fn ours_list(v: &Source) -> String {
    format!("tests/zdtm/rust-restorer-{}.txt", v.version)
}

/// The test names of a committed list.
fn read(list: &str) -> Vec<String> {
    let text = fs::read_to_string(root().join(list)).unwrap_or_else(|e| panic!("{list}: {e}"));
    zdtm::list::read_list(&text)
}

/// The tests of the committed list `list` that did not pass with binary `b`: (name, why).
fn missing(rep: &Report, b: usize, list: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in &read(list) {
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

/// The suite with CRIU `v`'s stock and Rust restorers, checked against its two lists.
fn parity(v: &Source) {
    let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t = criu_pie::testbed::trees_of(v).unwrap_or_else(|e| panic!("{e}"));
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../zdtm");
    fs::create_dir_all(&out).unwrap();
    let not_run: BTreeSet<String> = read(NOT_RUN).into_iter().collect();
    let tests: Vec<String> = zdtm::list::all(&t.fixture.zdtm_static())
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .filter(|n| !not_run.contains(n))
        .collect();
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
        tests: Some(tests),
        dump_args: vec![],
        restore_args: vec![],
        step_timeout: Duration::from_secs(60),
        workdir: out.join(format!("work-{}", v.version)),
        hugepages: 64,
        progress: true,
    };
    let rep = zdtm::run(&cfg).unwrap();
    assert_eq!(hugepages::read().unwrap(), before, "vm.nr_hugepages was not put back");

    let table = report::table(&rep);
    fs::write(out.join(format!("parity-{}.txt", v.version)), &table).unwrap();
    fs::write(
        out.join(format!("parity-{}.json", v.version)),
        serde_json::to_string_pretty(&report::json(&rep)).unwrap(),
    )
    .unwrap();
    let mut summary = format!("zdtm static suite, CRIU {}:", v.version);
    for (b, who) in [(0, "stock"), (1, "rust-restorer")] {
        let file = out.join(format!("{who}-{}.pass", v.version));
        let passed: String = rep.passed(b).iter().map(|t| format!("{t}\n")).collect();
        fs::write(&file, passed).unwrap();
        let (p, f, s) = report::counts(&rep, b);
        summary += &format!(" {who} {p} passed, {f} failed, {s} skipped;");
    }
    summary += &format!(
        " {} tests run ({} of {NOT_RUN} left out) in {:.0} s; lists in {}",
        rep.results.len(),
        not_run.len(),
        rep.secs,
        out.display()
    );
    fs::write(
        out.join(format!("parity-{}.summary", v.version)),
        format!("{summary}\n"),
    )
    .unwrap();
    // Past the harness's capture: the figures belong in CI's log.
    let _ = writeln!(std::io::stderr(), "{summary}");

    let stock = retry(&cfg, 0, missing(&rep, 0, &stock_list(v)));
    let ours = retry(&cfg, 1, missing(&rep, 1, &ours_list(v)));
    assert!(
        stock.is_empty() && ours.is_empty(),
        "tests of {} that did not pass with stock:\n{}\n\n\
         tests of {} that did not pass with the Rust restorer:\n{}\n\n{table}",
        stock_list(v),
        stock.join("\n"),
        ours_list(v),
        ours.join("\n")
    );
    for r in rep.results.iter().filter(|r| r.name.contains("hugetlb")) {
        for o in &r.outcomes {
            assert!(!matches!(o, Outcome::Fail { .. }), "{}: {o:?}", r.name);
        }
    }
}

#[test]
fn zdtm_static_suite_criu_4_1_1_stock_and_rust_restorer() {
    parity(&CRIU_4_1_1);
}

#[test]
fn zdtm_static_suite_criu_4_2_1_stock_and_rust_restorer() {
    parity(&CRIU_4_2_1);
}

/// The lists themselves, without running anything: each fixture has both, ours holds
/// every test stock passes (a test that passes with stock CRIU and not with ours is a
/// restorer bug to fix, never one to leave off), and no listed test is left out of the run.
#[test]
fn every_fixture_has_both_lists_and_ours_holds_all_of_stocks() {
    let not_run: BTreeSet<String> = read(NOT_RUN).into_iter().collect();
    for v in FIXTURES {
        let stock: BTreeSet<String> = read(&stock_list(v)).into_iter().collect();
        let ours: BTreeSet<String> = read(&ours_list(v)).into_iter().collect();
        assert!(stock.len() > 100, "{}: {} tests", stock_list(v), stock.len());
        let lost: Vec<_> = stock.difference(&ours).collect();
        assert!(
            lost.is_empty(),
            "{} lacks tests of {}: {lost:?}",
            ours_list(v),
            stock_list(v)
        );
        let skipped: Vec<_> = ours.intersection(&not_run).collect();
        assert!(skipped.is_empty(), "{NOT_RUN} leaves out listed tests: {skipped:?}");
    }
}
