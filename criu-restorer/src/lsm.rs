//! LSM labels: the dumped task's profile (`attr/current`) and socket-creation label
//! (`attr/sockcreate`), written through CRIU's `/proc` fd for the calling thread.
//!
//! SELinux cannot relabel a threaded process, so for it CRIU sets `current` in the task
//! before its threads are made ([`set_selinux_context`]); every other LSM gets it in
//! each thread's creds step, and `sockcreate` is always set there (`creds::restore`).

use core::ffi::{c_char, CStr};

use criu_abi::raw::thread_creds_args;
use pie_sys::fd::BorrowedFd;
use pie_sys::oflags::OFlags;
use pie_sys::{fs, process};

use crate::error::Result;
use crate::{bail, pr_info};

/// CRIU's `Lsmtype` (`images/inventory.proto`), as `task_restore_args.lsm_type` holds it.
pub const LSMTYPE_NO_LSM: i32 = 0;
pub const LSMTYPE_SELINUX: i32 = 1;
pub const LSMTYPE_APPARMOR: i32 = 2;

/// Which `/proc/self/task/TID/attr/` file a label goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// The thread's own context (`current`).
    Current,
    /// The context of sockets the thread creates (`sockcreate`).
    SockCreate,
}

impl Attr {
    fn name(self) -> &'static str {
        match self {
            Attr::Current => "current",
            Attr::SockCreate => "sockcreate",
        }
    }
}

/// CRIU's `STD_LOG_SIMPLE_CHUNK`, the size of its path buffer.
const PATH_MAX: usize = 256;

/// A label pointer of CRIU's args (`thread_creds_args.lsm_profile`, `lsm_sockcreate`):
/// null when the image has none.
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated string that lives for `'a` (CRIU's
/// args area, relocated by `rst_reloc_creds`, stays mapped for the whole restore).
pub unsafe fn label_arg<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller vouches for a non-null `p`.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Write `label` (`None`: nothing to do) to the calling thread's `attr` file under
/// `proc_fd` (CRIU's `/proc` fd).
pub fn set_label(label: Option<&CStr>, attr: Attr, proc_fd: BorrowedFd<'_>) -> Result {
    let Some(label) = label else { return Ok(()) };
    pr_info!("restoring lsm profile (", attr.name(), ") ", label);

    let mut buf = [0u8; PATH_MAX];
    let path = attr_path(&mut buf, process::gettid(), attr);
    let fd = match fs::openat(proc_fd, path, OFlags::WRONLY, 0) {
        Ok(fd) => fd,
        Err(e) => bail!("failed openat ", e),
    };
    // One write, as CRIU does: the kernel takes a label whole or not at all.
    let ret = fs::write(&fd, label.to_bytes());
    drop(fd);
    if let Err(e) = ret {
        bail!("can't write lsm profile ", e);
    }
    Ok(())
}

/// The SELinux context, set in the task before its threads exist (CRIU's
/// `__export_restore_task`, right after the mm is restored); other LSMs: nothing here.
pub fn set_selinux_context(lsm_type: i32, creds: &thread_creds_args, proc_fd: BorrowedFd<'_>) -> Result {
    if lsm_type != LSMTYPE_SELINUX {
        return Ok(());
    }
    // SAFETY: CRIU's relocated creds args: a null or NUL-terminated label.
    set_label(unsafe { label_arg(creds.lsm_profile) }, Attr::Current, proc_fd)
}

/// `self/task/TID/attr/NAME`, relative to the `/proc` fd.
fn attr_path(buf: &mut [u8; PATH_MAX], tid: i32, attr: Attr) -> &CStr {
    let mut len = 0;
    let mut put = |s: &[u8]| {
        buf[len..len + s.len()].copy_from_slice(s);
        len += s.len();
    };
    put(b"self/task/");
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    let mut v = tid as u32;
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[n..]);
    put(b"/attr/");
    put(attr.name().as_bytes());
    put(b"\0");
    // At most 10 + 10 + 6 + 10 + 1 bytes, so the buffer always holds the NUL.
    CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A directory standing in for /proc: `self/task/TID/attr/{current,sockcreate}`.
    fn fake_proc() -> (std::path::PathBuf, std::fs::File) {
        let tid = process::gettid();
        let root = std::env::temp_dir().join(format!("criu-restorer-lsm-{}-{tid}", std::process::id()));
        let attr = root.join(format!("self/task/{tid}/attr"));
        std::fs::create_dir_all(&attr).unwrap();
        std::fs::write(attr.join("current"), b"").unwrap();
        std::fs::write(attr.join("sockcreate"), b"").unwrap();
        let dir = std::fs::File::open(&root).unwrap();
        (root, dir)
    }

    #[test]
    fn path_names_the_calling_thread() {
        let mut buf = [0; PATH_MAX];
        assert_eq!(
            attr_path(&mut buf, 1234, Attr::SockCreate),
            c"self/task/1234/attr/sockcreate"
        );
        assert_eq!(attr_path(&mut buf, 7, Attr::Current), c"self/task/7/attr/current");
    }

    #[test]
    fn labels_go_to_their_attr_files() {
        let (root, dir) = fake_proc();
        // SAFETY: `dir` outlives the borrow.
        let proc_fd = unsafe { BorrowedFd::borrow_raw(dir.as_raw_fd()) };
        let attr = root.join(format!("self/task/{}/attr", process::gettid()));

        set_label(Some(c"unconfined_t"), Attr::Current, proc_fd).unwrap();
        set_label(Some(c"sock_t"), Attr::SockCreate, proc_fd).unwrap();
        set_label(None, Attr::Current, proc_fd).unwrap();
        assert_eq!(std::fs::read(attr.join("current")).unwrap(), b"unconfined_t");
        assert_eq!(std::fs::read(attr.join("sockcreate")).unwrap(), b"sock_t");

        // SELinux only: the task-level call leaves other LSMs' labels to the creds step.
        let creds = thread_creds_args {
            lsm_profile: c"other".as_ptr().cast_mut(),
            ..Default::default()
        };
        set_selinux_context(LSMTYPE_APPARMOR, &creds, proc_fd).unwrap();
        assert_eq!(std::fs::read(attr.join("current")).unwrap(), b"unconfined_t");
        set_selinux_context(LSMTYPE_SELINUX, &creds, proc_fd).unwrap();
        assert_eq!(std::fs::read(attr.join("current")).unwrap(), b"otherfined_t");

        // No such file: the restore fails.
        std::fs::remove_file(attr.join("current")).unwrap();
        assert!(set_label(Some(c"x"), Attr::Current, proc_fd).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn lsm_types_are_the_trees() {
        let h = std::path::Path::new(criu_abi::built_from::TREE).join("images/inventory.pb-c.h");
        let text = std::fs::read_to_string(&h).unwrap();
        for (name, v) in [
            ("LSMTYPE__NO_LSM", LSMTYPE_NO_LSM),
            ("LSMTYPE__SELINUX", LSMTYPE_SELINUX),
            ("LSMTYPE__APPARMOR", LSMTYPE_APPARMOR),
        ] {
            assert!(text.contains(&format!("{name} = {v}")), "{name} in {}", h.display());
        }
    }
}
