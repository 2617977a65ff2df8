//! The rig itself: host binaries with their libraries, files both ways, deadlines.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use qemu_rig::{add_binary_with_libs, Error, GuestFile, Rig, Scenario};

fn rig() -> &'static Rig {
    Rig::get().unwrap_or_else(|e| panic!("{e}"))
}

/// A dynamically linked host binary (coreutils' md5sum) runs in the guest with the libraries
/// `add_binary_with_libs` copied, and binary data comes back intact through the console.
#[test]
fn host_binary_runs_and_files_come_back() {
    let data: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let host_md5 = {
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rig-data.bin");
        fs::write(&p, &data).unwrap();
        let out = Command::new("md5sum").arg(&p).output().expect("md5sum");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let mut s = Scenario::new(
        "host_binary_runs_and_files_come_back",
        r#"
sum=$(/opt/bin/md5sum /data/in.bin | cut -d' ' -f1)
rig_result md5 PASS "$sum"
cp /data/in.bin /data/out.bin
printf 'x\001\377\n' > /data/small.bin
"#,
    );
    add_binary_with_libs(&mut s.files, Path::new("/usr/bin/md5sum"), "/opt/bin/md5sum");
    s.files.push(GuestFile::bytes("/data/in.bin", data.clone(), 0o600));
    s.fetch = vec!["/data/out.bin".into(), "/data/small.bin".into()];
    let out = rig().run(&s).unwrap_or_else(|e| panic!("{e}"));
    out.expect_pass(&["md5"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.result("md5").unwrap().1, host_md5);
    assert_eq!(out.exit_status, Some(0));
    assert!(out.files["/data/out.bin"] == data, "fetched file differs");
    assert_eq!(out.files["/data/small.bin"], b"x\x01\xff\n");
    assert!(out
        .log_path
        .ends_with("qemu-logs/host_binary_runs_and_files_come_back.log"));
    assert!(fs::read_to_string(&out.log_path).unwrap().contains("@@RIG done"));
}

/// A guest that never finishes is killed at its deadline, the error says so, and no QEMU
/// process of it is left.
#[test]
fn hung_guest_is_killed_at_deadline() {
    let mut s = Scenario::new("hung_guest_is_killed_at_deadline", "echo hanging; sleep 100000");
    s.deadline = Duration::from_secs(20);
    s.memory_mb = 512;
    let err = rig().run(&s).expect_err("a hung guest must fail");
    match &err {
        Error::Deadline {
            deadline, console_tail, ..
        } => {
            assert_eq!(*deadline, Duration::from_secs(20));
            assert!(console_tail.contains("hanging"), "{err}");
        }
        other => panic!("expected a deadline error, got {other}"),
    }
    let marker = format!("hung_guest_is_killed_at_deadline-{}.cpio", std::process::id());
    for e in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            assert!(
                !String::from_utf8_lossy(&cmd).contains(&marker),
                "QEMU {} still runs",
                e.path().display()
            );
        }
    }
}
