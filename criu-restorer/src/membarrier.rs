//! membarrier(2) registrations: CRIU's `restore_membarrier_registrations`, the last step
//! before the CR_STATE_RESTORE stage.

use pie_sys::thread::membarrier;

use crate::log::Hex;
use crate::{error::Failed, error::Result, pr_err, pr_info};

/// Register again for each command bit of `mask` (`ta->membarrier_registration_mask`:
/// bit `i` is the command `1 << i`). Every bit is tried; any that fails fails the
/// restore after the rest were tried, as CRIU's.
pub fn restore(mask: i32) -> Result {
    if mask == 0 {
        return Ok(());
    }
    pr_info!("Restoring membarrier() registrations ", Hex(mask as u32 as u64));

    // CRIU walks the mask as an unsigned long (so a negative int sign-extends).
    let bitmap = mask as i64 as u64;
    let mut ret = Ok(());
    for i in (0..u64::BITS).filter(|i| bitmap & (1 << i) != 0) {
        // x86's shift takes the count mod 32, as the C's `1 << i` does there.
        let err = match membarrier(1i32.wrapping_shl(i), 0, 0) {
            Ok(0) => continue,
            Ok(v) => v,
            Err(e) => e.neg(),
        };
        pr_err!("Can't restore membarrier(1 << ", i, ") registration: ", err);
        ret = Err(Failed);
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::thread::{
        MEMBARRIER_CMD_GET_REGISTRATIONS, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
    };

    #[test]
    fn registers_every_bit() {
        in_child(|| {
            let mask = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
            if restore(mask).is_err() {
                return 1;
            }
            match membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) {
                Ok(got) if got & mask == mask => 0,
                Ok(_) => 2,
                Err(_) => 3,
            }
        });
    }

    #[test]
    fn a_bad_bit_fails_after_the_others_are_registered() {
        in_child(|| {
            let good = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
            // Bit 30 is no command: EINVAL; the other bit is still registered.
            if restore(good | 1 << 30) != Err(Failed) {
                return 1;
            }
            match membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) {
                Ok(got) if got & good == good => 0,
                _ => 2,
            }
        });
    }

    #[test]
    fn nothing_to_do_for_an_empty_mask() {
        assert_eq!(restore(0), Ok(()));
    }
}
