//! The engine in the blob against a real kernel and real CRIU images, in QEMU: Debian's
//! 6.1 kernel and Debian's CRIU 3.17.1 dump a process with a known memory pattern; the
//! blob, loaded as CRIU loads it (relocated by libcompel), restores its pages with every
//! strategy; every byte is checked. Also: the engine's feature probes on 6.1, and a
//! pages image truncated or deleted between dump and restore.
//!
//! Run one: `cargo test --test qemu_engine <name>`; console logs go to
//! `target/qemu-logs/<scenario>.log`.

mod common;

use std::path::Path;
use std::time::Duration;

use qemu_rig::{add_binary_with_libs, GuestFile, Rig, RunOutcome, Scenario};

/// The workload's seed (tests/harness/pattern_workload.c).
const SEED: &str = "0x5eed";

fn rig() -> &'static Rig {
    Rig::get().unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario) -> RunOutcome {
    rig().run(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The static workload, built once per test binary.
fn workload() -> &'static Path {
    static W: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pattern_workload-{}", std::process::id()));
        let out = common::c_compiler()
            .args(["-static", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(common::root().join("tests/harness/pattern_workload.c"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building the workload (needs libc6-dev): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    })
}

/// The guest's tools: the blob loader, vma-ios, the workload.
fn files() -> Vec<GuestFile> {
    let mut f = Vec::new();
    add_binary_with_libs(&mut f, common::loader(), "/bin/blob_loader");
    add_binary_with_libs(&mut f, Path::new(env!("CARGO_BIN_EXE_vma-ios")), "/bin/vma-ios");
    add_binary_with_libs(&mut f, workload(), "/bin/pattern_workload");
    f
}

/// Start the workload, wait for it, dump it; leaves $pid and /img.
const DUMP: &str = r#"
mkdir -p /img /work
setsid /bin/pattern_workload /work/ready /work/backing </dev/null >/work/wl.out 2>&1 &
if ! rig_wait_file /work/ready 120; then rig_result workload FAIL "not ready: $(cat /work/wl.out)"; exit 1; fi
pid=$(pidof pattern_workload)
rig_result workload PASS "pid $pid $(cat /work/ready)"
# The workload's VMAs span [LO, HI): 116 MiB from the base it reports.
LO=$(cut -d' ' -f3 /work/ready); HI=$(printf '%#x' $((LO + (116 << 20))))
if criu dump -t "$pid" -D /img -o /work/dump.log -v4; then
    rig_result dump PASS "$(du -sk /img | cut -f1) KiB"
else
    tail -n 30 /work/dump.log; rig_result dump FAIL "criu dump failed"; exit 1
fi
"#;

fn scenario(name: &str, body: &str) -> Scenario {
    let mut s = Scenario::new(name, format!("SEED={SEED}\n{DUMP}{body}"));
    s.files = files();
    s.deadline = Duration::from_secs(420);
    s.memory_mb = 2048;
    s
}

fn expect(out: &RunOutcome, names: &[&str]) {
    out.expect_pass(names).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn real_images_restore_with_every_strategy() {
    let s = scenario(
        "engine_real_images_every_strategy",
        r#"
written=$(cut -d' ' -f2 /work/ready)
# The dumped pages are the workload's pattern, all of them.
if out=$(vma-ios /img "$pid" $LO $HI --check $SEED 2>&1) && [ "$out" = "pages=$written" ]; then
    rig_result pattern PASS "$out"
else
    rig_result pattern FAIL "$out (workload wrote $written pages)"
fi
set -- $(vma-ios /img "$pid" $LO $HI /work/records.bin)
count=${1#count=}; span=${2#span=}; pages=${3#pages=}
for s in 1 2 3 4 5 6 7 0; do
    for w in 0 2; do
        if out=$(blob_loader restore "$pages" /work/records.bin "$count" "$span" $s $w 0 2>&1); then
            rig_result "restore-$s-$w" PASS "$out"
        else
            rig_result "restore-$s-$w" FAIL "$out"
        fi
    done
done
if out=$(blob_loader trap-restore "$pages" /work/records.bin "$count" "$span" 0 0 0 2>&1); then
    rig_result trap-restore PASS "$out"
else
    rig_result trap-restore FAIL "$out"
fi
"#,
    );
    let out = run(&s);
    let mut names = vec![
        "workload".to_string(),
        "dump".into(),
        "pattern".into(),
        "trap-restore".into(),
    ];
    for st in [1, 2, 3, 4, 5, 6, 7, 0] {
        for w in [0, 2] {
            names.push(format!("restore-{st}-{w}"));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    expect(&out, &names);
    // The records of region B hold 1023 iovecs each: the IOV_MAX boundary was crossed.
    let r = out.results.iter().find(|r| r.0 == "restore-1-0").unwrap();
    assert!(r.2.contains("strategy=1"), "{}", r.2);
    // On tmpfs (the guest's root) 6.1 has no O_DIRECT: `direct` falls back to parallel.
    let d = out.results.iter().find(|r| r.0 == "restore-5-2").unwrap();
    assert!(
        d.2.contains("strategy=3"),
        "direct on 6.1 tmpfs must fall back to parallel: {}",
        d.2
    );
}

#[test]
fn feature_probes_take_the_6_1_paths() {
    let mut s = Scenario::new(
        "engine_features_6_1",
        r#"
for m in features trap-features; do
    if out=$(blob_loader $m 2>&1); then rig_result $m PASS "$out"; else rig_result $m FAIL "$out"; fi
done
"#,
    );
    s.files = files();
    let out = run(&s);
    expect(&out, &["features", "trap-features"]);
    let line = &out.results.iter().find(|r| r.0 == "features").unwrap().2;
    let get = |k: &str| common::field(line, k).unwrap_or_else(|| panic!("{k} missing: {line}"));
    // 6.1: no cachestat (6.5) -> ENOSYS, so the cache probe is preadv2(RWF_NOWAIT);
    // io_uring with READV, MADV_POPULATE_WRITE (5.14), clone3 with set_tid as root.
    assert_eq!(get("cachestat"), "-38", "{line}");
    assert_eq!(get("io_uring"), "0", "{line}");
    assert_eq!(get("io_uring_readv"), "0", "{line}");
    assert_eq!(get("populate_write"), "0", "{line}");
    assert_eq!(get("clone3"), "0", "{line}");
    assert_eq!(get("clone3_set_tid"), "0", "{line}");
}

#[test]
fn truncated_or_deleted_pages_image_is_a_clear_error() {
    let s = scenario(
        "engine_truncated_deleted_pages",
        r#"
set -- $(vma-ios /img "$pid" $LO $HI /work/records.bin)
count=${1#count=}; span=${2#span=}; pages=${3#pages=}
size=$(stat -c %s "$pages")
truncate -s $((size / 2)) "$pages"
for s in 1 3 4 5 6 7 0; do
    out=$(timeout 120 blob_loader restore "$pages" /work/records.bin "$count" "$span" $s 2 0 2>&1); rc=$?
    # -ENODATA, a record named, nothing outside the iovecs written, no hang (rc 124).
    case "$out" in
    *"ret=-61 "*"outside=0"*) [ $rc = 1 ] && rig_result "truncated-$s" PASS "$out" || rig_result "truncated-$s" FAIL "rc $rc: $out" ;;
    *) rig_result "truncated-$s" FAIL "rc $rc: $out" ;;
    esac
done
rm -f "$pages"
out=$(vma-ios /img "$pid" $LO $HI /work/records2.bin 2>&1 && blob_loader restore "$pages" /work/records.bin "$count" "$span" 0 0 0 2>&1); rc=$?
case "$out" in
*"No such file"*|*"open pages"*) [ $rc != 0 ] && rig_result deleted PASS "$out" || rig_result deleted FAIL "rc $rc: $out" ;;
*) rig_result deleted FAIL "rc $rc: $out" ;;
esac
"#,
    );
    let out = run(&s);
    expect(
        &out,
        &[
            "workload",
            "dump",
            "truncated-1",
            "truncated-3",
            "truncated-4",
            "truncated-5",
            "truncated-6",
            "truncated-7",
            "truncated-0",
            "deleted",
        ],
    );
}
