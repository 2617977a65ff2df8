//! The runner against fake tests and a fake criu (tests/fake/): every stage's failure,
//! timeouts, skips, alternation, and isolation (namespaces, fds, leftovers). No CRIU is
//! needed; the namespaces need root, as zdtm itself does.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zdtm::{Binary, Config, Outcome, Report, Stage};

const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake");

/// A static directory of fake tests named `tests`, with optional `.desc` texts.
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new(tag: &str, tests: &[&str]) -> Fixture {
        let root = std::env::temp_dir().join(format!("zdtm-fake-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("static")).unwrap();
        fs::copy(Path::new(FAKE).join("Makefile"), root.join("static/Makefile")).unwrap();
        for t in tests {
            install(&Path::new(FAKE).join("test.sh"), &root.join("static").join(t));
        }
        Fixture { root }
    }

    fn static_dir(&self) -> PathBuf {
        self.root.join("static")
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.static_dir().join(name), text).unwrap();
    }

    /// A fake criu at ROOT/NAME/criu.
    fn criu(&self, name: &str) -> Binary {
        let path = self.root.join(name).join("criu");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        install(&Path::new(FAKE).join("criu.sh"), &path);
        Binary {
            name: name.into(),
            path,
        }
    }

    fn run(&self, binaries: Vec<Binary>, tests: &[&str], timeout: Duration) -> Report {
        let cfg = Config {
            static_dir: self.static_dir(),
            binaries,
            tests: Some(tests.iter().map(|s| s.to_string()).collect()),
            dump_args: vec![],
            restore_args: vec![],
            step_timeout: timeout,
            workdir: self.root.join("work"),
            hugepages: 0,
            progress: false,
        };
        zdtm::run(&cfg).unwrap()
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.static_dir().join("calls.log")).unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn install(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
}

fn outcome<'a>(r: &'a Report, test: &str, b: usize) -> &'a Outcome {
    &r.results.iter().find(|t| t.name == test).unwrap().outcomes[b]
}

fn failed_at(o: &Outcome) -> (Stage, bool, String) {
    match o {
        Outcome::Fail { failure, .. } => (failure.stage, failure.timed_out, failure.log_tail.clone()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

const T: Duration = Duration::from_secs(20);

#[test]
fn a_test_that_survives_the_round_trip_passes() {
    let f = Fixture::new("pass", &["plain00"]);
    let r = f.run(vec![f.criu("stock")], &["plain00"], T);
    assert!(outcome(&r, "plain00", 0).is_pass(), "{:?}", r.results);
    let calls = f.calls();
    assert!(calls.contains(" dump ") && calls.contains(" restore"), "{calls}");
    assert!(fs::read_to_string(f.static_dir().join("plain00.out"))
        .unwrap()
        .contains("PASS"));
}

#[test]
fn each_stage_fails_with_its_own_log() {
    let f = Fixture::new("stages", &["nostart00", "nodump00", "norestore00", "checkfail00"]);
    let r = f.run(
        vec![f.criu("stock")],
        &["nostart00", "nodump00", "norestore00", "checkfail00"],
        T,
    );
    let (s, timed_out, log) = failed_at(outcome(&r, "nostart00", 0));
    assert_eq!((s, timed_out), (Stage::Start, false));
    assert!(log.contains("nostart00 cannot start"), "{log}");
    let (s, _, log) = failed_at(outcome(&r, "nodump00", 0));
    assert_eq!(s, Stage::Dump);
    assert!(log.contains("Error (fake.c:1): refusing to dump"), "{log}");
    let (s, _, log) = failed_at(outcome(&r, "norestore00", 0));
    assert_eq!(s, Stage::Restore);
    assert!(log.contains("Error (fake.c:2): cannot restore"), "{log}");
    let (s, _, log) = failed_at(outcome(&r, "checkfail00", 0));
    assert_eq!(s, Stage::Check);
    assert!(log.contains("FAIL: checkfail00 found its state changed"), "{log}");
    // Table and JSON say the same.
    let table = zdtm::report::table(&r);
    assert!(
        table.contains("FAIL restore") && table.contains("0 passed, 4 failed, 0 skipped"),
        "{table}"
    );
    let j = zdtm::report::json(&r);
    assert_eq!(j["tests"][1]["results"]["stock"]["stage"], "dump");
    assert_eq!(j["summary"]["stock"]["failed"], 4);
}

#[test]
fn hung_steps_time_out_and_nothing_is_left_running() {
    let f = Fixture::new("hang", &["hangdump00", "noterm00"]);
    let started = Instant::now();
    let r = f.run(
        vec![f.criu("stock")],
        &["hangdump00", "noterm00"],
        Duration::from_secs(2),
    );
    // Two deadlines of 2 s each, plus the work around them; far below the 1000 s hang.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(failed_at(outcome(&r, "hangdump00", 0)).0, Stage::Dump);
    assert!(failed_at(outcome(&r, "hangdump00", 0)).1);
    assert_eq!(failed_at(outcome(&r, "noterm00", 0)).0, Stage::Check);
    assert!(failed_at(outcome(&r, "noterm00", 0)).1);
    // The hanging criu, the dumped task and the TERM-proof test were all killed.
    for name in ["hangdump00", "noterm00"] {
        let pid: i32 = fs::read_to_string(f.static_dir().join(format!("{name}.pid")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!zdtm::sandbox::alive(pid), "{name} ({pid}) still runs");
    }
    let ps = std::process::Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.contains(&f.root.to_string_lossy().to_string()),
        "left running:\n{ps}"
    );
}

#[test]
fn tests_run_isolated_from_the_host() {
    let f = Fixture::new("isolate", &["isolate00"]);
    // An fd without close-on-exec, as a parent (a make jobserver, say) may leave us.
    let leak = {
        let file = fs::File::open("/dev/null").unwrap();
        // SAFETY: dup(2) of an open fd; the new fd has no close-on-exec flag.
        let fd = unsafe { libc::dup(std::os::fd::AsRawFd::as_raw_fd(&file)) };
        assert!(fd > 2);
        fd
    };
    f.write("leak_fd", &leak.to_string());
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let r = f.run(vec![f.criu("stock")], &["isolate00"], T);
    // SAFETY: closing the fd this test made above.
    unsafe { libc::close(leak) };
    assert!(outcome(&r, "isolate00", 0).is_pass(), "{:?}", r.results);
    assert_eq!(fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), host);
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains("isolate00.mnt"), "{mounts}");
    assert_eq!(
        fs::read_to_string(f.static_dir().join("isolate00.leak"))
            .unwrap()
            .trim(),
        "none"
    );
}

#[test]
fn desc_flags_checkskip_and_features_skip_or_invert() {
    let names = [
        "noauto00",
        "nsonly00",
        "skipped00",
        "feature00",
        "crfail00",
        "dumpable00",
        "badesc00",
    ];
    let f = Fixture::new("skips", &names);
    f.write("noauto00.desc", "{'flags': 'noauto'}");
    f.write("nsonly00.desc", "{'flavor': 'ns uns'}");
    f.write("skipped00.checkskip", "#!/bin/sh\nexit 1\n");
    fs::set_permissions(
        f.static_dir().join("skipped00.checkskip"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    f.write("feature00.desc", "{'feature': 'present missing'}");
    // crfail: the dump must fail; crfail00 makes the fake refuse, dumpable00 does not.
    f.write("crfail00.desc", "{'flags': 'crfail'}");
    f.write("dumpable00.desc", "{'flags': 'suid crfail'}");
    f.write("badesc00.desc", "{'flags': ");
    let r = f.run(vec![f.criu("stock")], &names, T);
    let skip = |t: &str| match outcome(&r, t, 0) {
        Outcome::Skip(why) => why.clone(),
        o => panic!("{t}: expected a skip, got {o:?}"),
    };
    assert_eq!(skip("noauto00"), "noauto");
    assert_eq!(skip("nsonly00"), "flavor ns uns only");
    assert_eq!(skip("skipped00"), "checkskip");
    assert_eq!(skip("feature00"), "feature missing missing");
    assert!(skip("badesc00").starts_with("unreadable desc"));
    assert!(outcome(&r, "crfail00", 0).is_pass());
    let (s, _, _) = failed_at(outcome(&r, "dumpable00", 0));
    assert_eq!(s, Stage::Dump);
}

#[test]
fn binaries_alternate_from_test_to_test() {
    let names = ["alt00", "alt01", "alt02"];
    let f = Fixture::new("alternate", &names);
    let r = f.run(vec![f.criu("stock"), f.criu("ours")], &names, T);
    for t in &r.results {
        assert!(t.outcomes.iter().all(Outcome::is_pass), "{t:?}");
    }
    assert_eq!(
        r.results.iter().map(|t| t.order.clone()).collect::<Vec<_>>(),
        vec![vec![0, 1], vec![1, 0], vec![0, 1]]
    );
    // The dumps in the order they ran: stock, ours, ours, stock, stock, ours.
    let dumps: Vec<String> = f
        .calls()
        .lines()
        .filter(|l| l.contains(" dump "))
        .map(|l| {
            Path::new(l.split(' ').next().unwrap())
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into()
        })
        .collect();
    assert_eq!(dumps, ["stock", "ours", "ours", "stock", "stock", "ours"]);
    assert_eq!(r.passed(1), names);
}

#[test]
fn unknown_tests_and_binaries_are_errors() {
    let f = Fixture::new("errors", &["plain00"]);
    let mut cfg = Config {
        static_dir: f.static_dir(),
        binaries: vec![Binary {
            name: "gone".into(),
            path: f.root.join("no/criu"),
        }],
        tests: Some(vec!["plain00".into()]),
        dump_args: vec![],
        restore_args: vec![],
        step_timeout: T,
        workdir: f.root.join("work"),
        hugepages: 0,
        progress: false,
    };
    assert!(zdtm::run(&cfg).unwrap_err().contains("does not exist"));
    cfg.binaries = vec![f.criu("stock")];
    cfg.tests = Some(vec!["nosuch00".into()]);
    assert!(zdtm::run(&cfg).unwrap_err().contains("no zdtm test named nosuch00"));
}

#[test]
fn what_a_run_leaves_does_not_fail_the_next() {
    // The fake leaves NAME.out.external and NAME.test behind, and refuses to start if
    // they exist: the second binary's run must find them gone.
    let f = Fixture::new("leftover", &["leftover00"]);
    let r = f.run(vec![f.criu("stock"), f.criu("ours")], &["leftover00"], T);
    assert!(r.results[0].outcomes.iter().all(Outcome::is_pass), "{:?}", r.results);
}
