//! QEMU test rig: boots Debian's packaged cloud kernel in `qemu-system-x86_64` with an
//! initramfs built here (busybox-static, Debian's `criu` and its libraries, the kernel
//! modules CRIU's checks need) and runs one shell scenario per boot. Results come back over
//! the serial console as `@@RIG ...` marker lines (see [`console`]).
//!
//! ```no_run
//! use qemu_rig::{Rig, Scenario};
//! let rig = Rig::get().unwrap();
//! let out = rig.run(&Scenario::new("criu_check", "rig_check criu-check criu check")).unwrap();
//! out.expect_pass(&["criu-check"]).unwrap();
//! ```
//!
//! See README.md for caching, logs and how KVM or TCG is chosen.

pub mod console;
pub mod cpio;
mod host;
mod qemu;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub use qemu::Accel;

/// Modules the guest's /init loads (with their dependencies) before the scenario: what
/// `criu check` and socket/netns dumping need. Names as `modprobe` takes them.
pub const GUEST_MODULES: &[&str] = &[
    "nf_tables",
    "inet_diag",
    "tcp_diag",
    "udp_diag",
    "raw_diag",
    "unix_diag",
    "netlink_diag",
    "af_packet_diag",
    "tun",
    "veth",
];

/// The default deadline of a scenario (the VM is killed when it runs longer).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// Everything that can go wrong; cloneable so that a failed preparation is reported to
/// every caller of [`Rig::get`].
#[derive(Debug, Clone)]
pub enum Error {
    /// A tool, package or file the rig needs is missing or failed.
    Setup(String),
    /// A file-system operation failed.
    Io { context: String, error: String },
    /// The scenario is malformed (bad name, unreadable host file).
    Scenario(String),
    /// QEMU did not start, or the guest did not reach the end of /init.
    Guest {
        scenario: String,
        reason: String,
        log_path: PathBuf,
        console_tail: String,
    },
    /// The scenario ran past its deadline and QEMU was killed.
    Deadline {
        scenario: String,
        deadline: Duration,
        log_path: PathBuf,
        console_tail: String,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, e: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            error: e.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(s) => write!(f, "qemu-rig setup: {s}"),
            Error::Io { context, error } => write!(f, "qemu-rig: {context}: {error}"),
            Error::Scenario(s) => write!(f, "qemu-rig scenario: {s}"),
            Error::Guest {
                scenario,
                reason,
                log_path,
                console_tail,
            } => write!(
                f,
                "qemu-rig: scenario {scenario}: {reason} (console log {}); last console lines:\n{console_tail}",
                log_path.display()
            ),
            Error::Deadline {
                scenario,
                deadline,
                log_path,
                console_tail,
            } => write!(
                f,
                "qemu-rig: scenario {scenario} ran past its deadline of {deadline:?} and was killed \
                 (console log {}); last console lines:\n{console_tail}",
                log_path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Where a [`GuestFile`]'s content comes from.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// A host file, read when the initramfs is built.
    Path(PathBuf),
    /// Literal bytes.
    Bytes(Vec<u8>),
    /// A symbolic link to the given target (mode is ignored).
    Symlink(String),
}

/// A file put into the initramfs at `guest_path` (absolute; parents are created).
#[derive(Debug, Clone)]
pub struct GuestFile {
    pub guest_path: String,
    pub source: FileSource,
    /// Permission bits (e.g. 0o755); file-type bits are ignored.
    pub mode: u32,
}

impl GuestFile {
    pub fn bytes(guest_path: impl Into<String>, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        GuestFile {
            guest_path: guest_path.into(),
            source: FileSource::Bytes(data.into()),
            mode,
        }
    }

    pub fn host(guest_path: impl Into<String>, host_path: impl Into<PathBuf>, mode: u32) -> Self {
        GuestFile {
            guest_path: guest_path.into(),
            source: FileSource::Path(host_path.into()),
            mode,
        }
    }
}

/// One boot of the VM running one script.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `[A-Za-z0-9_.-]+`; names the console log `target/qemu-logs/<name>.log`.
    pub name: String,
    /// Shell (busybox ash) run by /init after set-up, with /rig/lib.sh's helpers
    /// (`rig_result`, `rig_check`, `rig_fetch`, `rig_wait_file`) defined. stdin is /dev/null,
    /// stdout/stderr the serial console. Its exit status comes back as
    /// [`RunOutcome::exit_status`].
    pub script: String,
    /// Extra files for the initramfs (see [`add_binary_with_libs`]).
    pub files: Vec<GuestFile>,
    /// Wall-clock limit for the boot, from QEMU's start (waiting for the VM lock excluded).
    pub deadline: Duration,
    /// Guest paths (shell globs allowed) sent back after the script ends; they appear in
    /// [`RunOutcome::files`] under their expanded paths. Scripts may also call `rig_fetch`.
    pub fetch: Vec<String>,
    /// Guest memory.
    pub memory_mb: u32,
}

impl Scenario {
    /// A scenario with no extra files, nothing to fetch, [`DEFAULT_DEADLINE`] and 2 GiB.
    pub fn new(name: impl Into<String>, script: impl Into<String>) -> Self {
        Scenario {
            name: name.into(),
            script: script.into(),
            files: Vec::new(),
            deadline: DEFAULT_DEADLINE,
            fetch: Vec::new(),
            memory_mb: 2048,
        }
    }
}

/// What one boot produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The whole serial console (kernel log, /init and scenario output, markers).
    pub console: String,
    /// `(name, passed, detail)` from `@@RIG result` lines, in order.
    pub results: Vec<(String, bool, String)>,
    /// Fetched files by guest path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// `target/qemu-logs/<name>.log`.
    pub log_path: PathBuf,
    /// From QEMU's start to its exit.
    pub elapsed: Duration,
    /// The scenario script's exit status.
    pub exit_status: Option<i32>,
    /// Problems with fetched files (missing, garbled).
    pub file_errors: Vec<String>,
}

impl RunOutcome {
    /// The result named `name`, if the guest reported one (the last if several).
    pub fn result(&self, name: &str) -> Option<(bool, &str)> {
        self.results
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, ok, d)| (*ok, d.as_str()))
    }

    /// Ok if every result named in `expected` was reported as PASS, no result at all was
    /// reported FAIL, and no fetched file was missing or garbled; else a message naming
    /// them and the console log.
    pub fn expect_pass(&self, expected: &[&str]) -> Result<(), String> {
        let mut problems = Vec::new();
        for name in expected {
            if self.result(name).is_none() {
                problems.push(format!("result `{name}` was not reported"));
            }
        }
        for (name, ok, detail) in &self.results {
            if !ok {
                problems.push(format!("result `{name}` FAILED: {detail}"));
            }
        }
        problems.extend(self.file_errors.iter().map(|e| format!("fetch: {e}")));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}\n(console log {}; last lines:)\n{}",
                problems.join("\n"),
                self.log_path.display(),
                tail(&self.console, 80)
            ))
        }
    }
}

pub(crate) fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// The prepared rig: Debian's kernel and modules, busybox, criu and its libraries (cached under
/// `target/qemu-cache/`), the base initramfs in memory and the chosen accelerator.
pub struct Rig {
    kernel_package: String,
    kernel_version: String,
    vmlinuz: PathBuf,
    base: cpio::CpioWriter,
    qemu: PathBuf,
    accel: Accel,
    cache_dir: PathBuf,
    log_dir: PathBuf,
}

impl fmt::Debug for Rig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rig")
            .field("kernel_package", &self.kernel_package)
            .field("kernel_version", &self.kernel_version)
            .field("accel", &self.accel)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Rig {
    /// The rig, prepared once per process (thread-safe); preparation holds an exclusive lock
    /// on `<cache>/.lock` so concurrent test processes share the cache safely. A failure is
    /// returned to every caller: tests must fail, not skip, when QEMU or the kernel is missing.
    pub fn get() -> Result<&'static Rig, Error> {
        static RIG: OnceLock<Result<Rig, Error>> = OnceLock::new();
        RIG.get_or_init(Rig::prepare).as_ref().map_err(Clone::clone)
    }

    fn prepare() -> Result<Rig, Error> {
        let target = target_dir();
        let cache_dir = target.join("qemu-cache");
        let log_dir = target.join("qemu-logs");
        for d in [&cache_dir, &log_dir] {
            fs::create_dir_all(d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
        }
        let _lock = lock_file(&cache_dir.join(".lock"))?;

        let qemu = host::which("qemu-system-x86_64", "qemu-system-x86")?;
        let busybox = host::which("busybox", "busybox-static")?;
        if !host::elf_is_static(&busybox)? {
            return Err(Error::Setup(format!(
                "{} is dynamically linked: install Debian's `busybox-static`",
                busybox.display()
            )));
        }
        let criu = host::which("criu", "criu")?;
        host::which("depmod", "kmod")?;
        host::which("ldd", "libc-bin")?;

        let package = host::kernel_package()?;
        let kernel = host::ensure_kernel(&cache_dir, &package)?;
        let modules = host::module_closure(&kernel, GUEST_MODULES)?;
        let stage = cache_dir.join("kernel").join(&package).join("initroot");
        host::stage_modules(&kernel, &stage, &modules)?;

        let mut w = cpio::CpioWriter::new();
        for d in [
            "bin", "sbin", "usr/bin", "usr/sbin", "lib", "lib64", "etc", "proc", "sys", "dev", "tmp", "run", "root",
            "var/tmp", "mnt", "rig",
        ] {
            w.dir(d, 0o755);
        }
        w.char_dev("dev/console", 0o600, 5, 1);
        w.char_dev("dev/null", 0o666, 1, 3);
        w.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644);
        w.file("etc/group", b"root:x:0:\n", 0o644);
        w.file("etc/hostname", b"rig\n", 0o644);

        // busybox and its applets.
        let bb = fs::read(&busybox).map_err(|e| Error::io("reading busybox", e))?;
        w.file("bin/busybox", &bb, 0o755);
        let list = host::run(std::process::Command::new(&busybox).arg("--list-full"))?;
        for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            // `bin/busybox` itself is in the list: a link to itself would ELOOP.
            if applet == "bin/busybox" || applet.ends_with("/busybox") {
                continue;
            }
            w.symlink(applet, "/bin/busybox");
        }

        // criu and its libraries.
        let mut files = Vec::new();
        try_add_binary_with_libs(&mut files, &criu, "/usr/sbin/criu")?;
        add_files(&mut w, &files)?;

        // Kernel modules (with modules.dep from depmod).
        for (rel, path) in host::walk(&stage)? {
            let data = fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            w.file(&rel, &data, 0o644);
        }
        let names: Vec<String> = GUEST_MODULES.iter().map(|m| m.to_string()).collect();
        w.file("rig/modules", format!("{}\n", names.join("\n")).as_bytes(), 0o644);
        w.file("init", include_bytes!("guest/init.sh"), 0o755);
        w.file("rig/lib.sh", include_bytes!("guest/lib.sh"), 0o644);

        let mut rig = Rig {
            kernel_package: package,
            kernel_version: kernel.version.clone(),
            vmlinuz: kernel.vmlinuz.clone(),
            base: w,
            qemu,
            accel: Accel::tcg(),
            cache_dir,
            log_dir,
        };
        rig.accel = qemu::choose_accel(&rig)?;
        Ok(rig)
    }

    /// The guest kernel's release, e.g. `6.1.0-56-cloud-amd64`.
    pub fn kernel_version(&self) -> &str {
        &self.kernel_version
    }

    /// The Debian package the kernel came from, e.g. `linux-image-6.1.0-56-cloud-amd64`.
    pub fn kernel_package(&self) -> &str {
        &self.kernel_package
    }

    /// The accelerator and CPU model every boot uses.
    pub fn accel(&self) -> &Accel {
        &self.accel
    }

    /// `target/qemu-cache`.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// `target/qemu-logs`.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Boots the VM with the scenario and waits for it to power off or hit its deadline.
    /// VMs run one at a time (a process-wide mutex and `<cache>/vm.lock`): the machine this
    /// was built for has two cores and TCG uses both.
    /// Ok means the guest ran /init to its end; check [`RunOutcome::results`] (or
    /// [`RunOutcome::expect_pass`]) for the scenario's verdicts.
    pub fn run(&self, s: &Scenario) -> Result<RunOutcome, Error> {
        qemu::run(self, s)
    }
}

/// An exclusive `flock` on `path`, released when the returned file is dropped.
pub(crate) fn lock_file(path: &Path) -> Result<fs::File, Error> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    f.lock()
        .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
    Ok(f)
}

pub(crate) fn add_files(w: &mut cpio::CpioWriter, files: &[GuestFile]) -> Result<(), Error> {
    for f in files {
        if !f.guest_path.starts_with('/') {
            return Err(Error::Scenario(format!(
                "guest path {:?} is not absolute",
                f.guest_path
            )));
        }
        match &f.source {
            FileSource::Bytes(b) => w.file(&f.guest_path, b, f.mode),
            FileSource::Path(p) => {
                let data = fs::read(p).map_err(|e| Error::Scenario(format!("reading {}: {e}", p.display())))?;
                w.file(&f.guest_path, &data, f.mode);
            }
            FileSource::Symlink(t) => w.symlink(&f.guest_path, t),
        }
    }
    Ok(())
}

/// Adds the ELF at `host_path` as `guest_path` (mode 0755) and every shared library `ldd`
/// resolves for it, the dynamic loader included, at the paths the loader looks for them.
/// Entries already in `files` (same guest path) are not added twice.
///
/// # Panics
/// If the file is not an ELF or a library cannot be resolved; see [`try_add_binary_with_libs`].
pub fn add_binary_with_libs(files: &mut Vec<GuestFile>, host_path: &Path, guest_path: &str) {
    if let Err(e) = try_add_binary_with_libs(files, host_path, guest_path) {
        panic!("add_binary_with_libs({}): {e}", host_path.display());
    }
}

/// [`add_binary_with_libs`], returning the error instead of panicking.
pub fn try_add_binary_with_libs(files: &mut Vec<GuestFile>, host_path: &Path, guest_path: &str) -> Result<(), Error> {
    let libs = host::ldd(host_path)?;
    let mut push = |guest: &str, host: PathBuf| {
        if !files.iter().any(|f| f.guest_path == guest) {
            files.push(GuestFile::host(guest, host, 0o755));
        }
    };
    push(guest_path, host_path.to_path_buf());
    for (guest, host) in libs {
        push(&guest, host);
    }
    Ok(())
}

/// The workspace root: the nearest ancestor of `CARGO_MANIFEST_DIR` (at run time, else this
/// crate's) holding a `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut dir = start.as_path();
    loop {
        if dir.join("Cargo.lock").is_file() {
            return dir.to_path_buf();
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        }
    }
}

/// `CARGO_TARGET_DIR` if set (relative to the workspace root when relative), else
/// `<workspace root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => {
            let p = PathBuf::from(t);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        _ => workspace_root().join("target"),
    }
}
