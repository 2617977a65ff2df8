//! Resource limits: CRIU's `restore_rlims`, every dumped limit set in resource order.

use criu_abi::raw::rlimit64;
use pie_sys::sched::{setrlimit, Rlimit};

/// Set resource limit `r` to `rlims[r]` for every `r` (`ta->rlims`, `ta->rlims_n`).
/// A limit the kernel refuses stays as it was: CRIU ignores setrlimit's result.
pub fn restore(rlims: &[rlimit64]) {
    for (resource, l) in rlims.iter().enumerate() {
        let _ = setrlimit(
            resource as i32,
            &Rlimit {
                cur: l.rlim_cur,
                max: l.rlim_max,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::sched::getrlimit;

    const RLIMIT_STACK: usize = 3;
    const RLIMIT_CORE: usize = 4;
    const RLIMIT_NOFILE: usize = 7;
    const RLIM_NLIMITS: usize = 16;

    #[test]
    fn sets_each_limit_and_skips_a_refused_one() {
        in_child(|| {
            let mut lims = [rlimit64::default(); RLIM_NLIMITS];
            for (r, l) in lims.iter_mut().enumerate() {
                let cur = getrlimit(r as i32).unwrap();
                l.rlim_cur = cur.cur;
                l.rlim_max = cur.max;
            }
            let stack_before = getrlimit(RLIMIT_STACK as i32).unwrap();
            lims[RLIMIT_NOFILE].rlim_cur = 77;
            lims[RLIMIT_NOFILE].rlim_max = 99;
            lims[RLIMIT_CORE] = rlimit64 {
                rlim_cur: 4096,
                rlim_max: 8192,
            };
            // cur above max: EINVAL, which must neither stop the later limits nor change it.
            lims[RLIMIT_STACK] = rlimit64 {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 20,
            };
            restore(&lims);
            let nofile = getrlimit(RLIMIT_NOFILE as i32).unwrap();
            let core = getrlimit(RLIMIT_CORE as i32).unwrap();
            let stack = getrlimit(RLIMIT_STACK as i32).unwrap();
            if (nofile.cur, nofile.max) != (77, 99) {
                return 1;
            }
            if (core.cur, core.max) != (4096, 8192) {
                return 2;
            }
            if stack != stack_before {
                return 3;
            }
            0
        });
    }
}
