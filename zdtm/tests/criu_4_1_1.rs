//! CRIU 4.1.1, built from Debian's source package by the fixture, on this machine's
//! kernel: `criu check`, and a patterned process dumped and restored with every byte of
//! its memory compared with the pattern afterwards.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criu_src::CriuTree;
use zdtm::sandbox::{self, Sandbox};
use zdtm::step::{self, Ran};

/// tests/harness/pattern_workload.c's seed and layout.
const SEED: u64 = 0x5eed;
const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;
const STEP: Duration = Duration::from_secs(120);

fn tree() -> CriuTree {
    CriuTree::fixture().unwrap_or_else(|e| panic!("{e}"))
}

fn work(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("criu-4.1.1-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn tail(path: &Path) -> String {
    criu_src::tail_lines(&fs::read_to_string(path).unwrap_or_default(), 20)
}

#[test]
fn criu_check_looks_good() {
    let t = tree();
    let out = Command::new(t.criu()).arg("check").output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("Looks good."),
        "criu check:\n{text}"
    );
    for h in t.generated_headers() {
        assert!(h.is_file(), "{} missing", h.display());
    }
    assert!(t.pie_dir().join("restorer.built-in.o").is_file());
    assert!(t.criu_include().join("restorer.h").is_file());
}

fn workload(dir: &Path) -> PathBuf {
    let exe = dir.join("pattern_workload");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/pattern_workload.c");
    let cc = cc::Build::new()
        .opt_level(2)
        .target("x86_64-unknown-linux-gnu")
        .host("x86_64-unknown-linux-gnu")
        .get_compiler();
    let st = cc.to_command().arg("-o").arg(&exe).arg(&src).status().unwrap();
    assert!(st.success(), "compile {}", src.display());
    exe
}

/// Every page of the workload's three VMAs: the pattern where it wrote, zeros elsewhere.
fn verify(pid: i32, base: u64) {
    let mem = fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let read = |addr: u64, len: u64| {
        let mut buf = vec![0u8; len as usize];
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf, addr).unwrap();
        buf
    };
    let zero = vec![0u8; PAGE as usize];
    let check = |start: u64, pages: u64, written: &dyn Fn(u64) -> bool, what: &str| {
        let buf = read(start, pages * PAGE);
        for i in 0..pages {
            let page = &buf[(i * PAGE) as usize..((i + 1) * PAGE) as usize];
            let addr = start + i * PAGE;
            if written(i) {
                let bad = criu_image::synth::check_pattern(SEED, addr, page);
                assert!(bad.is_none(), "{what}: page {i} ({addr:#x}) differs at byte {bad:?}");
            } else {
                assert!(page == zero.as_slice(), "{what}: hole page {i} ({addr:#x}) is not zero");
            }
        }
    };
    check(base, 96 * MIB / PAGE, &|i| i % 16 != 15, "VMA A");
    check(base + 96 * MIB, 16 * MIB / PAGE, &|i| i % 2 == 0, "VMA B");
    check(
        base + 112 * MIB,
        4 * MIB / PAGE,
        &|i| i < 2 * MIB / PAGE,
        "VMA C (file)",
    );
}

#[test]
fn a_patterned_process_survives_dump_and_restore() {
    let t = tree();
    let dir = work("pattern");
    let exe = workload(&dir);
    let img = dir.join("img");
    fs::create_dir_all(&img).unwrap();
    let mut sb = Sandbox::new().unwrap();

    let ready = dir.join("ready");
    // Its std fds are opened inside the sandbox: CRIU cannot resolve the mount of an fd
    // opened in the host's mount namespace.
    let mut wl = sb.command("sh", &dir).unwrap();
    wl.args(["-c", "exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1"])
        .arg(&exe)
        .arg(&ready)
        .arg(dir.join("backing"));
    let mut child = wl.spawn().unwrap();
    let pid = child.id() as i32;
    let line = (0..6000)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            fs::read_to_string(&ready).ok().filter(|s| s.ends_with('\n'))
        })
        .expect("the workload did not get ready in 60 s");
    let base = u64::from_str_radix(line.split_whitespace().nth(2).unwrap().trim_start_matches("0x"), 16).unwrap();
    verify(pid, base);

    let mut dump = sb.command(t.criu(), &dir).unwrap();
    dump.arg("dump")
        .arg("-t")
        .arg(pid.to_string())
        .arg("-D")
        .arg(&img)
        .args(["-o", "dump.log", "-v4", "--shell-job"]);
    let ran = step::run(dump, &dir.join("dump.out"), STEP);
    assert!(ran.success(), "criu dump: {ran:?}\n{}", tail(&img.join("dump.log")));
    // CRIU killed it; it was our child, so reap it to free its PID for the restore.
    child.wait().unwrap();

    let mut restore = sb.command(t.criu(), &dir).unwrap();
    let rpid_file = img.join("restore.pid");
    restore
        .arg("restore")
        .arg("-d")
        .arg("-D")
        .arg(&img)
        .args(["-o", "restore.log", "-v4", "--shell-job"]);
    restore.arg("--pidfile").arg(&rpid_file);
    let ran = step::run(restore, &dir.join("restore.out"), STEP);
    assert!(
        matches!(ran, Ran::Exited(s) if s.success()),
        "criu restore: {ran:?}\n{}",
        tail(&img.join("restore.log"))
    );
    let rpid: i32 = fs::read_to_string(&rpid_file).unwrap().trim().parse().unwrap();
    assert_eq!(rpid, pid, "CRIU restores the dumped PID");
    assert!(sandbox::alive(rpid));
    verify(rpid, base);
    assert!(sb.kill_all(&[rpid], Duration::from_secs(10)).is_empty());
}
