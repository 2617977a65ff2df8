//! `criu-pie install` on a copy of the real CRIU 4.1.1 tree: the object goes in, CRIU's own
//! `make criu` builds with it (its `compel hgen` makes restorer-blob.h from our object),
//! and `--restore-original` gives back CRIU's object byte for byte. The object is the
//! standalone blob with trapping CRIU entry points (tests/harness/criu_entries.S): it
//! cannot restore, so only the build plumbing is tested here.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use criu_pie::install::{self, Options, Restorer};

/// What the plumbing is tested with, whatever `install::RESTORER` is.
const STANDALONE: Restorer = Restorer {
    package: "page-engine",
    features: "standalone",
    script: "linker/restorer.lds",
};

/// The fixture tree, copied to `dst` (afresh). Its zdtm directory is left out: it is not
/// needed to build `criu`, and tests running there change it under the copy.
fn copy_fixture(dst: &Path) {
    let src = criu_src::CriuTree::fixture().expect("the criu-src fixture (CRIU 4.1.1)");
    if dst.exists() {
        fs::remove_dir_all(dst).unwrap();
    }
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src.root()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "test" {
            continue;
        }
        let st = Command::new("cp")
            .arg("-a")
            .arg(entry.path())
            .arg(dst)
            .status()
            .unwrap();
        assert!(st.success(), "cp -a {}", entry.path().display());
    }
}

fn make_criu(tree: &Path) -> Output {
    Command::new("make")
        .arg("-C")
        .arg(tree)
        .args(["-j2", "criu"])
        .output()
        .expect("run make")
}

/// `make criu` succeeded, and without make's warning that an input is newer than now
/// (which it prints for an mtime in the future).
fn assert_made(out: &Output, what: &str) {
    assert_ok(out, what);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("in the future") && !err.contains("Clock skew"),
        "{what}: {err}"
    );
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        criu_src::tail_lines(&String::from_utf8_lossy(&out.stderr), 40)
    );
}

fn criu_pie(args: &[&str], tree: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_criu-pie"))
        .args(args)
        .arg("--criu")
        .arg(tree)
        .output()
        .expect("run criu-pie")
}

/// The trapping entry points, assembled once into `dir`.
fn entries(dir: &Path) -> PathBuf {
    let obj = dir.join("criu_entries.o");
    let out = common::c_compiler()
        .arg("-c")
        .arg(common::root().join("tests/harness/criu_entries.S"))
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert_ok(&out, "assembling criu_entries.S");
    obj
}

/// An object calling a function no blob has: the audit must refuse it.
fn external_call(dir: &Path) -> PathBuf {
    let src = dir.join("external_call.S");
    fs::write(
        &src,
        ".text\n.globl calls_out\n.type calls_out, @function\ncalls_out:\n\tcall printf\n\tret\n\
         .section .note.GNU-stack, \"\", @progbits\n",
    )
    .unwrap();
    let obj = dir.join("external_call.o");
    let out = common::c_compiler()
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert_ok(&out, "assembling external_call.S");
    obj
}

fn mtime(p: &Path) -> std::time::SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn install_builds_into_criu_and_restore_original_gives_it_back() {
    // A fixed place, so that the restorer's build dir (keyed by the tree) is reused.
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install");
    let tree = work.join("criu-4.1.1");
    copy_fixture(&tree);
    let pie = tree.join("criu/pie");
    let object = pie.join("restorer.built-in.o");
    let original = pie.join("restorer.built-in.o.orig");
    let theirs = fs::read(&object).unwrap();
    let their_header = fs::read(pie.join("restorer-blob.h")).unwrap();
    let criu_before = mtime(&tree.join("criu/criu"));

    // Refused before the tree is touched: an object the audit rejects (with the audit's
    // text), and one without CRIU's entry points (naming them).
    let unclean = [external_call(&work)];
    for (link_also, why, named) in [
        (&unclean[..], "is not a clean PIE object", &["printf"][..]),
        (
            &[][..],
            "lacks entry points CRIU's build refers to",
            &["__export_restore_task", "__export_restore_thread", "__export_unmap"][..],
        ),
    ] {
        let opts = Options {
            tree: &tree,
            restorer: STANDALONE,
            link_also,
        };
        let e = install::install(&opts).expect_err(why).to_string();
        assert!(e.contains(why), "{e}");
        for n in named {
            assert!(e.contains(n), "{n} named: {e}");
        }
        assert_eq!(
            fs::read(&object).unwrap(),
            theirs,
            "{why}: the tree's object is untouched"
        );
        assert!(!original.exists(), "{why}: nothing kept");
    }

    let link_also = [entries(&work)];
    let opts = Options {
        tree: &tree,
        restorer: STANDALONE,
        link_also: &link_also,
    };
    let done = install::install(&opts).unwrap_or_else(|e| panic!("install: {e}"));
    assert!(done.saved_original);
    assert!(done.report().is_clean(), "{}", done.report());
    let ours = fs::read(&done.built.object).unwrap();
    assert_eq!(fs::read(&object).unwrap(), ours, "our object is in place");
    assert_ne!(ours, theirs);
    assert_eq!(fs::read(&original).unwrap(), theirs, "CRIU's object is kept beside it");
    assert!(done.built.object.starts_with(install::build_dir(&done.tree)));
    // The tree's compel and compel-gen agree on its header.
    assert_eq!(
        fs::read(&done.built.compel_header).unwrap(),
        compel_gen::hgen::generate(&ours, &done.built.object.to_string_lossy(), "restorer").unwrap()
    );

    let out = make_criu(&tree);
    assert_made(&out, "make criu with our restorer");
    assert_eq!(
        fs::read(&object).unwrap(),
        ours,
        "make criu must not relink CRIU's object over ours"
    );
    let header = fs::read(pie.join("restorer-blob.h")).unwrap();
    assert_eq!(
        header,
        compel_gen::hgen::generate(&ours, "criu/pie/restorer.built-in.o", "restorer").unwrap(),
        "CRIU's compel hgen made restorer-blob.h from our object"
    );
    assert_ne!(header, their_header);
    let text = String::from_utf8_lossy(&header);
    assert!(
        text.contains("#define restorer_sym__export_restore_vma_ios "),
        "our symbols"
    );
    assert!(
        mtime(&tree.join("criu/criu")) > criu_before,
        "criu was relinked with the new header"
    );

    // Again, with the object installed already: the kept original stays CRIU's, never
    // ours.
    let again = install::install(&opts).unwrap_or_else(|e| panic!("second install: {e}"));
    assert!(!again.saved_original);
    assert_eq!(fs::read(&original).unwrap(), theirs);
    assert_eq!(fs::read(&object).unwrap(), ours);

    // Through the command line, with the restorer it installs: the standalone blob is
    // refused for want of CRIU's entry points, the tree unchanged; the restorer proper
    // goes in.
    let out = criu_pie(&["install"], &tree);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if install::RESTORER == STANDALONE {
        assert!(!out.status.success(), "{stdout}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("lacks entry points"), "{err}");
        assert_eq!(fs::read(&object).unwrap(), ours);
    } else {
        assert_ok(&out, "criu-pie install");
        assert!(stdout.contains("kept by an earlier install"), "{stdout}");
        assert!(
            stdout.contains(&format!("next:     make -C {} criu", tree.display())),
            "{stdout}"
        );
    }
    assert_eq!(fs::read(&original).unwrap(), theirs);

    let out = criu_pie(&["install", "--restore-original"], &tree);
    assert_ok(&out, "criu-pie install --restore-original");
    assert_eq!(fs::read(&object).unwrap(), theirs, "CRIU's object, byte for byte");
    assert!(!original.exists(), "the kept copy is moved back, not copied");

    let out = make_criu(&tree);
    assert_made(&out, "make criu after --restore-original");
    assert_eq!(fs::read(&object).unwrap(), theirs);
    assert_eq!(
        fs::read(pie.join("restorer-blob.h")).unwrap(),
        their_header,
        "the header is CRIU's own again"
    );
}

/// Every file under `dir` with its bytes and mtime, to show that nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push((p.clone(), fs::read(&p).unwrap(), mtime(&p)));
            }
        }
    }
    files.sort();
    files
}

/// `line` inserted into `file` (relative to `tree`) after the last line `after` picks.
fn insert_after(tree: &Path, file: &str, after: impl Fn(&str) -> bool, line: &str) {
    let path = tree.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| after(l))
        .unwrap_or_else(|| panic!("{file}: no place for {line}"));
    lines.insert(at + 1, line);
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// A change made to a copy of the fixture's sources.
type Edit = fn(&Path);

/// A field in `struct task_restore_args` that no CRIU has (a future one's, say).
fn add_args_field(tree: &Path) {
    insert_after(
        tree,
        "criu/include/restorer.h",
        |l| l.trim() == "unsigned int posix_timers_n;",
        "\tbool compressed_pages;",
    );
}

/// A `VMA_AREA_*` kind that no CRIU has, beside the others.
fn add_vma_kind(tree: &Path) {
    insert_after(
        tree,
        "criu/include/image.h",
        |l| l.starts_with("#define VMA_AREA_"),
        "#define VMA_AREA_COMPRESSED (1 << 24)",
    );
}

/// The ABI guard: a tree whose `task_restore_args` has a field the Rust restorer does not
/// know, and one with a new `VMA_AREA_*` kind, are refused by name before anything in the
/// tree changes. One path for both copies, so that the second build reuses the first's.
#[test]
fn install_refuses_a_tree_that_passes_the_restorer_what_it_does_not_know() {
    let tree = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-abi-guard/criu");
    let cases: [(Edit, &str); 2] = [
        (add_args_field, "task_restore_args.compressed_pages"),
        (add_vma_kind, "VMA_AREA_COMPRESSED"),
    ];
    for (i, (edit, name)) in cases.into_iter().enumerate() {
        copy_fixture(&tree);
        edit(&tree);
        let pie = tree.join("criu/pie");
        let before = snapshot(&pie);
        let e = if i == 0 {
            // The library's error, by kind.
            let opts = Options {
                tree: &tree,
                restorer: install::RESTORER,
                link_also: &[],
            };
            let e = install::install(&opts).expect_err(name);
            assert!(matches!(e, install::Error::UnknownAbi { .. }), "{e}");
            e.to_string()
        } else {
            // What the user reads.
            let out = criu_pie(&["install"], &tree);
            assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        for part in [
            name,
            "was left as it was",
            "which the Rust restorer does not handle",
            "--restore-original",
            "criu-restorer/src/abi_known.rs",
        ] {
            assert!(e.contains(part), "{name}: {part:?} in: {e}");
        }
        assert!(!e.contains("Compiling"), "the refusal, not cargo's log: {e}");
        assert_eq!(snapshot(&pie), before, "{name}: nothing in criu/pie changed");
    }
}

/// A directory that looks like a CRIU source tree but was never built.
fn unbuilt_tree(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("criu/include")).unwrap();
    fs::create_dir_all(dir.join("criu/pie")).unwrap();
    fs::write(dir.join("criu/include/restorer.h"), "").unwrap();
    dir
}

#[test]
fn install_refuses_an_unbuilt_tree() {
    let dir = unbuilt_tree("unbuilt");
    let out = criu_pie(&["install"], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let dir = dir.canonicalize().unwrap();
    assert!(
        err.contains(&format!("run `make -C {} criu` first", dir.display())),
        "{err}"
    );
    for f in [
        "criu/pie/restorer.built-in.o",
        "include/common/config.h",
        "compel/compel-host",
        "images/*.pb-c.h",
    ] {
        assert!(err.contains(f), "{f} named as missing: {err}");
    }
    assert!(!dir.join("criu/pie/restorer.built-in.o").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn install_refuses_what_is_not_a_criu_tree() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("not-criu-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let out = criu_pie(&["install"], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a CRIU source tree"), "{err}");
    let out = criu_pie(&["install"], &dir.join("missing"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // A newcomer's next step: the install that needs no tree, or how to get one.
    assert!(
        err.contains("missing: no such directory") && err.contains("with no --criu"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restore_original_without_a_kept_original_fails_and_changes_nothing() {
    let dir = unbuilt_tree("no-orig");
    let object = dir.join("criu/pie/restorer.built-in.o");
    fs::write(&object, b"whatever is there").unwrap();
    let out = criu_pie(&["install", "--restore-original"], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no original restorer object to put back"), "{err}");
    assert!(err.contains("restorer.built-in.o.orig does not exist"), "{err}");
    assert_eq!(fs::read(&object).unwrap(), b"whatever is there");
    fs::remove_dir_all(&dir).unwrap();
}

/// `install` with no tree is the default install (tests/install_default.rs); putting an
/// original back needs a tree, and `--prefix` goes with the default install only.
#[test]
fn restore_original_without_a_tree_and_prefix_with_one_are_usage_errors() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_criu-pie"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["install", "--restore-original"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("install --criu TREE"));
    let out = run(&["install", "--criu", "/nonexistent", "--prefix", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("make -C TREE install"));
}
