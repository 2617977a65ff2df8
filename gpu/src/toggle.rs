//! `cuda-toggle`: checkpoint or restore a process's CUDA state by PID.
//!
//! ```text
//! cuda-toggle state PID                          state (and the CUDA restore thread's TID)
//! cuda-toggle checkpoint PID [--timeout-ms N]    lock (N ms, 0 = none; default 10000) + checkpoint
//! cuda-toggle restore PID                        restore + unlock
//! cuda-toggle toggle PID [--timeout-ms N]        RUNNING -> CHECKPOINTED, CHECKPOINTED -> RUNNING
//! --json anywhere: one JSON object on stdout
//! exit: 0 ok, 1 CUDA or state error (timeout included), 2 usage, 3 no driver (or < 570)
//! ```

use crate::cuda::{self, CheckpointApi, CuError, Driver, LoadError, ProcState};
use serde_json::{json, Value};
use std::io::Write;
use std::time::Instant;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_NO_DRIVER: i32 = 3;

pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

pub const USAGE: &str = "\
usage: cuda-toggle state PID [--json]
       cuda-toggle checkpoint PID [--timeout-ms N] [--json]   lock + checkpoint (N ms to lock, 0 = no limit; default 10000)
       cuda-toggle restore PID [--json]                       restore + unlock
       cuda-toggle toggle PID [--timeout-ms N] [--json]       RUNNING -> CHECKPOINTED, CHECKPOINTED -> RUNNING
exit status: 0 ok, 1 CUDA or state error, 2 usage, 3 no driver (libcuda.so.1 from driver >= 570 needed)
environment: CUDA_TOGGLE_LIBCUDA=PATH opens PATH instead of libcuda.so.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    State,
    Checkpoint,
    Restore,
    Toggle,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::State => "state",
            Action::Checkpoint => "checkpoint",
            Action::Restore => "restore",
            Action::Toggle => "toggle",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub action: Action,
    pub pid: i32,
    pub timeout_ms: u32,
    pub json: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Args),
    Help,
}

/// Parse the arguments after the program name.
pub fn parse(argv: &[String]) -> Result<Parsed, String> {
    let mut json = false;
    let mut timeout: Option<u32> = None;
    let mut pos = Vec::new();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => json = true,
            "--timeout-ms" => {
                let v = it.next().ok_or("--timeout-ms needs a value")?;
                timeout = Some(
                    v.parse()
                        .map_err(|_| format!("--timeout-ms: not a number of milliseconds: {v}"))?,
                );
            }
            s if s.starts_with("--timeout-ms=") => {
                let v = &s["--timeout-ms=".len()..];
                timeout = Some(
                    v.parse()
                        .map_err(|_| format!("--timeout-ms: not a number of milliseconds: {v}"))?,
                );
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            s => pos.push(s.to_string()),
        }
    }
    let action = match pos.first().map(String::as_str) {
        None => return Err("missing command".into()),
        Some("state") => Action::State,
        Some("checkpoint") => Action::Checkpoint,
        Some("restore") => Action::Restore,
        Some("toggle") => Action::Toggle,
        Some(c) => return Err(format!("unknown command {c}")),
    };
    let pid = match pos.get(1) {
        None => return Err(format!("{}: missing PID", action.name())),
        Some(p) => match p.parse::<i32>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("not a PID: {p}")),
        },
    };
    if pos.len() > 2 {
        return Err(format!("unexpected argument {}", pos[2]));
    }
    if timeout.is_some() && matches!(action, Action::State | Action::Restore) {
        return Err(format!(
            "--timeout-ms applies to checkpoint and toggle, not {}",
            action.name()
        ));
    }
    Ok(Parsed::Run(Args {
        action,
        pid,
        timeout_ms: timeout.unwrap_or(DEFAULT_TIMEOUT_MS),
        json,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Lock,
    Checkpoint,
    Restore,
    Unlock,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Lock => "lock",
            Step::Checkpoint => "checkpoint",
            Step::Restore => "restore",
            Step::Unlock => "unlock",
        }
    }
}

/// The driver calls that take `action` from `state`, or why it cannot be done.
pub fn plan(action: Action, state: ProcState) -> Result<Vec<Step>, String> {
    use ProcState::*;
    match (action, state) {
        (Action::State, _) => Ok(vec![]),
        (_, Failed) => Err("is FAILED (an uncorrectable error in an earlier checkpoint or restore)".into()),
        (_, Other(_)) => Err(format!("is in state {state}, which this tool does not handle")),
        (Action::Checkpoint | Action::Toggle, Running) => Ok(vec![Step::Lock, Step::Checkpoint]),
        (Action::Checkpoint, Locked) => Ok(vec![Step::Checkpoint]),
        (Action::Checkpoint, Checkpointed) => Err("is already CHECKPOINTED: nothing to checkpoint".into()),
        (Action::Restore | Action::Toggle, Checkpointed) => Ok(vec![Step::Restore, Step::Unlock]),
        (Action::Restore, Locked) => Ok(vec![Step::Unlock]),
        (Action::Restore, Running) => Err("is RUNNING (not checkpointed): nothing to restore".into()),
        (Action::Toggle, Locked) => {
            Err("is LOCKED: toggle goes RUNNING <-> CHECKPOINTED; use checkpoint or restore".into())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    NoDriver,
    NoProcess,
    State,
    Timeout,
    Cuda,
}

impl FailKind {
    fn name(self) -> &'static str {
        match self {
            FailKind::NoDriver => "no_driver",
            FailKind::NoProcess => "no_process",
            FailKind::State => "state",
            FailKind::Timeout => "timeout",
            FailKind::Cuda => "cuda",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailKind,
    pub message: String,
    pub cuda: Option<CuError>,
}

impl Failure {
    fn cuda(e: CuError, context: String) -> Failure {
        Failure {
            kind: FailKind::Cuda,
            message: format!("{context}: {e}"),
            cuda: Some(e),
        }
    }
}

/// What one invocation did: the states around it and each step's time.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub action: Action,
    pub pid: i32,
    pub library: String,
    pub driver_version: Option<i32>,
    pub state_before: Option<ProcState>,
    pub state_after: Option<ProcState>,
    pub restore_tid: Option<i32>,
    /// (step, seconds): cuInit and the checkpoint calls.
    pub steps: Vec<(String, f64)>,
    pub total_s: f64,
    pub error: Option<Failure>,
}

impl Outcome {
    pub fn new(action: Action, pid: i32, library: String) -> Outcome {
        Outcome {
            action,
            pid,
            library,
            driver_version: None,
            state_before: None,
            state_after: None,
            restore_tid: None,
            steps: vec![],
            total_s: 0.0,
            error: None,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match &self.error {
            None => EXIT_OK,
            Some(f) if f.kind == FailKind::NoDriver => EXIT_NO_DRIVER,
            Some(_) => EXIT_FAILED,
        }
    }

    /// Seconds in the lock/checkpoint/restore/unlock calls (not cuInit).
    pub fn cuda_seconds(&self) -> f64 {
        self.steps.iter().filter(|(n, _)| n != "cuInit").map(|(_, s)| s).sum()
    }

    pub fn to_json(&self) -> Value {
        let st = |s: Option<ProcState>| s.map(|s| s.name());
        json!({
            "ok": self.error.is_none(),
            "action": self.action.name(),
            "pid": self.pid,
            "library": self.library,
            "driver_version": self.driver_version,
            "state_before": st(self.state_before),
            "state_after": st(self.state_after),
            "restore_tid": self.restore_tid,
            "steps": self.steps.iter().map(|(n, s)| json!({"step": n, "seconds": s})).collect::<Vec<_>>(),
            "cuda_seconds": self.cuda_seconds(),
            "total_seconds": self.total_s,
            "error": self.error.as_ref().map(|f| json!({
                "kind": f.kind.name(),
                "message": f.message,
                "call": f.cuda.as_ref().map(|c| c.call),
                "code": f.cuda.as_ref().map(|c| c.code),
                "name": f.cuda.as_ref().map(|c| c.name.clone()),
                "string": f.cuda.as_ref().map(|c| c.text.clone()),
            })),
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let ver = self
            .driver_version
            .map(|v| format!(" (driver API {})", cuda::version_string(v)))
            .unwrap_or_default();
        let before = self.state_before.map(|s| s.name()).unwrap_or_else(|| "?".into());
        match (self.action, self.state_after) {
            (Action::State, _) => {
                s += &format!("pid {}: {}{}\n", self.pid, before, ver);
                if let Some(t) = self.restore_tid {
                    s += &format!("  restore thread {t}\n");
                }
            }
            (_, Some(after)) => s += &format!("pid {}: {} -> {}{}\n", self.pid, before, after, ver),
            (_, None) => s += &format!("pid {}: {}{}\n", self.pid, before, ver),
        }
        for (n, secs) in &self.steps {
            s += &format!("  {n:<12}{secs:>9.3} s\n");
        }
        s += &format!("  {:<12}{:>9.3} s\n", "total", self.total_s);
        s
    }
}

fn timed<T>(steps: &mut Vec<(String, f64)>, name: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    steps.push((name.to_string(), t.elapsed().as_secs_f64()));
    r
}

/// Run `args` against an initialised driver; fills `out` (states, steps, error).
pub fn execute(api: &dyn CheckpointApi, args: &Args, out: &mut Outcome) {
    let pid = args.pid;
    let before = match api.state(pid) {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(Failure::cuda(
                e,
                format!("pid {pid}: cannot get its CUDA state (is it a CUDA process?)"),
            ));
            return;
        }
    };
    out.state_before = Some(before);
    if args.action == Action::State {
        out.restore_tid = api.restore_thread_id(pid).ok();
        return;
    }
    let steps = match plan(args.action, before) {
        Ok(s) => s,
        Err(why) => {
            out.state_after = Some(before);
            out.error = Some(Failure {
                kind: FailKind::State,
                message: format!("cannot {} pid {pid}: it {why}", args.action.name()),
                cuda: None,
            });
            return;
        }
    };
    for step in steps {
        let t = Instant::now();
        let r = timed(&mut out.steps, step.name(), || match step {
            Step::Lock => api.lock(pid, args.timeout_ms),
            Step::Checkpoint => api.checkpoint(pid),
            Step::Restore => api.restore(pid),
            Step::Unlock => api.unlock(pid),
        });
        if let Err(e) = r {
            let now = api.state(pid).ok();
            out.state_after = now;
            let state = now.map(|s| s.name()).unwrap_or_else(|| "unknown".into());
            let elapsed_ms = t.elapsed().as_millis();
            let timed_out = step == Step::Lock
                && (e.code == cuda::CUDA_ERROR_TIMEOUT
                    || e.code == cuda::CUDA_ERROR_NOT_READY
                    || (args.timeout_ms > 0 && elapsed_ms * 10 >= args.timeout_ms as u128 * 9));
            let mut f = if timed_out {
                Failure {
                    kind: FailKind::Timeout,
                    message: format!(
                        "timeout: pid {pid} could not be locked within {} ms (took {elapsed_ms} ms; a CUDA call \
                         of the process may still be running): {e}; state now {state}",
                        args.timeout_ms
                    ),
                    cuda: Some(e),
                }
            } else {
                Failure::cuda(e, format!("pid {pid}: {} failed, state now {state}", step.name()))
            };
            // A checkpoint that failed after our own lock: give the process back.
            if step == Step::Checkpoint && before == ProcState::Running && now == Some(ProcState::Locked) {
                match api.unlock(pid) {
                    Ok(()) => {
                        f.message += "; unlocked it again";
                        out.state_after = api.state(pid).ok();
                    }
                    Err(u) => f.message += &format!("; unlocking it again failed too: {u}"),
                }
            }
            out.error = Some(f);
            return;
        }
    }
    match api.state(pid) {
        Ok(s) => out.state_after = Some(s),
        Err(e) => {
            out.error = Some(Failure::cuda(
                e,
                format!("pid {pid}: state after {}", args.action.name()),
            ))
        }
    }
}

/// The whole tool: parse, load the driver, run, print. Returns the exit status.
pub fn main_with(argv: &[String], stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let args = match parse(argv) {
        Ok(Parsed::Help) => {
            let _ = writeln!(stdout, "{USAGE}");
            return EXIT_OK;
        }
        Ok(Parsed::Run(a)) => a,
        Err(e) => {
            let _ = writeln!(stderr, "cuda-toggle: {e}\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    let start = Instant::now();
    let library = cuda::library_path();
    let mut out = Outcome::new(args.action, args.pid, library.clone());
    let no_driver = |e: LoadError| Failure {
        kind: FailKind::NoDriver,
        message: e.to_string(),
        cuda: None,
    };
    match Driver::load(&library) {
        Err(e) => out.error = Some(no_driver(e)),
        Ok(drv) => {
            if let Err(e) = timed(&mut out.steps, "cuInit", || drv.init()) {
                out.error = Some(Failure::cuda(e, "the driver did not initialise".into()));
            } else {
                match drv.driver_version() {
                    Err(e) => out.error = Some(Failure::cuda(e, "driver version".into())),
                    Ok(v) => {
                        out.driver_version = Some(v);
                        if v < cuda::MIN_DRIVER_VERSION {
                            out.error = Some(no_driver(LoadError::TooOld { version: v }));
                        } else if !std::path::Path::new(&format!("/proc/{}", args.pid)).exists() {
                            out.error = Some(Failure {
                                kind: FailKind::NoProcess,
                                message: format!("no such process: {}", args.pid),
                                cuda: None,
                            });
                        } else {
                            execute(&drv, &args, &mut out);
                        }
                    }
                }
            }
        }
    }
    out.total_s = start.elapsed().as_secs_f64();
    if args.json {
        let _ = writeln!(stdout, "{}", out.to_json());
    } else if out.state_before.is_some() {
        let _ = write!(stdout, "{}", out.to_text());
    }
    if let Some(f) = &out.error {
        let _ = writeln!(stderr, "cuda-toggle: {}", f.message);
    }
    out.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_commands_and_options() {
        let p = parse(&s(&["checkpoint", "42", "--timeout-ms", "500", "--json"])).unwrap();
        assert_eq!(
            p,
            Parsed::Run(Args {
                action: Action::Checkpoint,
                pid: 42,
                timeout_ms: 500,
                json: true
            })
        );
        let p = parse(&s(&["--json", "toggle", "7"])).unwrap();
        assert_eq!(
            p,
            Parsed::Run(Args {
                action: Action::Toggle,
                pid: 7,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                json: true
            })
        );
        let p = parse(&s(&["restore", "9"])).unwrap();
        assert_eq!(
            p,
            Parsed::Run(Args {
                action: Action::Restore,
                pid: 9,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                json: false
            })
        );
        assert_eq!(
            parse(&s(&["checkpoint", "3", "--timeout-ms=0"])).map(|p| match p {
                Parsed::Run(a) => a.timeout_ms,
                Parsed::Help => 1,
            }),
            Ok(0)
        );
        assert_eq!(parse(&s(&["--help"])), Ok(Parsed::Help));
    }

    #[test]
    fn rejects_bad_usage() {
        for bad in [
            &[][..],
            &["frobnicate", "1"],
            &["state"],
            &["state", "abc"],
            &["state", "0"],
            &["state", "-5"],
            &["state", "1", "2"],
            &["checkpoint", "1", "--timeout-ms"],
            &["checkpoint", "1", "--timeout-ms", "soon"],
            &["restore", "1", "--timeout-ms", "5"],
            &["state", "1", "--verbose"],
        ] {
            assert!(parse(&s(bad)).is_err(), "{bad:?} should be a usage error");
        }
    }

    #[test]
    fn plans_follow_the_state_machine() {
        use ProcState::*;
        assert_eq!(
            plan(Action::Checkpoint, Running),
            Ok(vec![Step::Lock, Step::Checkpoint])
        );
        assert_eq!(plan(Action::Checkpoint, Locked), Ok(vec![Step::Checkpoint]));
        assert!(plan(Action::Checkpoint, Checkpointed).is_err());
        assert_eq!(
            plan(Action::Restore, Checkpointed),
            Ok(vec![Step::Restore, Step::Unlock])
        );
        assert_eq!(plan(Action::Restore, Locked), Ok(vec![Step::Unlock]));
        assert!(plan(Action::Restore, Running).unwrap_err().contains("RUNNING"));
        assert_eq!(plan(Action::Toggle, Running), Ok(vec![Step::Lock, Step::Checkpoint]));
        assert_eq!(
            plan(Action::Toggle, Checkpointed),
            Ok(vec![Step::Restore, Step::Unlock])
        );
        assert!(plan(Action::Toggle, Locked).is_err());
        for a in [Action::Checkpoint, Action::Restore, Action::Toggle] {
            assert!(plan(a, Failed).is_err());
            assert!(plan(a, Other(4)).is_err());
        }
    }

    /// The driver's state machine, with failures to inject.
    struct Fake {
        state: Cell<u32>,
        calls: RefCell<Vec<String>>,
        fail: Option<(&'static str, u32)>,
        lock_delay_ms: u64,
    }

    impl Fake {
        fn new(state: u32) -> Fake {
            Fake {
                state: Cell::new(state),
                calls: RefCell::new(vec![]),
                fail: None,
                lock_delay_ms: 0,
            }
        }
        fn op(&self, call: &'static str, from: u32, to: u32) -> Result<(), CuError> {
            self.calls.borrow_mut().push(call.into());
            if let Some((c, code)) = self.fail {
                if c == call {
                    return Err(CuError {
                        call,
                        code,
                        name: format!("ERR{code}"),
                        text: "injected".into(),
                    });
                }
            }
            if self.state.get() != from {
                return Err(CuError {
                    call,
                    code: 401,
                    name: "CUDA_ERROR_ILLEGAL_STATE".into(),
                    text: "x".into(),
                });
            }
            self.state.set(to);
            Ok(())
        }
    }

    impl CheckpointApi for Fake {
        fn state(&self, _: i32) -> Result<ProcState, CuError> {
            Ok(ProcState::from_raw(self.state.get()))
        }
        fn restore_thread_id(&self, pid: i32) -> Result<i32, CuError> {
            Ok(pid + 1)
        }
        fn lock(&self, _: i32, _: u32) -> Result<(), CuError> {
            std::thread::sleep(std::time::Duration::from_millis(self.lock_delay_ms));
            self.op("lock", 0, 1)
        }
        fn checkpoint(&self, _: i32) -> Result<(), CuError> {
            self.op("checkpoint", 1, 2)
        }
        fn restore(&self, _: i32) -> Result<(), CuError> {
            self.op("restore", 2, 1)
        }
        fn unlock(&self, _: i32) -> Result<(), CuError> {
            self.op("unlock", 1, 0)
        }
    }

    fn run(fake: &Fake, action: Action, timeout_ms: u32) -> Outcome {
        let args = Args {
            action,
            pid: 100,
            timeout_ms,
            json: false,
        };
        let mut o = Outcome::new(action, 100, "fake".into());
        execute(fake, &args, &mut o);
        o
    }

    #[test]
    fn toggle_goes_both_ways() {
        let f = Fake::new(0);
        let o = run(&f, Action::Toggle, 1000);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(
            (o.state_before, o.state_after),
            (Some(ProcState::Running), Some(ProcState::Checkpointed))
        );
        let o = run(&f, Action::Toggle, 1000);
        assert_eq!(
            (o.state_before, o.state_after),
            (Some(ProcState::Checkpointed), Some(ProcState::Running))
        );
        assert_eq!(*f.calls.borrow(), ["lock", "checkpoint", "restore", "unlock"]);
        let names: Vec<_> = o.steps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["restore", "unlock"]);
        assert_eq!(o.exit_code(), EXIT_OK);
    }

    #[test]
    fn wrong_state_is_an_error_without_calls() {
        let f = Fake::new(0);
        let o = run(&f, Action::Restore, 0);
        let e = o.error.as_ref().unwrap();
        assert_eq!(e.kind, FailKind::State);
        assert!(e.message.contains("RUNNING"), "{}", e.message);
        assert_eq!(o.exit_code(), EXIT_FAILED);
        assert!(f.calls.borrow().is_empty());
        let f = Fake::new(2);
        assert_eq!(run(&f, Action::Checkpoint, 0).error.unwrap().kind, FailKind::State);
    }

    #[test]
    fn lock_timeout_is_reported_as_such() {
        let mut f = Fake::new(0);
        f.fail = Some(("lock", 909));
        let o = run(&f, Action::Checkpoint, 50);
        let e = o.error.unwrap();
        assert_eq!(e.kind, FailKind::Timeout);
        assert!(
            e.message.contains("50 ms") && e.message.contains("RUNNING"),
            "{}",
            e.message
        );
        // An unknown code after the whole timeout counts as a timeout too.
        let mut f = Fake::new(0);
        f.fail = Some(("lock", 999));
        f.lock_delay_ms = 60;
        assert_eq!(run(&f, Action::Checkpoint, 50).error.unwrap().kind, FailKind::Timeout);
        // And a quick one does not.
        f.lock_delay_ms = 0;
        let e = run(&f, Action::Checkpoint, 5000).error.unwrap();
        assert_eq!(e.kind, FailKind::Cuda);
        assert!(
            e.message.contains("ERR999") && e.message.contains("injected"),
            "{}",
            e.message
        );
    }

    #[test]
    fn failed_checkpoint_unlocks_again() {
        let mut f = Fake::new(0);
        f.fail = Some(("checkpoint", 2));
        let o = run(&f, Action::Checkpoint, 0);
        assert_eq!(o.error.as_ref().unwrap().kind, FailKind::Cuda);
        assert!(o.error.as_ref().unwrap().message.contains("unlocked it again"));
        assert_eq!(o.state_after, Some(ProcState::Running));
        assert_eq!(*f.calls.borrow(), ["lock", "checkpoint", "unlock"]);
    }

    #[test]
    fn state_reports_restore_thread_and_json() {
        let f = Fake::new(2);
        let mut o = run(&f, Action::State, 0);
        o.driver_version = Some(13000);
        assert_eq!(o.restore_tid, Some(101));
        let j = o.to_json();
        assert_eq!(j["ok"], true);
        assert_eq!(j["state_before"], "CHECKPOINTED");
        assert_eq!(j["restore_tid"], 101);
        assert!(o.to_text().contains("CHECKPOINTED (driver API 13.0)"));
    }
}
