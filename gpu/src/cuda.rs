//! The CUDA driver's checkpoint API (CUDA >= 12.8, driver >= 570), loaded from
//! `libcuda.so.1` at run time, so that nothing CUDA is needed to build.
//!
//! Prototypes (NVIDIA CUDA Driver API, "CUDA Checkpointing",
//! <https://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__CHECKPOINT.html>):
//!
//! ```c
//! CUresult cuCheckpointProcessGetState(int pid, CUprocessState *state);
//! CUresult cuCheckpointProcessGetRestoreThreadId(int pid, int *tid);
//! CUresult cuCheckpointProcessLock(int pid, CUcheckpointLockArgs *args);
//! CUresult cuCheckpointProcessCheckpoint(int pid, CUcheckpointCheckpointArgs *args);
//! CUresult cuCheckpointProcessRestore(int pid, CUcheckpointRestoreArgs *args);
//! CUresult cuCheckpointProcessUnlock(int pid, CUcheckpointUnlockArgs *args);
//! ```
//!
//! Lock: RUNNING -> LOCKED ("If timeoutMs is specified and the timeout is reached the
//! process will be left in the RUNNING state"); checkpoint: LOCKED -> CHECKPOINTED;
//! restore: CHECKPOINTED -> LOCKED ("requires persistence mode to be enabled or cuInit
//! to have been called"); unlock: LOCKED -> RUNNING.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::fmt;

/// `CUresult` (`enum cudaError_enum`, an int-sized C enum).
pub type CUresult = c_uint;
pub const CUDA_SUCCESS: CUresult = 0;
/// `CUDA_ERROR_NOT_READY`
pub const CUDA_ERROR_NOT_READY: CUresult = 600;
/// `CUDA_ERROR_TIMEOUT`
pub const CUDA_ERROR_TIMEOUT: CUresult = 909;

/// The first driver API version with the checkpoint functions: 12.8 (driver r570).
pub const MIN_DRIVER_VERSION: i32 = 12080;
/// Said whenever the driver or one of its functions is missing.
pub const NEED_DRIVER: &str = "the CUDA checkpoint API needs an NVIDIA driver >= 570 (CUDA 12.8)";

// The argument structs, as cuda.h defines them. Every one is 64 bytes; this tool
// always passes them zeroed except for `timeoutMs`.
//
// Sources (layouts checked in the tests below and against a C compiler in
// tests/fakes/fake_libcuda.c):
// - CUcheckpointLockArgs: NVIDIA CUDA Driver API data types, 7.7,
//   https://docs.nvidia.com/cuda/cuda-driver-api/structCUcheckpointLockArgs.html
//   `unsigned int timeoutMs; unsigned int reserved0; cuuint64_t reserved1[7];`
//   (declaration order as in the 13.x reference, 7.50, and in bindgen's output of
//   cuda.h 12.8/12.9/13.0 in coreylowman/cudarc src/driver/sys/mod.rs @ 8995648e).
// - CUcheckpointCheckpointArgs, CUcheckpointUnlockArgs: `cuuint64_t reserved[8];`
//   (structCUcheckpointUnlockArgs.html; cudarc as above, 12.8/12.9/13.0).
// - CUcheckpointRestoreArgs: 12.8 and 12.9 `cuuint64_t reserved[8]`; 13.0 (driver 580)
//   `CUcheckpointGpuPair *gpuPairs; unsigned int gpuPairsCount;
//    char reserved[52 - sizeof(CUcheckpointGpuPair *)]; cuuint64_t reserved1;`
//   (https://docs.nvidia.com/cuda/cuda-driver-api/structCUcheckpointRestoreArgs.html;
//   cudarc as above, feature cuda-13000). All zeroes mean "no GPU remapping" in both.

/// `CUcheckpointLockArgs`: 64 bytes, `timeoutMs` at 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUcheckpointLockArgs {
    /// Milliseconds to try to lock for; 0: no timeout.
    pub timeout_ms: c_uint,
    pub reserved0: c_uint,
    pub reserved1: [u64; 7],
}

/// `CUcheckpointCheckpointArgs`: 64 reserved bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUcheckpointCheckpointArgs {
    pub reserved: [u64; 8],
}

/// `CUcheckpointRestoreArgs` (13.0 layout; 64 bytes like 12.8's `reserved[8]`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUcheckpointRestoreArgs {
    /// `CUcheckpointGpuPair *`: NULL, no remapping.
    pub gpu_pairs: *mut c_void,
    pub gpu_pairs_count: c_uint,
    pub reserved: [u8; 44],
    pub reserved1: u64,
}

impl Default for CUcheckpointRestoreArgs {
    fn default() -> Self {
        CUcheckpointRestoreArgs {
            gpu_pairs: std::ptr::null_mut(),
            gpu_pairs_count: 0,
            reserved: [0; 44],
            reserved1: 0,
        }
    }
}

/// `CUcheckpointUnlockArgs`: 64 reserved bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUcheckpointUnlockArgs {
    pub reserved: [u64; 8],
}

/// `CUprocessState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    Running,
    Locked,
    Checkpointed,
    Failed,
    /// Any other value (13.x previews add CHECKPOINTING = 4 and RESTORING = 5).
    Other(u32),
}

impl ProcState {
    pub fn from_raw(v: u32) -> ProcState {
        match v {
            0 => ProcState::Running,
            1 => ProcState::Locked,
            2 => ProcState::Checkpointed,
            3 => ProcState::Failed,
            n => ProcState::Other(n),
        }
    }

    pub fn name(self) -> String {
        match self {
            ProcState::Running => "RUNNING".into(),
            ProcState::Locked => "LOCKED".into(),
            ProcState::Checkpointed => "CHECKPOINTED".into(),
            ProcState::Failed => "FAILED".into(),
            ProcState::Other(4) => "CHECKPOINTING".into(),
            ProcState::Other(5) => "RESTORING".into(),
            ProcState::Other(n) => format!("UNKNOWN({n})"),
        }
    }
}

impl fmt::Display for ProcState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A failed driver call: the function, the code, its name and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuError {
    pub call: &'static str,
    pub code: CUresult,
    pub name: String,
    pub text: String,
}

impl fmt::Display for CuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} ({}): {}", self.call, self.name, self.code, self.text)
    }
}

/// Why the driver could not be used at all (exit code 3 of cuda-toggle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// dlopen failed.
    NoLibrary { path: String, reason: String },
    /// A function is missing from the library.
    NoSymbol { path: String, symbol: &'static str },
    /// cuDriverGetVersion reports a driver older than 12.8.
    TooOld { version: i32 },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NoLibrary { path, reason } => {
                write!(f, "no NVIDIA driver: cannot load {path} ({reason}); {NEED_DRIVER}")
            }
            LoadError::NoSymbol { path, symbol } => {
                write!(f, "{path} has no {symbol}: driver too old; {NEED_DRIVER}")
            }
            LoadError::TooOld { version } => {
                write!(
                    f,
                    "driver supports CUDA {} only; {NEED_DRIVER}",
                    version_string(*version)
                )
            }
        }
    }
}

/// 13000 -> "13.0".
pub fn version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// The checkpoint operations, so that the state machine can be tested with a fake.
pub trait CheckpointApi {
    fn state(&self, pid: i32) -> Result<ProcState, CuError>;
    fn restore_thread_id(&self, pid: i32) -> Result<i32, CuError>;
    fn lock(&self, pid: i32, timeout_ms: u32) -> Result<(), CuError>;
    fn checkpoint(&self, pid: i32) -> Result<(), CuError>;
    fn restore(&self, pid: i32) -> Result<(), CuError>;
    fn unlock(&self, pid: i32) -> Result<(), CuError>;
}

type FnInit = unsafe extern "C" fn(c_uint) -> CUresult;
type FnVersion = unsafe extern "C" fn(*mut c_int) -> CUresult;
type FnErrStr = unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult;
type FnState = unsafe extern "C" fn(c_int, *mut c_uint) -> CUresult;
type FnTid = unsafe extern "C" fn(c_int, *mut c_int) -> CUresult;
type FnLock = unsafe extern "C" fn(c_int, *mut CUcheckpointLockArgs) -> CUresult;
type FnCheckpoint = unsafe extern "C" fn(c_int, *mut CUcheckpointCheckpointArgs) -> CUresult;
type FnRestore = unsafe extern "C" fn(c_int, *mut CUcheckpointRestoreArgs) -> CUresult;
type FnUnlock = unsafe extern "C" fn(c_int, *mut CUcheckpointUnlockArgs) -> CUresult;

/// libcuda.so.1 with every function this tool calls resolved.
pub struct Driver {
    init: FnInit,
    version: FnVersion,
    error_name: FnErrStr,
    error_string: FnErrStr,
    get_state: FnState,
    get_tid: FnTid,
    lock: FnLock,
    checkpoint: FnCheckpoint,
    restore: FnRestore,
    unlock: FnUnlock,
    // Keeps the function pointers above valid.
    _lib: libloading::Library,
}

/// The library to open: `$CUDA_TOGGLE_LIBCUDA` if set (tests, odd installs), else the
/// driver's soname.
pub fn library_path() -> String {
    std::env::var("CUDA_TOGGLE_LIBCUDA").unwrap_or_else(|_| "libcuda.so.1".into())
}

impl Driver {
    /// dlopen the driver and resolve every function (no call into it yet).
    pub fn load(path: &str) -> Result<Driver, LoadError> {
        // SAFETY: loading the NVIDIA driver library runs its initialisers, which is what
        // every CUDA program does.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::NoLibrary {
            path: path.into(),
            reason: e.to_string(),
        })?;
        macro_rules! sym {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the symbol has this C prototype in cuda.h (see the module docs);
                // the pointer is copied out and used only while `lib` lives in the Driver.
                let s: Result<libloading::Symbol<$ty>, _> = unsafe { lib.get(concat!($name, "\0").as_bytes()) };
                *s.map_err(|_| LoadError::NoSymbol {
                    path: path.into(),
                    symbol: $name,
                })?
            }};
        }
        Ok(Driver {
            init: sym!("cuInit", FnInit),
            version: sym!("cuDriverGetVersion", FnVersion),
            error_name: sym!("cuGetErrorName", FnErrStr),
            error_string: sym!("cuGetErrorString", FnErrStr),
            get_state: sym!("cuCheckpointProcessGetState", FnState),
            get_tid: sym!("cuCheckpointProcessGetRestoreThreadId", FnTid),
            lock: sym!("cuCheckpointProcessLock", FnLock),
            checkpoint: sym!("cuCheckpointProcessCheckpoint", FnCheckpoint),
            restore: sym!("cuCheckpointProcessRestore", FnRestore),
            unlock: sym!("cuCheckpointProcessUnlock", FnUnlock),
            _lib: lib,
        })
    }

    /// cuInit(0).
    pub fn init(&self) -> Result<(), CuError> {
        // SAFETY: plain C call with an integer flag.
        self.check("cuInit", unsafe { (self.init)(0) })
    }

    /// cuDriverGetVersion, e.g. 13000 for CUDA 13.0.
    pub fn driver_version(&self) -> Result<i32, CuError> {
        let mut v: c_int = 0;
        // SAFETY: writes one int.
        self.check("cuDriverGetVersion", unsafe { (self.version)(&mut v) })?;
        Ok(v)
    }

    fn err_text(&self, f: FnErrStr, code: CUresult) -> Option<String> {
        let mut p: *const c_char = std::ptr::null();
        // SAFETY: the driver stores a pointer to a static string (or leaves it NULL).
        let r = unsafe { f(code, &mut p) };
        if r != CUDA_SUCCESS || p.is_null() {
            return None;
        }
        // SAFETY: NUL-terminated static string owned by the driver.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    fn check(&self, call: &'static str, code: CUresult) -> Result<(), CuError> {
        if code == CUDA_SUCCESS {
            return Ok(());
        }
        Err(CuError {
            call,
            code,
            name: self
                .err_text(self.error_name, code)
                .unwrap_or_else(|| format!("CUresult {code}")),
            text: self
                .err_text(self.error_string, code)
                .unwrap_or_else(|| "unknown error".into()),
        })
    }
}

impl CheckpointApi for Driver {
    fn state(&self, pid: i32) -> Result<ProcState, CuError> {
        let mut s: c_uint = u32::MAX;
        // SAFETY: writes one enum value.
        self.check("cuCheckpointProcessGetState", unsafe { (self.get_state)(pid, &mut s) })?;
        Ok(ProcState::from_raw(s))
    }

    fn restore_thread_id(&self, pid: i32) -> Result<i32, CuError> {
        let mut tid: c_int = 0;
        // SAFETY: writes one int.
        self.check("cuCheckpointProcessGetRestoreThreadId", unsafe {
            (self.get_tid)(pid, &mut tid)
        })?;
        Ok(tid)
    }

    fn lock(&self, pid: i32, timeout_ms: u32) -> Result<(), CuError> {
        let mut a = CUcheckpointLockArgs {
            timeout_ms,
            ..Default::default()
        };
        // SAFETY: a valid, zeroed 64-byte argument struct that outlives the call.
        self.check("cuCheckpointProcessLock", unsafe { (self.lock)(pid, &mut a) })
    }

    fn checkpoint(&self, pid: i32) -> Result<(), CuError> {
        let mut a = CUcheckpointCheckpointArgs::default();
        // SAFETY: as above.
        self.check("cuCheckpointProcessCheckpoint", unsafe {
            (self.checkpoint)(pid, &mut a)
        })
    }

    fn restore(&self, pid: i32) -> Result<(), CuError> {
        let mut a = CUcheckpointRestoreArgs::default();
        // SAFETY: as above; gpuPairs NULL and count 0: restore onto the same GPUs.
        self.check("cuCheckpointProcessRestore", unsafe { (self.restore)(pid, &mut a) })
    }

    fn unlock(&self, pid: i32) -> Result<(), CuError> {
        let mut a = CUcheckpointUnlockArgs::default();
        // SAFETY: as above.
        self.check("cuCheckpointProcessUnlock", unsafe { (self.unlock)(pid, &mut a) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    // The documented layouts (see the sources above the struct definitions).
    #[test]
    fn lock_args_layout() {
        assert_eq!(size_of::<CUcheckpointLockArgs>(), 64);
        assert_eq!(align_of::<CUcheckpointLockArgs>(), 8);
        assert_eq!(offset_of!(CUcheckpointLockArgs, timeout_ms), 0);
        assert_eq!(offset_of!(CUcheckpointLockArgs, reserved0), 4);
        assert_eq!(offset_of!(CUcheckpointLockArgs, reserved1), 8);
    }

    #[test]
    fn checkpoint_and_unlock_args_layout() {
        assert_eq!(size_of::<CUcheckpointCheckpointArgs>(), 64);
        assert_eq!(size_of::<CUcheckpointUnlockArgs>(), 64);
        assert_eq!(align_of::<CUcheckpointCheckpointArgs>(), 8);
        assert_eq!(align_of::<CUcheckpointUnlockArgs>(), 8);
    }

    #[test]
    fn restore_args_layout() {
        // 13.0: gpuPairs 0..8, gpuPairsCount 8..12, char reserved[52 - 8] 12..56,
        // cuuint64_t reserved1 56..64.
        assert_eq!(size_of::<CUcheckpointRestoreArgs>(), 64);
        assert_eq!(align_of::<CUcheckpointRestoreArgs>(), 8);
        assert_eq!(offset_of!(CUcheckpointRestoreArgs, gpu_pairs), 0);
        assert_eq!(offset_of!(CUcheckpointRestoreArgs, gpu_pairs_count), 8);
        assert_eq!(offset_of!(CUcheckpointRestoreArgs, reserved), 12);
        assert_eq!(offset_of!(CUcheckpointRestoreArgs, reserved1), 56);
    }

    #[test]
    fn default_args_are_all_zero() {
        fn bytes<T>(v: &T) -> &[u8] {
            // SAFETY: reading the plain-data struct's own bytes (no padding in these).
            unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }
        }
        assert!(bytes(&CUcheckpointLockArgs::default()).iter().all(|&b| b == 0));
        assert!(bytes(&CUcheckpointCheckpointArgs::default()).iter().all(|&b| b == 0));
        assert!(bytes(&CUcheckpointRestoreArgs::default()).iter().all(|&b| b == 0));
        assert!(bytes(&CUcheckpointUnlockArgs::default()).iter().all(|&b| b == 0));
    }

    #[test]
    fn states_and_versions() {
        assert_eq!(ProcState::from_raw(0), ProcState::Running);
        assert_eq!(ProcState::from_raw(1), ProcState::Locked);
        assert_eq!(ProcState::from_raw(2), ProcState::Checkpointed);
        assert_eq!(ProcState::from_raw(3), ProcState::Failed);
        assert_eq!(ProcState::from_raw(5).name(), "RESTORING");
        assert_eq!(ProcState::from_raw(77).name(), "UNKNOWN(77)");
        assert_eq!(version_string(12080), "12.8");
        assert_eq!(version_string(13000), "13.0");
    }

    #[test]
    fn missing_library_is_a_load_error() {
        let e = Driver::load("/nonexistent/libcuda.so.1").err().unwrap();
        assert!(matches!(e, LoadError::NoLibrary { .. }));
        assert!(e.to_string().contains(">= 570"), "{e}");
    }
}
