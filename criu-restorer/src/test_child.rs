//! Tests that change process state (creds, seccomp, prctl flags) run in a forked child,
//! which reports by its exit status.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Set in a forked child: its panics are reported on fd 2 directly, since the harness
/// captures test output into a buffer of the parent that the child's copy loses.
static IN_CHILD: AtomicBool = AtomicBool::new(false);

/// The panic hook is replaced once, in the parent and before any fork, so that no child
/// inherits the hook's lock held.
fn report_child_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_CHILD.load(Ordering::Relaxed) {
                let line = format!("in child: {info}\n");
                // SAFETY: writes the bytes of a live String to fd 2.
                unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            } else {
                default(info)
            }
        }));
    });
}

/// Run `f` in a forked child; panic here if it panicked (or died) there.
pub fn in_child(f: impl FnOnce()) {
    let status = child_status(|| {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 101 }) };
    });
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status:#x}"
    );
}

/// Fork, run `f` (which must end the child) there, and return the child's wait status.
pub fn child_status(f: impl FnOnce()) -> i32 {
    report_child_panics();
    // SAFETY: the child runs only `f`, which ends it; it never returns into the test
    // harness. fork's usual caveat (other threads' locks) is the test's risk to take.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        IN_CHILD.store(true, Ordering::Relaxed);
        f();
        // SAFETY: as above.
        unsafe { libc::_exit(102) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    status
}

/// Run `f` in a forked child that exits with the code `f` returns (a panic counts as a
/// failure), and assert that code was 0.
pub fn in_child_code(f: impl FnOnce() -> i32) {
    let status = child_status(|| {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    });
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status:#x} (exit code {})",
        libc::WEXITSTATUS(status)
    );
}
