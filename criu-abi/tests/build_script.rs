//! The build script's modules, tested on their own: tree checks and their messages,
//! reading the restorer's flags from the tree's make, and cfg detection.

#[allow(dead_code)]
#[path = "../build/detect.rs"]
mod detect;
#[allow(dead_code)]
#[path = "../build/flags.rs"]
mod flags;
#[allow(dead_code)]
#[path = "../build/shstk.rs"]
mod shstk;
#[allow(dead_code)]
#[path = "../build/tree.rs"]
mod tree;

use std::fs;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("criu-abi-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_missing_tree_is_named() {
    let e = tree::check(Path::new("/nonexistent/criu")).unwrap_err();
    assert!(e.contains("/nonexistent/criu does not exist"), "{e}");
}

#[test]
fn a_directory_without_restorer_h_is_not_a_criu_tree() {
    let d = scratch("not-criu");
    let e = tree::check(&d).unwrap_err();
    assert!(e.contains("is not a CRIU source tree"), "{e}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_unbuilt_tree_says_to_run_make_criu() {
    let d = scratch("unbuilt");
    fs::create_dir_all(d.join("criu/include")).unwrap();
    fs::write(d.join("criu/include/restorer.h"), "").unwrap();
    let e = tree::check(&d).unwrap_err();
    assert!(e.contains("no generated include/common/config.h"), "{e}");
    assert!(e.contains("run `make criu` in it first"), "{e}");

    fs::create_dir_all(d.join("include/common")).unwrap();
    fs::write(d.join("include/common/config.h"), "").unwrap();
    let e = tree::check(&d).unwrap_err();
    assert!(e.contains("no generated images/*.pb-c.h"), "{e}");
    assert!(e.contains("run `make criu` in it first"), "{e}");

    fs::create_dir_all(d.join("images")).unwrap();
    fs::write(d.join("images/mm.pb-c.h"), "").unwrap();
    tree::check(&d).unwrap();
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_flags_come_from_the_trees_make_and_leave_it_untouched() {
    let root = Path::new(criu_abi::built_from::TREE);
    let mtime = |p: &str| fs::symlink_metadata(root.join(p)).and_then(|m| m.modified()).ok();
    let before = (
        mtime("criu/pie/restorer.c"),
        mtime("criu/pie/restorer.d"),
        mtime("criu/pie/restorer.o"),
    );
    let d = scratch("flags");
    let f = flags::restorer_cflags(root, &d).unwrap();
    for def in [
        "-DCONFIG_X86_64",
        "-D_FILE_OFFSET_BITS=64",
        "-D_GNU_SOURCE",
        "-DCR_NOGLIBC",
    ] {
        assert!(f.iter().any(|x| x == def), "{def} missing from {f:?}");
    }
    let inc = root.join("criu/include").display().to_string();
    assert!(f.windows(2).any(|w| w[0] == "-iquote" && w[1] == inc), "{f:?}");
    assert!(!f.iter().any(|x| x.starts_with("-W") || x.starts_with("-O")), "{f:?}");
    // The same flags as the bindings were built with.
    assert_eq!(f, criu_abi::built_from::CFLAGS);
    assert_eq!(
        before,
        (
            mtime("criu/pie/restorer.c"),
            mtime("criu/pie/restorer.d"),
            mtime("criu/pie/restorer.o")
        )
    );
    assert!(!d.join("tree").exists(), "the shadow tree is removed");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_unbuilt_tree_has_no_restorer_compile_line() {
    // Make in a tree without CRIU's makefiles prints nothing for restorer.c.
    let d = scratch("nomake");
    fs::create_dir_all(d.join("src/criu/pie")).unwrap();
    fs::write(d.join("src/criu/pie/restorer.c"), "").unwrap();
    fs::write(d.join("src/Makefile"), "criu:\n\techo nothing\n").unwrap();
    let e = flags::restorer_cflags(&d.join("src"), &d.join("out")).unwrap_err();
    assert!(e.contains("printed no compile line for criu/pie/restorer.c"), "{e}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn cfgs_follow_what_the_bindings_contain() {
    let old = "pub struct task_restore_args {\n    pub posix_timers_n: ::core::ffi::c_uint,\n}\n\
               pub struct thread_restore_args {\n    pub shstk: rst_shstk_info,\n}\n\
               pub const VMA_AREA_SHSTK: u32 = 32768;\n";
    assert_eq!(detect::present(old), ["criu_has_shstk"]);
    let new = "pub struct task_restore_args {\n    pub posix_timers_n: ::core::ffi::c_uint,\n    \
               pub posix_timer_cr_ids: bool,\n}\n\
               pub struct other {\n    pub shstk: u8,\n}\n\
               pub const VMA_AREA_GUARD: u32 = 65536;\npub const VMA_AREA_UPROBES: u32 = 131072;\n";
    assert_eq!(
        detect::present(new),
        [
            "criu_has_posix_timer_cr_ids",
            "criu_has_vma_area_guard",
            "criu_has_vma_area_uprobes"
        ]
    );
}

#[test]
fn the_crate_cfgs_match_its_bindings() {
    let text = fs::read_to_string(concat!(env!("OUT_DIR"), "/restorer.rs")).unwrap();
    let has = detect::present(&text);
    let set = |c: &str| has.contains(&c);
    assert_eq!(criu_abi::has::POSIX_TIMER_CR_IDS, set("criu_has_posix_timer_cr_ids"));
    assert_eq!(criu_abi::has::SHSTK, set("criu_has_shstk"));
    assert_eq!(criu_abi::has::VMA_AREA_GUARD, set("criu_has_vma_area_guard"));
    assert_eq!(criu_abi::has::VMA_AREA_UPROBES, set("criu_has_vma_area_uprobes"));
    // The shadow-stack protocol: exactly one where the tree has shadow stacks, the one its
    // sources name.
    let want = criu_abi::has::SHSTK
        .then(|| shstk::classify(&shstk::Sources::read(Path::new(criu_abi::built_from::TREE))).unwrap());
    assert_eq!(criu_abi::has::SHSTK_REMAP, want == Some(shstk::Protocol::Remap));
    assert_eq!(criu_abi::has::SHSTK_LATE, want == Some(shstk::Protocol::Late));
}

/// Sources made of our own lines, with or without each protocol's markers.
fn sources(restorer_c: &str, cr_restore_c: &str, arch_shstk_c: &str) -> shstk::Sources {
    shstk::Sources {
        restorer_c: restorer_c.into(),
        cr_restore_c: cr_restore_c.into(),
        arch_shstk_c: arch_shstk_c.into(),
    }
}

const REMAP_CALL: &str = "static int move_one(struct vma *v)\n{\n\tif (is_shadow(v) && shstk_vma_restore (v))\n\t\treturn -1;\n\treturn 0;\n}\n";
const BOOTSTRAP_CALL: &str = "\tarea += args_len;\n\tshstk_set_restorer_stack(&args->shstk, area);\n";
const SPARE_ASSIGN: &str = "\tinfo->vma_size = len;\n\tinfo->tmp_shstk = copy_at + len;\n";

#[test]
fn each_protocol_is_told_by_its_markers() {
    use shstk::{classify, Protocol};
    assert_eq!(classify(&sources(REMAP_CALL, BOOTSTRAP_CALL, "")), Ok(Protocol::Remap));
    assert_eq!(classify(&sources("", "", SPARE_ASSIGN)), Ok(Protocol::Late));
    assert_eq!(Protocol::Remap.cfg(), "criu_shstk_remap");
    assert_eq!(Protocol::Late.cfg(), "criu_shstk_late");
    assert!(shstk::CFGS.contains(&Protocol::Remap.cfg()) && shstk::CFGS.contains(&Protocol::Late.cfg()));
}

#[test]
fn half_of_a_protocol_or_none_fails_with_what_was_found() {
    // No marker at all, only 4.2's allocation (a tree between the two), 4.2's remap with
    // the old spare page, and both protocols' markers at once.
    for (r, c, a) in [
        ("", "", ""),
        ("", BOOTSTRAP_CALL, ""),
        (REMAP_CALL, "", SPARE_ASSIGN),
        (REMAP_CALL, BOOTSTRAP_CALL, SPARE_ASSIGN),
    ] {
        let e = shstk::classify(&sources(r, c, a)).unwrap_err();
        assert!(
            e.contains("cannot tell which x86 shadow-stack (CET) restore protocol"),
            "{e}"
        );
        let said = |what: &str, found: bool| e.contains(&format!("{what}: {}", if found { "yes" } else { "no" }));
        assert!(
            said("criu/pie/restorer.c calls shstk_vma_restore()", !r.is_empty()),
            "{e}"
        );
        assert!(
            said("criu/cr-restore.c calls shstk_set_restorer_stack()", !c.is_empty()),
            "{e}"
        );
        assert!(said("criu/arch/x86/shstk.c assigns tmp_shstk", !a.is_empty()), "{e}");
    }
}

/// The real trees where this machine has them (the criu-src cache): 4.1.1 follows the
/// late protocol, 4.2.1 (whose restorer equals 4.2's) the remap one.
#[test]
fn the_fixture_trees_are_told_apart() {
    for (dir, want) in [
        ("criu-4.1.1", shstk::Protocol::Late),
        ("criu-4.2.1", shstk::Protocol::Remap),
    ] {
        let root = criu_src::cache_dir().join(dir);
        if !root.join(shstk::RESTORER_C).is_file() {
            eprintln!("{} not here: skipped", root.display());
            continue;
        }
        assert_eq!(shstk::classify(&shstk::Sources::read(&root)), Ok(want), "{dir}");
    }
}

#[test]
fn markers_in_comments_literals_or_longer_names_do_not_count() {
    use shstk::{assigns, calls, code_of};
    let commented = "/* once: shstk_vma_restore(v) here */\n// shstk_set_restorer_stack(a, b);\nint x;\n";
    let code = code_of(commented);
    assert!(!calls(&code, "shstk_vma_restore") && !calls(&code, "shstk_set_restorer_stack"));
    assert!(code.contains("int x;"));
    // A comment opener inside a string starts nothing; the call after it counts.
    let quoted = "log(\"/* not a comment\"); shstk_vma_restore(v); /* a real one */";
    assert!(calls(&code_of(quoted), "shstk_vma_restore"));
    assert!(!calls(
        &code_of("log(\"shstk_vma_restore(v) \\\" \");"),
        "shstk_vma_restore"
    ));
    assert!(calls(&code_of("c = '\\''; shstk_vma_restore(v);"), "shstk_vma_restore"));
    // Whole words only, and a call needs its parenthesis.
    assert!(!calls("my_shstk_vma_restore(v);", "shstk_vma_restore"));
    assert!(!calls("shstk_vma_restore_all(v);", "shstk_vma_restore"));
    assert!(!calls(
        "#define shstk_vma_restore shstk_vma_restore\n",
        "shstk_vma_restore"
    ));
    // An assignment, not a comparison or a read.
    assert!(assigns("p->tmp_shstk=a;", "tmp_shstk"));
    assert!(!assigns("if (p->tmp_shstk == a)", "tmp_shstk"));
    assert!(!assigns("unmap(p->tmp_shstk, n);", "tmp_shstk"));
    assert!(!assigns("p->old_tmp_shstk = a;", "tmp_shstk"));
}

#[test]
fn compile_lines_split_as_the_shell_does() {
    let line = r#"gcc -c -O2 -DX='"/etc"' -DY="a b" -iquote include/ -I./compel/include/uapi -o criu/pie/restorer.o criu/pie/restorer.c"#;
    let w = flags::shell_words(line);
    assert_eq!(w[3], "-DX=\"/etc\"");
    assert_eq!(w[4], "-DY=a b");
    assert!(flags::is_restorer_compile(&w));
    let f = flags::preprocessor_flags(&w, std::path::Path::new("/shadow"), std::path::Path::new("/tree"));
    assert_eq!(
        f,
        [
            "-DX=\"/etc\"",
            "-DY=a b",
            "-iquote",
            "/tree/include/",
            "-I",
            "/tree/./compel/include/uapi"
        ]
    );
    assert!(!flags::is_restorer_compile(&flags::shell_words(
        "gcc -M criu/pie/restorer.c -o criu/pie/restorer.d"
    )));
}
