//! Tests' fork-like children: a phase that changes process state (limits, timers,
//! pending signals, registrations) runs in one, so the test process stays as it was.

use restorer::sys::process::{exit_group, wait4, WaitOptions, WaitStatus};
use restorer::sys::signal::SIGCHLD;
use restorer::sys::thread::{clone3, CloneArgs};

/// Run `f` in a fork-like child and assert that it exited with 0 (a panic exits 99).
pub fn in_child<F: FnOnce() -> i32>(f: F) {
    let args = CloneArgs {
        exit_signal: SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: fork-like: no CLONE_VM and no new stack, so the child continues here on its
    // own copy of memory; it only runs `f` and exits.
    let pid = unsafe { clone3(&args) }.expect("clone3 fork-like");
    if pid == 0 {
        /// Leaves the child with code 99 should `f` unwind.
        struct ExitOnUnwind;
        impl Drop for ExitOnUnwind {
            fn drop(&mut self) {
                exit_group(99)
            }
        }
        let guard = ExitOnUnwind;
        let code = f();
        core::mem::forget(guard);
        exit_group(code);
    }
    let mut st = WaitStatus::default();
    loop {
        match wait4(pid, Some(&mut st), WaitOptions::empty(), None) {
            Ok(_) => break,
            Err(e) if e == restorer::sys::errno::Errno::EINTR => continue,
            Err(e) => panic!("wait4: {e:?}"),
        }
    }
    assert!(
        st.exited() && st.exit_code() == 0,
        "child failed: exited {}, code {}, signal {}",
        st.exited(),
        st.exit_code(),
        st.term_sig()
    );
}
