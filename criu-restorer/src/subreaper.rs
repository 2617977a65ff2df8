//! The child-subreaper flag, as CRIU's `restore_child_subreaper` (task leaders only).

use crate::bail;
use crate::error::Result;
use crate::prctl_bits as pr;

/// Set `PR_SET_CHILD_SUBREAPER` to `v` (`task_restore_args.child_subreaper`); 0: nothing
/// to do.
pub fn restore(v: i32) -> Result {
    if v == 0 {
        return Ok(());
    }
    if let Err(e) = pr::set_child_subreaper(v) {
        bail!("Unable to set PR_SET_CHILD_SUBREAPER(", v, "): ", e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;

    fn subreaper() -> i32 {
        let mut v = 0;
        // SAFETY: PR_GET_CHILD_SUBREAPER writes one int.
        let r = unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut v as *mut i32) };
        assert_eq!(r, 0);
        v
    }

    #[test]
    fn subreaper_is_set() {
        in_child(|| {
            restore(0).unwrap();
            assert_eq!(subreaper(), 0);
            restore(1).unwrap();
            assert_eq!(subreaper(), 1);
        });
    }
}
