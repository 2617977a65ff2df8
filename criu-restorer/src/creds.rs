//! A thread's credentials, as CRIU's `restore_creds`: supplementary groups, uids and
//! gids (real, effective, saved, fs), securebits, the bounding set, the permitted,
//! effective and inheritable sets, the ambient set, LSM labels and `no_new_privs`, in
//! that order, because each step needs privileges a later one gives up.

use criu_abi::raw::thread_creds_args;
use pie_sys::creds::{self as sys, CapUserData, CapUserHeader};
use pie_sys::fd::BorrowedFd;

use crate::error::Result;
use crate::lsm::{self, Attr, LSMTYPE_SELINUX};
use crate::prctl_bits as pr;
use crate::{bail, pr_warn};

/// CRIU's `MAX_GETGROUPS_CHECKED`: how many current groups it compares before calling
/// `setgroups`.
const GROUPS_CHECKED: usize = 512 / core::mem::size_of::<u32>();

/// Restore the calling thread's credentials from `ca` (CRIU's relocated
/// `thread_creds_args`). `proc_fd`: CRIU's `/proc` fd; `lsm_type`:
/// `task_restore_args.lsm_type`; `uid`: `task_restore_args.uid`, the uid CRIU runs as
/// (0 unless `--unprivileged`), which decides whether `SECURE_NO_SETUID_FIXUP` is set.
pub fn restore(ca: &thread_creds_args, proc_fd: BorrowedFd<'_>, lsm_type: i32, uid: u32) -> Result {
    let ce = &ca.creds;

    // Groups first, while CAP_SETGID is ours. In a user namespace where setgroups is
    // denied the list may already be right: then the call is skipped.
    if !ca.groups.is_null() {
        // SAFETY: CRIU points `groups` at `n_groups` gids in the restorer's args area
        // (relocated by `rst_reloc_creds`), mapped for the whole restore.
        let want = unsafe { crate::args::slice(ca.groups, ce.n_groups) };
        let mut have = [0u32; GROUPS_CHECKED];
        let same = matches!(sys::getgroups(&mut have), Ok(n) if n == want.len() && have[..n] == *want);
        if !same {
            if let Err(e) = sys::setgroups(want) {
                bail!("Can't setgroups([", ce.n_groups, " gids]): ", e);
            }
        }
    }

    // Ids already right need no CAP_SETUID/CAP_SETGID: skip them.
    let fsuid = sys::setfsuid(sys::ID_UNCHANGED);
    let fsgid = sys::setfsgid(sys::ID_UNCHANGED);
    let ids_match = match (sys::getresuid(), sys::getresgid()) {
        (Ok(u), Ok(g)) => {
            u == (ce.uid, ce.euid, ce.suid) && g == (ce.gid, ce.egid, ce.sgid) && fsuid == ce.fsuid && fsgid == ce.fsgid
        }
        _ => false,
    };
    if !ids_match {
        set_ids(ce, uid)?;
    }

    // Securebits: no longer needed in any particular state.
    if pr::get_securebits().map_or(true, |b| b as u32 != ce.secbits) {
        if let Err(e) = pr::set_securebits(ce.secbits) {
            bail!("Unable to set PR_SET_SECUREBITS: ", e);
        }
    }

    // The bounding set, while CAP_SETPCAP is still ours.
    let nnp = ce.has_no_new_privs != 0 && ce.no_new_privs != 0;
    for cap in caps(ca.cap_last_cap) {
        if has(&ca.cap_bnd, cap) {
            continue;
        }
        let Err(e) = pr::capbset_drop(cap) else { continue };
        if !nnp || has(&ca.cap_prm, cap) {
            bail!("Unable to drop capability ", cap, ": ", e);
        }
        // no_new_privs, set below, keeps a cap outside the permitted set from coming back.
        pr_warn!(
            "Unable to drop capability ",
            cap,
            " from bset: ",
            e,
            " (but NO_NEW_PRIVS will drop it)"
        );
    }

    let mut hdr = CapUserHeader {
        version: sys::LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data: [CapUserData; 2] = core::array::from_fn(|i| CapUserData {
        effective: ca.cap_eff[i],
        permitted: ca.cap_prm[i],
        inheritable: ca.cap_inh[i],
    });
    if let Err(e) = sys::capset(&mut hdr, &data) {
        bail!("Unable to restore capabilities: ", e);
    }

    for cap in caps(ca.cap_last_cap).filter(|&c| has(&ca.cap_amb, c)) {
        if let Err(e) = pr::cap_ambient_raise(cap) {
            bail!("Unable to raise ambient capability ", cap, ": ", e);
        }
    }

    // SELinux got `current` before the threads were made (lsm::set_selinux_context).
    if lsm_type != LSMTYPE_SELINUX {
        // SAFETY: CRIU's relocated creds args: a null or NUL-terminated label.
        lsm::set_label(unsafe { lsm::label_arg(ca.lsm_profile) }, Attr::Current, proc_fd)?;
    }
    // SAFETY: as above.
    lsm::set_label(unsafe { lsm::label_arg(ca.lsm_sockcreate) }, Attr::SockCreate, proc_fd)?;

    if nnp {
        if let Err(e) = pr::set_no_new_privs(ce.no_new_privs) {
            bail!("Unable to set no_new_privs=", ce.no_new_privs, ": ", e);
        }
    }
    Ok(())
}

/// Uids then gids, each `setres*id` then `setfs*id` (the latter last, since `setres*id`
/// moves the fs id along). As root, `SECURE_NO_SETUID_FIXUP` first, so that leaving uid 0
/// does not clear the capability sets still to be restored.
fn set_ids(ce: &criu_abi::raw::CredsEntry, uid: u32) -> Result {
    if uid == 0 {
        if let Err(e) = pr::set_securebits(1 << sys::SECURE_NO_SETUID_FIXUP) {
            bail!("Unable to set SECURE_NO_SETUID_FIXUP: ", e);
        }
    }
    if let Err(e) = sys::setresuid(ce.uid, ce.euid, ce.suid) {
        bail!("Unable to set real, effective and saved user ID: ", e);
    }
    sys::setfsuid(ce.fsuid);
    if sys::setfsuid(sys::ID_UNCHANGED) != ce.fsuid {
        bail!("Unable to set fsuid");
    }
    if let Err(e) = sys::setresgid(ce.gid, ce.egid, ce.sgid) {
        bail!("Unable to set real, effective and saved group ID: ", e);
    }
    sys::setfsgid(ce.fsgid);
    if sys::setfsgid(sys::ID_UNCHANGED) != ce.fsgid {
        bail!("Unable to set fsgid");
    }
    Ok(())
}

/// The capabilities CRIU walks: 0..=`cap_last_cap`, within its two 32-bit words.
fn caps(last: u32) -> impl Iterator<Item = u32> {
    (0..64).take_while(move |&c| c <= last)
}

/// Whether `cap` is in a two-word set.
fn has(set: &[u32; 2], cap: u32) -> bool {
    set[(cap / 32) as usize] & (1 << (cap % 32)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;
    use pie_sys::fd::CWD;

    fn cap_last_cap() -> u32 {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// `Field:\tvalue` of /proc/self/status.
    fn status(field: &str) -> String {
        let s = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(":\t").map(str::to_owned))
            .unwrap_or_else(|| panic!("{field} in status"))
    }

    fn groups_now() -> Vec<u32> {
        status("Groups")
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect()
    }

    fn hex_set(s: &str) -> u64 {
        u64::from_str_radix(s.trim(), 16).unwrap()
    }

    /// Creds with every id set to `id` and the given cap words.
    fn args(id: u32, groups: &mut [u32], eff: u64, prm: u64, inh: u64, bnd: u64, amb: u64) -> thread_creds_args {
        let mut ca = thread_creds_args::default();
        let ce = &mut ca.creds;
        (ce.uid, ce.euid, ce.suid, ce.fsuid) = (id, id, id, id);
        (ce.gid, ce.egid, ce.sgid, ce.fsgid) = (id + 1, id + 1, id + 1, id + 1);
        ce.n_groups = groups.len();
        ca.groups = groups.as_mut_ptr();
        ca.cap_last_cap = cap_last_cap();
        let w = |v: u64| [v as u32, (v >> 32) as u32];
        (ca.cap_eff, ca.cap_prm, ca.cap_inh, ca.cap_bnd, ca.cap_amb) = (w(eff), w(prm), w(inh), w(bnd), w(amb));
        ca
    }

    const NET_BIND: u64 = 1 << sys::CAP_NET_BIND_SERVICE;
    const KILL: u64 = 1 << sys::CAP_KILL;

    #[test]
    fn drops_to_a_uid_with_caps_groups_and_ambient() {
        in_child(|| {
            let mut groups = [7, 1000, 4242];
            let bnd = NET_BIND | KILL | (1 << sys::CAP_CHOWN);
            let mut ca = args(4321, &mut groups, NET_BIND, NET_BIND | KILL, NET_BIND, bnd, NET_BIND);
            ca.creds.has_no_new_privs = 1;
            ca.creds.no_new_privs = 1;
            restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).unwrap();

            assert_eq!(status("Uid"), "4321\t4321\t4321\t4321");
            assert_eq!(status("Gid"), "4322\t4322\t4322\t4322");
            assert_eq!(groups_now(), [7, 1000, 4242]);
            assert_eq!(hex_set(&status("CapEff")), NET_BIND);
            assert_eq!(hex_set(&status("CapPrm")), NET_BIND | KILL);
            assert_eq!(hex_set(&status("CapInh")), NET_BIND);
            assert_eq!(hex_set(&status("CapBnd")), bnd);
            assert_eq!(hex_set(&status("CapAmb")), NET_BIND);
            assert_eq!(status("NoNewPrivs"), "1");
            // secbits 0: SECURE_NO_SETUID_FIXUP was only for the id change.
            assert_eq!(pr::get_securebits().unwrap(), 0);
        });
    }

    #[test]
    fn same_ids_and_groups_need_no_privilege() {
        in_child(|| {
            let mut groups = [5];
            // A full bounding set: dropping from it would need CAP_SETPCAP again.
            let all = (1u64 << (cap_last_cap() + 1)) - 1;
            let mut ca = args(2000, &mut groups, 0, 0, 0, all, 0);
            restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).unwrap();
            // Now without any capability: a second restore of the same ids and groups
            // skips setgroups and setres*id, so it succeeds.
            restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).unwrap();
            assert_eq!(status("Uid"), "2000\t2000\t2000\t2000");
            // Other ids now need CAP_SETUID, which is gone: the restore fails.
            ca.creds.uid = 2001;
            assert!(restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).is_err());
            // Other groups need CAP_SETGID: fails before the ids are looked at.
            let mut other = [6];
            let ca = args(2000, &mut other, 0, 0, 0, all, 0);
            assert!(restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).is_err());
        });
    }

    #[test]
    fn keeps_root_ids_and_a_secbits_value() {
        in_child(|| {
            // What this root has (a container may hold back some caps).
            let all = hex_set(&status("CapPrm"));
            let mut groups = [];
            let mut ca = args(0, &mut groups, all, all, 0, all, 0);
            (ca.creds.gid, ca.creds.egid, ca.creds.sgid, ca.creds.fsgid) = (0, 0, 0, 0);
            ca.creds.secbits = 1 << sys::SECURE_NO_SETUID_FIXUP;
            restore(&ca, CWD, crate::lsm::LSMTYPE_NO_LSM, 0).unwrap();
            assert_eq!(status("Uid"), "0\t0\t0\t0");
            assert_eq!(pr::get_securebits().unwrap(), 1 << sys::SECURE_NO_SETUID_FIXUP);
            assert_eq!(groups_now(), [0u32; 0]);
            assert_eq!(hex_set(&status("CapEff")), all);
        });
    }
}
