//! Test support for comparing Rust's view of a fact with a C compiler's: build a small C
//! program with the host's compiler (through `cc`, as a build script would find it), run
//! it, and read back the `name value` lines it prints.
//!
//! ```no_run
//! let out = c_probe::CProgram::new(std::env::temp_dir().join("probe"), "sizes")
//!     .arg("-Wall")
//!     .run("#include <stdio.h>\nint main(void) { printf(\"int size %zu\\n\", sizeof(int)); return 0; }\n");
//! assert_eq!(c_probe::values(&out)["int size"], "4");
//! ```

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The programs are built for the machine the tests run on; the crates that compare with
/// C are x86_64-only (the restorer's raw layer is x86_64 asm).
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// A C program to build in a directory of its own, with the compiler arguments it needs.
pub struct CProgram {
    dir: PathBuf,
    name: String,
    args: Vec<OsString>,
}

impl CProgram {
    /// `name.c` and the program `name`, in `dir` (made if missing).
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> CProgram {
        CProgram {
            dir: dir.into(),
            name: name.to_owned(),
            args: Vec::new(),
        }
    }

    /// One more compiler argument (a flag, a define), before the source.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> CProgram {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More compiler arguments, in order.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> CProgram {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// An include directory (`-I dir`).
    pub fn include(self, dir: impl AsRef<Path>) -> CProgram {
        self.arg("-I").arg(dir.as_ref())
    }

    /// The source file this program is built from.
    pub fn source_path(&self) -> PathBuf {
        self.dir.join(format!("{}.c", self.name))
    }

    /// Write `source`, build it, run it and return what it printed. Panics (the test
    /// fails) with the compiler's messages if it does not build, and if the program does
    /// not exit with 0 or prints what is not UTF-8.
    pub fn run(&self, source: &str) -> String {
        std::fs::create_dir_all(&self.dir).unwrap();
        let (c_file, exe) = (self.source_path(), self.dir.join(&self.name));
        std::fs::write(&c_file, source).unwrap();
        let compiler = cc::Build::new()
            .target(TARGET)
            .host(TARGET)
            .opt_level(0)
            .cargo_metadata(false)
            .cargo_warnings(false)
            .get_compiler();
        let out = compiler
            .to_command()
            .args(&self.args)
            .arg(&c_file)
            .arg("-o")
            .arg(&exe)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "C program {} failed to build:\n{}",
            c_file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(&exe).output().unwrap();
        assert!(run.status.success(), "{} exited with {}", exe.display(), run.status);
        String::from_utf8(run.stdout).unwrap()
    }
}

/// The lines of `out` as a map from name to value, split at each line's last space (a
/// name may hold spaces, a value none). Panics on a line without a space.
pub fn values(out: &str) -> BTreeMap<&str, &str> {
    out.lines()
        .map(|l| {
            l.rsplit_once(' ')
                .unwrap_or_else(|| panic!("no `name value` line: {l:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_the_last_space() {
        let v = values("a b 1\nPIE_X -3\nN absent\n");
        assert_eq!(v.len(), 3);
        assert_eq!((v["a b"], v["PIE_X"], v["N"]), ("1", "-3", "absent"));
    }

    #[test]
    fn a_program_runs_and_its_lines_come_back() {
        let dir = std::env::temp_dir().join(format!("c-probe-{}", std::process::id()));
        let out = CProgram::new(&dir, "probe")
            .args(["-Wall", "-Werror"])
            .arg("-DANSWER=42")
            .run("#include <stdio.h>\nint main(void)\n{\n    printf(\"answer %d\\n\", ANSWER);\n    return 0;\n}\n");
        assert_eq!(values(&out)["answer"], "42");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "failed to build")]
    fn a_program_that_does_not_build_fails_the_test() {
        let dir = std::env::temp_dir().join(format!("c-probe-bad-{}", std::process::id()));
        CProgram::new(&dir, "bad").run("int main(void) { return undeclared; }\n");
    }
}
