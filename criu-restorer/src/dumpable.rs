//! The task's dumpable flag, as CRIU's `restore_dumpable_flag`: after the creds step,
//! since changing ids resets it.

use criu_abi::raw::MmEntry;

use crate::error::Result;
use crate::prctl_bits as pr;
use crate::{bail, pr_warn};

/// Restore `PR_SET_DUMPABLE` from the task's mm image.
pub fn restore(mm: &MmEntry) -> Result {
    if mm.has_dumpable == 0 {
        pr_warn!("Dumpable flag not present in criu dump.");
        return Ok(());
    }
    if mm.dumpable == 0 || mm.dumpable == 1 {
        if let Err(e) = pr::set_dumpable(mm.dumpable) {
            bail!("Unable to set PR_SET_DUMPABLE: ", e);
        }
        return Ok(());
    }
    // 2 (suid_dumpable) cannot be set by prctl: keep it if it is already so (the same
    // fs.suid_dumpable as at dump time), else fall back to the safe 0.
    let current = match pr::get_dumpable() {
        Ok(v) => v,
        Err(e) => e.neg(),
    };
    if mm.dumpable != current {
        pr_warn!(
            "Dumpable flag [",
            mm.dumpable,
            "] does not match current [",
            current,
            "]. Will fallback to setting it to 0 to disable it."
        );
        if let Err(e) = pr::set_dumpable(0) {
            bail!("Unable to set PR_SET_DUMPABLE: ", e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;

    fn mm(has: bool, v: i32) -> MmEntry {
        MmEntry {
            has_dumpable: has as _,
            dumpable: v,
            ..Default::default()
        }
    }

    #[test]
    fn dumpable_is_set_or_falls_back_to_zero() {
        in_child(|| {
            restore(&mm(true, 0)).unwrap();
            assert_eq!(pr::get_dumpable().unwrap(), 0);
            restore(&mm(true, 1)).unwrap();
            assert_eq!(pr::get_dumpable().unwrap(), 1);
            // Absent: left alone.
            restore(&mm(false, 0)).unwrap();
            assert_eq!(pr::get_dumpable().unwrap(), 1);
            // 2 while the current value is 1: falls back to 0.
            restore(&mm(true, 2)).unwrap();
            assert_eq!(pr::get_dumpable().unwrap(), 0);
        });
    }
}
