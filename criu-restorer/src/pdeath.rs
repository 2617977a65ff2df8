//! The parent-death signal, as CRIU's `restore_pdeath_sig`: after the creds step, since
//! changing ids clears it.

use crate::bail;
use crate::error::Result;
use crate::prctl_bits as pr;

/// Set `PR_SET_PDEATHSIG` to `sig` (`thread_restore_args.pdeath_sig`); 0: nothing to do.
pub fn restore(sig: i32) -> Result {
    if sig == 0 {
        return Ok(());
    }
    if let Err(e) = pr::set_pdeathsig(sig) {
        bail!("Unable to set PR_SET_PDEATHSIG(", sig, "): ", e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;

    fn pdeathsig() -> i32 {
        let mut sig = 0;
        // SAFETY: PR_GET_PDEATHSIG writes one int.
        let r = unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut sig as *mut i32) };
        assert_eq!(r, 0);
        sig
    }

    #[test]
    fn pdeath_signal_is_set() {
        in_child(|| {
            restore(0).unwrap();
            assert_eq!(pdeathsig(), 0);
            restore(libc::SIGUSR2).unwrap();
            assert_eq!(pdeathsig(), libc::SIGUSR2);
            assert!(restore(1000).is_err());
            assert_eq!(pdeathsig(), libc::SIGUSR2);
        });
    }
}
