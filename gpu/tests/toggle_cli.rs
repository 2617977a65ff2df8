//! cuda-toggle as a program: without a driver, with bad usage, and against a fake
//! libcuda.so.1 (tests/fakes/fake_libcuda.c) that plays the checkpoint state machine.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_cuda-toggle");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn toggle(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("CUDA_TOGGLE_LIBCUDA");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run cuda-toggle");
    Run {
        code: o.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json(r: &Run) -> Value {
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout))
}

#[test]
fn without_libcuda_it_exits_3_and_says_which_driver_is_needed() {
    let me = std::process::id().to_string();
    let r = toggle(&["state", &me], &[]);
    assert_eq!(
        r.code, 3,
        "expected exit 3 (no driver). This machine seems to have a loadable libcuda.so.1, which this test assumes \
         it has not: stdout {:?} stderr {:?}",
        r.stdout, r.stderr
    );
    assert!(r.stderr.contains("libcuda.so.1"), "{}", r.stderr);
    assert!(
        r.stderr.contains(">= 570") && r.stderr.contains("CUDA 12.8"),
        "{}",
        r.stderr
    );
    let r = toggle(&["checkpoint", &me, "--json"], &[]);
    assert_eq!(r.code, 3);
    let j = json(&r);
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["kind"], "no_driver");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["state"],
        &["state", "x"],
        &["launch", "1"],
        &["checkpoint", "1", "--timeout-ms"],
        &["checkpoint", "1", "--timeout-ms", "-3"],
        &["restore", "1", "--timeout-ms", "9"],
        &["toggle", "1", "2"],
        &["toggle", "1", "--force"],
    ] {
        let r = toggle(args, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("usage:"), "{args:?}: {}", r.stderr);
    }
    let r = toggle(&["--help"], &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("cuda-toggle toggle PID"));
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pie-gpu-toggle");
    std::fs::create_dir_all(&d).unwrap();
    d.join(format!("{name}-{}", std::process::id()))
}

/// The fake driver and the one without checkpoint functions, built once.
fn fake_libs() -> &'static (PathBuf, PathBuf) {
    static LIBS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    LIBS.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/fake_libcuda.c");
        let build = |out: PathBuf, extra: &[&str]| {
            let st = Command::new("cc")
                .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
                .arg(&out)
                .args(extra)
                .arg(&src)
                .status()
                .expect("cc is needed to build the fake libcuda");
            assert!(st.success(), "building {}", out.display());
            out
        };
        (
            build(tmp("libcuda.so.1"), &[]),
            build(tmp("libcuda-old.so.1"), &["-DNO_CHECKPOINT_API"]),
        )
    })
}

struct Fake {
    state: PathBuf,
    lib: String,
}

impl Fake {
    fn new(name: &str, state: Option<u32>) -> Fake {
        let state_file = tmp(&format!("{name}.state"));
        let _ = std::fs::remove_file(&state_file);
        if let Some(s) = state {
            std::fs::write(&state_file, format!("{s}\n")).unwrap();
        }
        Fake {
            state: state_file,
            lib: fake_libs().0.display().to_string(),
        }
    }

    fn run(&self, args: &[&str], more: &[(&str, &str)]) -> Run {
        let st = self.state.display().to_string();
        let mut env = vec![
            ("CUDA_TOGGLE_LIBCUDA", self.lib.as_str()),
            ("FAKE_CUDA_STATE", st.as_str()),
        ];
        env.extend_from_slice(more);
        toggle(args, &env)
    }

    fn state(&self) -> String {
        std::fs::read_to_string(&self.state).unwrap().trim().to_string()
    }
}

#[test]
fn checkpoint_and_restore_through_the_driver_api() {
    let me = std::process::id().to_string();
    let f = Fake::new("cycle", Some(0));

    let r = f.run(&["state", &me], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("RUNNING") && r.stdout.contains("driver API 13.0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("restore thread {}", std::process::id() + 1)),
        "{}",
        r.stdout
    );

    let r = f.run(&["checkpoint", &me, "--timeout-ms", "1234"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("RUNNING -> CHECKPOINTED"), "{}", r.stdout);
    for step in ["cuInit", "lock", "checkpoint", "total"] {
        assert!(r.stdout.contains(step), "{step}: {}", r.stdout);
    }
    assert_eq!(f.state(), "2");
    // timeoutMs reached the driver at the documented offset, the rest zeroed.
    let lock = std::fs::read_to_string(format!("{}.lock", f.state.display())).unwrap();
    assert_eq!(lock.trim(), "timeoutMs=1234");

    // Wrong state: a second checkpoint.
    let r = f.run(&["checkpoint", &me], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already CHECKPOINTED"), "{}", r.stderr);

    let r = f.run(&["restore", &me, "--json"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = json(&r);
    assert_eq!(j["ok"], true);
    assert_eq!(j["state_before"], "CHECKPOINTED");
    assert_eq!(j["state_after"], "RUNNING");
    assert_eq!(j["driver_version"], 13000);
    let steps: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["cuInit", "restore", "unlock"]);
    assert!(j["cuda_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(f.state(), "0");

    // Wrong state: restore of a running process.
    let r = f.run(&["restore", &me, "--json"], &[]);
    assert_eq!(r.code, 1);
    assert_eq!(json(&r)["error"]["kind"], "state");
    assert!(r.stderr.contains("RUNNING (not checkpointed)"), "{}", r.stderr);

    // toggle both ways.
    let r = f.run(&["toggle", &me], &[]);
    assert_eq!((r.code, f.state()), (0, "2".to_string()), "{}", r.stderr);
    let r = f.run(&["toggle", &me], &[]);
    assert_eq!((r.code, f.state()), (0, "0".to_string()), "{}", r.stderr);
}

#[test]
fn lock_timeout_and_cuda_errors_are_named() {
    let me = std::process::id().to_string();
    let f = Fake::new("timeout", Some(0));
    let r = f.run(
        &["checkpoint", &me, "--timeout-ms", "5", "--json"],
        &[("FAKE_CUDA_LOCK_RESULT", "909")],
    );
    assert_eq!(r.code, 1);
    let j = json(&r);
    assert_eq!(j["error"]["kind"], "timeout");
    assert_eq!(j["error"]["name"], "CUDA_ERROR_TIMEOUT");
    assert_eq!(j["error"]["code"], 909);
    assert_eq!(j["state_after"], "RUNNING");
    assert!(
        r.stderr.contains("timeout") && r.stderr.contains("5 ms"),
        "{}",
        r.stderr
    );

    // A quick failure is a CUDA error with its name and text, not a timeout.
    let r = f.run(&["checkpoint", &me], &[("FAKE_CUDA_LOCK_RESULT", "1")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("cuCheckpointProcessLock failed: CUDA_ERROR_INVALID_VALUE (1): invalid argument"),
        "{}",
        r.stderr
    );
    // One the driver cannot name.
    let r = f.run(&["checkpoint", &me, "--json"], &[("FAKE_CUDA_LOCK_RESULT", "77")]);
    assert_eq!(r.code, 1);
    assert_eq!(json(&r)["error"]["name"], "CUresult 77");

    // Not a CUDA process.
    let g = Fake::new("nocuda", None);
    let r = g.run(&["state", &me], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("CUDA_ERROR_NOT_FOUND"), "{}", r.stderr);

    // No such process.
    let r = f.run(&["state", "999999999"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no such process"), "{}", r.stderr);
}

#[test]
fn old_drivers_count_as_no_driver() {
    let me = std::process::id().to_string();
    let st = tmp("old.state").display().to_string();
    let old = fake_libs().1.display().to_string();
    let r = toggle(
        &["state", &me],
        &[("CUDA_TOGGLE_LIBCUDA", &old), ("FAKE_CUDA_STATE", &st)],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("has no cuCheckpointProcess") && r.stderr.contains(">= 570"),
        "{}",
        r.stderr
    );

    let f = Fake::new("v124", Some(0));
    let r = f.run(&["state", &me], &[("FAKE_CUDA_VERSION", "12040")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("CUDA 12.4 only"), "{}", r.stderr);
}
