//! gpu-restore-bench's whole flow without a GPU or CRIU: the fakes in tests/fakes/
//! stand in for python + the workload, cuda-toggle and criu (dump writes a pages file
//! and kills the task; restore starts the workload again and writes --pidfile).

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gpu-restore-bench");

/// A fresh directory with the fakes in it, executable.
fn setup(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pie-gpu-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes");
    for (src, dst) in [
        ("python", "python"),
        ("cuda-toggle", "cuda-toggle"),
        ("criu", "criu-stock"),
        ("criu", "criu-engine"),
    ] {
        let to = d.join(dst);
        std::fs::copy(fakes.join(src), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    json: Option<Value>,
}

fn bench(d: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let s = |p: PathBuf| p.display().to_string();
    let json = d.join("out.json");
    let mut c = Command::new(BIN);
    c.args(["--python", &s(d.join("python")), "--toggle", &s(d.join("cuda-toggle"))])
        .args(["--criu", &format!("stock={}", s(d.join("criu-stock")))])
        .args(["--criu", &format!("engine={}", s(d.join("criu-engine")))])
        .args(["--workdir", &s(d.join("work")), "--json", &s(json.clone())])
        .args([
            "--gib",
            "0.001",
            "--host-mib",
            "1",
            "--rounds",
            "2",
            "--limit-runs",
            "2",
        ])
        .args([
            "--ready-timeout",
            "30",
            "--step-timeout",
            "30",
            "--verify-timeout",
            "30",
        ])
        .env("FAKE_CRIU_CALLS", d.join("criu.calls"))
        .env("FAKE_TOGGLE_CALLS", d.join("toggle.calls"))
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run gpu-restore-bench");
    Run {
        code: o.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        json: std::fs::read_to_string(&json)
            .ok()
            .map(|t| serde_json::from_str(&t).expect("JSON")),
    }
}

fn lines(p: PathBuf) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn gone(pid: i64) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn the_whole_flow_with_fakes() {
    let d = setup("flow");
    let r = bench(&d, &[], &[]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let j = r.json.expect("JSON written");
    assert_eq!(j["ok"], true);
    assert_eq!(j["dump"]["pages_bytes"], 1 << 20);
    assert_eq!(j["dump"]["pages_files"], 1);
    // Each limit run copies into 4 KiB pages and into huge pages.
    let runs = j["limit"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs.iter().filter(|r| r["huge"] == true).count(), 2);
    assert!(j["limit"]["huge_median_s"].as_f64().unwrap() > 0.0);
    assert_eq!(j["workload"]["pre_checkpoint_verify"], "OK 0 0");
    let pid = j["workload"]["pid"].as_i64().unwrap();

    // Alternating order: stock, engine, then engine, stock; each verified.
    let rounds = j["rounds"].as_array().unwrap();
    let order: Vec<(u64, &str)> = rounds
        .iter()
        .map(|x| (x["round"].as_u64().unwrap(), x["restore"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [(1, "stock"), (1, "engine"), (2, "engine"), (2, "stock")]);
    for x in rounds {
        assert_eq!(x["verify"], "OK 0 0", "{x}");
        assert_eq!(x["verified"], true);
        assert!(x["criu_restore_s"].as_f64().unwrap() > 0.0);
        assert!(x["cuda_restore_s"].as_f64().unwrap() > 0.0);
        assert!(
            gone(x["restored_pid"].as_i64().unwrap()),
            "restored process left running: {x}"
        );
    }
    let summary = j["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0]["restore"], "stock");
    assert_eq!(summary[0]["x_baseline"], 1.0);
    assert!(summary[1]["limit_over_ours"].as_f64().unwrap() > 0.0);

    // The calls: one checkpoint of the workload, one CUDA restore per CRIU restore, of
    // the PID that criu restore wrote to --pidfile.
    let toggles = lines(d.join("toggle.calls"));
    assert_eq!(toggles[0], format!("checkpoint {pid} --json --timeout-ms 10000"));
    assert_eq!(toggles.len(), 5, "{toggles:?}");
    for (t, x) in toggles[1..].iter().zip(rounds) {
        assert_eq!(*t, format!("restore {} --json", x["restored_pid"]));
    }
    let criu = lines(d.join("criu.calls"));
    assert_eq!(criu.len(), 5, "{criu:?}");
    assert!(
        criu[0].starts_with(&format!("criu-stock dump -t {pid} -D ")),
        "{}",
        criu[0]
    );
    assert!(
        criu[0].contains(" -v4 -o ") && criu[0].ends_with("/dump.log"),
        "{}",
        criu[0]
    );
    let names = ["criu-stock", "criu-engine", "criu-engine", "criu-stock"];
    for (c, name) in criu[1..].iter().zip(names) {
        assert!(c.starts_with(&format!("{name} restore -D ")), "{c}");
        assert!(c.contains(" -d -v4 -o ") && c.contains(" --pidfile "), "{c}");
    }
    assert!(gone(pid));
    // The table, and the image directory removed without --keep.
    for s in [
        "CRIU dump",
        "CUDA checkpoint",
        "pages files 0.001 GB",
        "limit:",
        "x stock",
        "all 4 restores verified",
    ] {
        assert!(r.stdout.contains(s), "{s}: {}", r.stdout);
    }
    assert!(!d.join("work/img").exists());
    assert!(d.join("work/restore-engine-2.log").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_failed_verification_fails_the_run() {
    let d = setup("bad");
    // The fake criu passes its environment on to the task it restores.
    let r = bench(&d, &["--criu-env", "FAKE_BAD=1", "--rounds", "1", "--keep"], &[]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let j = r.json.unwrap();
    assert_eq!(j["ok"], false);
    for x in j["rounds"].as_array().unwrap() {
        assert_eq!(x["verify"], "BAD fake");
        assert_eq!(x["verified"], false);
        assert!(gone(x["restored_pid"].as_i64().unwrap()));
    }
    assert!(
        r.stdout.contains("FAILED: 2 of 2 restores did not verify"),
        "{}",
        r.stdout
    );
    assert!(d.join("work/img/pages-1.img").exists(), "--keep keeps the image");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_failed_step_kills_the_workload() {
    let d = setup("fail");
    let r = bench(&d, &[], &[("FAKE_TOGGLE_FAIL", "checkpoint")]);
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED: cuda-toggle checkpoint"), "{}", r.stdout);
    assert!(r.stdout.contains("fake failure"), "{}", r.stdout);
    let j = r.json.unwrap();
    assert_eq!(j["ok"], false);
    assert!(gone(j["workload"]["pid"].as_i64().unwrap()));
    assert!(
        lines(d.join("criu.calls")).is_empty(),
        "no dump after a failed checkpoint"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_failed_restore_is_reported_and_the_run_goes_on() {
    let d = setup("restore");
    // The engine "CRIU" fails: stock still restores and verifies.
    std::fs::write(
        d.join("criu-engine"),
        "#!/bin/sh\necho 'Error (criu/cr-restore.c): fake' >&2\nexit 1\n",
    )
    .unwrap();
    let r = bench(&d, &["--rounds", "1"], &[]);
    assert_eq!(r.code, 1);
    let j = r.json.unwrap();
    let rounds = j["rounds"].as_array().unwrap();
    assert_eq!(rounds[0]["verified"], true);
    assert!(
        rounds[1]["error"]
            .as_str()
            .unwrap()
            .contains("criu restore (engine) failed"),
        "{}",
        rounds[1]
    );
    assert!(rounds[1]["error"].as_str().unwrap().contains("fake"), "{}", rounds[1]);
    assert_eq!(j["summary"][0]["verified"], 1);
    assert_eq!(j["summary"][1]["verified"], 0);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_workload_that_dies_early_shows_its_log() {
    let d = setup("early");
    std::fs::write(
        d.join("python"),
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n",
    )
    .unwrap();
    let r = bench(&d, &[], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("the workload exited (exit status: 1) before it was ready"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("No module named 'torch'"), "{}", r.stdout);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    let o = Command::new(BIN).args(["--gib", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--criu NAME=PATH"));
    let o = Command::new(BIN).args(["--criu", "x=/y", "--bogus"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
}
