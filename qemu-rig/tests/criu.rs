//! Debian's CRIU inside Debian's 6.1 cloud kernel under QEMU: `criu check`, a stock dump and
//! restore of a counting shell loop, and the export of image fixtures for the restorer tests.
//!
//! Run one: `cargo test -p qemu-rig --test criu <name>`; console logs go to
//! `target/qemu-logs/<scenario>.log` (see qemu-rig/README.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use qemu_rig::{workspace_root, GuestFile, Rig, RunOutcome, Scenario};

fn rig() -> &'static Rig {
    Rig::get().unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario) -> RunOutcome {
    rig().run(s).unwrap_or_else(|e| panic!("{e}"))
}

fn expect(out: &RunOutcome, names: &[&str]) {
    out.expect_pass(names).unwrap_or_else(|e| panic!("{e}"));
}

/// `rig_logged NAME LOG CMD...`: run a CRIU command; on failure print its log's errors.
const LOGGED: &str = r#"
rig_logged() {
    local name="$1" log="$2"
    shift 2
    if "$@"; then
        rig_result "$name" PASS
    else
        local rc=$?
        echo "--- $name failed ($rc); last lines of $log:"
        tail -n 40 "$log"
        rig_result "$name" FAIL "exit $rc: $*"
        return 1
    fi
}
"#;

#[test]
fn criu_check_passes() {
    let s = Scenario::new(
        "criu_check_passes",
        r#"
out=$(criu check 2>&1); rc=$?
echo "$out"
if [ "$rc" = 0 ] && echo "$out" | grep -q "Looks good."; then
    rig_result criu-check PASS "$(echo "$out" | tail -n 1)"
else
    rig_result criu-check FAIL "exit $rc: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
fi
"#,
    );
    let out = run(&s);
    expect(&out, &["criu-check"]);
}

#[test]
fn stock_dump_restore_keeps_counting() {
    let script = format!(
        "{LOGGED}{}",
        r#"
mkdir -p /img
# A session leader with stdio on /dev/null: no --shell-job needed. Fixed-width numbers keep
# the file's size constant, so a dump that catches the fd open restores without size errors.
setsid sh -c 'echo $$ > /tmp/counter.pid; i=0; while :; do i=$((i+1)); printf "%08d\n" $i > /tmp/count; sleep 0.1; done' \
    </dev/null >/dev/null 2>&1 &
count() { sed 's/^0*//' /tmp/count; }
if ! rig_wait_file /tmp/count 30; then rig_result counter-started FAIL "no /tmp/count"; exit 1; fi
pid=$(cat /tmp/counter.pid)
sleep 1
rig_result counter-started PASS "pid $pid count $(count)"

rig_logged dump /tmp/dump.log criu dump -t "$pid" -D /img -o /tmp/dump.log -v4 || exit 1
dumped=$(count)
sleep 1
if kill -0 "$pid" 2>/dev/null; then
    rig_result dumped-task-gone FAIL "pid $pid still alive after dump"
elif [ "$(count)" != "$dumped" ]; then
    rig_result dumped-task-gone FAIL "count moved from $dumped to $(count) after dump"
else
    rig_result dumped-task-gone PASS "count stays $dumped"
fi

rig_logged restore /tmp/restore.log criu restore -D /img -d -o /tmp/restore.log -v4 || exit 1
if kill -0 "$pid" 2>/dev/null; then rig_result restored-alive PASS "pid $pid"; else rig_result restored-alive FAIL "pid $pid"; fi
sleep 0.5
r1=$(count)
sleep 2
r2=$(count)
if [ "$r1" -ge "$dumped" ] && [ "$r2" -gt "$r1" ]; then
    rig_result keeps-counting PASS "dumped at $dumped, after restore $r1 then $r2"
else
    rig_result keeps-counting FAIL "dumped at $dumped, after restore $r1 then $r2"
fi
ps
"#
    );
    let out = run(&Scenario::new("stock_dump_restore_keeps_counting", script));
    expect(
        &out,
        &[
            "counter-started",
            "dump",
            "dumped-task-gone",
            "restore",
            "restored-alive",
            "keeps-counting",
        ],
    );
}

/// The fixture's mapped file: page 0 all 0x11, page 1 all 0x22.
fn blob() -> Vec<u8> {
    let mut b = vec![0x11u8; 4096];
    b.extend_from_slice(&[0x22u8; 4096]);
    b
}

fn build_pattern() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/pattern.c");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pattern");
    let out = Command::new("cc")
        .args(["-static", "-O2", "-s", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc (install gcc and libc6-dev): {e}"));
    assert!(
        out.status.success(),
        "cc -static {} failed: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn crit_decode(img: &Path) -> String {
    let out = Command::new("crit")
        .args(["decode", "--pretty", "-i"])
        .arg(img)
        .output()
        .unwrap_or_else(|e| panic!("cannot run crit (Debian's criu package): {e}"));
    assert!(
        out.status.success(),
        "crit decode -i {} failed: {}",
        img.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Dumps `tests/guest/pattern.c` (known anonymous pages, a pagemap hole, a private file
/// mapping with one COW page) and fetches the images. With `RIG_UPDATE_FIXTURES=1` they are
/// written to `tests/fixtures/pattern-dump-criu<version>/` in the workspace; otherwise the test
/// checks the dump and decodes the images with the host's `crit`.
#[test]
fn fixture_export_pattern() {
    let exe = build_pattern();
    let mut s = Scenario::new(
        "fixture_export_pattern",
        format!(
            "{LOGGED}{}",
            r#"
rig_result criu-version PASS "$(criu --version | head -n 1)"
mkdir -p /img
setsid /fixture/pattern /fixture/blob.bin /tmp/pattern.ready </dev/null >/dev/null 2>&1 &
if ! rig_wait_file /tmp/pattern.ready 30; then rig_result pattern-started FAIL "no ready file"; exit 1; fi
pid=$(cat /tmp/pattern.ready)
grep -E '^(10000000|20000000)-' /proc/$pid/maps
rig_result pattern-started PASS "pid $pid"

rig_logged dump /tmp/dump.log criu dump -t "$pid" -D /img -o /tmp/dump.log -v4 || exit 1
ls -l /img
# Keep the dump's output apart: restoring adds stats-restore to /img.
mkdir /dumped && cp /img/* /dumped/
rig_result dump-pid PASS "$pid"

# The same images must restore, with the pages where they were.
rig_logged restore /tmp/restore.log criu restore -D /img -d -o /tmp/restore.log -v4 || exit 1
page() { dd if=/proc/$pid/mem bs=4096 skip=$(($1 / 4096)) count=1 2>/dev/null | head -c 16; }
a0=$(page 0x10000000); a7=$(page 0x10007000); f0=$(page 0x20000000)
hole=$(dd if=/proc/$pid/mem bs=4096 skip=$((0x10003000 / 4096)) count=1 2>/dev/null | tr -d '\0' | wc -c)
f1=$(dd if=/proc/$pid/mem bs=4096 skip=$((0x20001000 / 4096)) count=1 2>/dev/null | tr -d '\042' | wc -c)
if [ "$a0" = RIG-ANON-PAGE-00 ] && [ "$a7" = RIG-ANON-PAGE-07 ] && [ "$f0" = RIG-FILE-COW-P00 ] && [ "$hole" = 0 ] && [ "$f1" = 0 ]; then
    rig_result restored-memory PASS
else
    rig_result restored-memory FAIL "a0=$a0 a7=$a7 f0=$f0 hole-nonzero=$hole file-page1-not-0x22=$f1"
fi
"#
        ),
    );
    s.files.push(GuestFile::host("/fixture/pattern", &exe, 0o755));
    s.files.push(GuestFile::bytes("/fixture/blob.bin", blob(), 0o644));
    s.fetch.push("/dumped/*".into());
    let out = run(&s);
    expect(
        &out,
        &[
            "criu-version",
            "pattern-started",
            "dump",
            "dump-pid",
            "restore",
            "restored-memory",
        ],
    );

    let pid = out.result("dump-pid").unwrap().1.to_string();
    let version = out
        .result("criu-version")
        .unwrap()
        .1
        .trim_start_matches("Version:")
        .trim()
        .to_string();
    let images: Vec<(String, &Vec<u8>)> = out
        .files
        .iter()
        .filter_map(|(p, d)| p.strip_prefix("/dumped/").map(|n| (n.to_string(), d)))
        .collect();
    let names: Vec<&str> = images.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "inventory.img".to_string(),
        "pstree.img".into(),
        "files.img".into(),
        "pages-1.img".into(),
        format!("core-{pid}.img"),
        format!("mm-{pid}.img"),
        format!("pagemap-{pid}.img"),
    ] {
        assert!(
            names.contains(&want.as_str()),
            "{want} not among the fetched images {names:?}"
        );
    }
    let total: usize = images.iter().map(|(_, d)| d.len()).sum();
    assert!(
        total < 4 << 20,
        "images are {total} bytes, more than the 4 MiB fixture budget"
    );

    // Decode with the host's crit.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture_export_pattern");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (n, d) in &images {
        fs::write(dir.join(n), d).unwrap();
    }
    let pagemap = crit_decode(&dir.join(format!("pagemap-{pid}.img")))
        .split_whitespace()
        .collect::<String>();
    for entry in [
        r#"{"vaddr":"0x10000000","nr_pages":3,"flags":"PE_LAZY|PE_PRESENT"}"#,
        r#"{"vaddr":"0x10005000","nr_pages":3,"flags":"PE_LAZY|PE_PRESENT"}"#,
        r#"{"vaddr":"0x20000000","nr_pages":1,"flags":"PE_PRESENT"}"#,
    ] {
        assert!(pagemap.contains(entry), "pagemap lacks {entry}:\n{pagemap}");
    }
    let mm = crit_decode(&dir.join(format!("mm-{pid}.img")));
    assert!(
        mm.contains("0x10000000") && mm.contains("0x20000000"),
        "mm lacks the VMAs:\n{mm}"
    );

    if std::env::var("RIG_UPDATE_FIXTURES").as_deref() == Ok("1") {
        let fixture = workspace_root()
            .join("tests/fixtures")
            .join(format!("pattern-dump-criu{version}"));
        let _ = fs::remove_dir_all(&fixture);
        fs::create_dir_all(&fixture).unwrap();
        for (n, d) in &images {
            fs::write(fixture.join(n), d).unwrap();
        }
        fs::copy(&exe, fixture.join("pattern.static")).unwrap();
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/pattern.c"),
            fixture.join("pattern.c"),
        )
        .unwrap();
        fs::write(fixture.join("blob.bin"), blob()).unwrap();
        fs::write(fixture.join("README.md"), fixture_readme(&version, &pid, &images)).unwrap();
        eprintln!("wrote fixtures to {}", fixture.display());
    }
}

fn fixture_readme(version: &str, pid: &str, images: &[(String, &Vec<u8>)]) -> String {
    let rig = rig();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cc = Command::new("cc")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let list: String = images
        .iter()
        .map(|(n, d)| format!("| `{n}` | {} |\n", d.len()))
        .collect();
    format!(
        r#"# CRIU {version} images of `pattern` (made by qemu-rig)

Made on {date} by

    RIG_UPDATE_FIXTURES=1 cargo test -p qemu-rig --test criu fixture_export_pattern

in the qemu-rig guest: Debian's `{pkg}` (kernel {kver}) under QEMU ({accel}),
Debian's criu {version}. Regenerating rewrites this directory (PIDs and timestamps change).

The process is `pattern.static` (`pattern.c`, built with `cc -static -O2 -s`, {cc}),
started in the guest as

    setsid /fixture/pattern /fixture/blob.bin /tmp/pattern.ready </dev/null >/dev/null 2>&1 &

and dumped (PID {pid}) with

    criu dump -t {pid} -D /img -o /tmp/dump.log -v4

The guest then restored the same images (`criu restore -D /img -d`) and checked the pages.

Memory layout (see `pattern.c`):

- `0x10000000`, 8 anonymous private rw pages: pages 0-2 and 5-7 start with
  `RIG-ANON-PAGE-0N` followed by byte `0xA0+N`; pages 3-4 were never touched (pagemap hole).
  Pagemap: `0x10000000` x3 and `0x10005000` x3, both `PE_LAZY|PE_PRESENT`.
- `0x20000000`, `/fixture/blob.bin` (`blob.bin` here: page 0 all `0x11`, page 1 all `0x22`)
  mapped private rw: page 0 was written (`RIG-FILE-COW-P00`, then `0x33`), so it is in the
  pages image (pagemap `0x20000000` x1, `PE_PRESENT` only); page 1 was only read and is not dumped.

Restoring these images needs `/fixture/pattern` (= `pattern.static`) and
`/fixture/blob.bin` at those paths, and PID {pid} free.

| file | bytes |
|---|---|
{list}"#,
        pkg = rig.kernel_package(),
        kver = rig.kernel_version(),
        accel = rig.accel(),
    )
}
