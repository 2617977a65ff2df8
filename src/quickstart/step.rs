//! One line as a step starts and one as it ends, with the log to read on failure.

use std::path::Path;
use std::time::Instant;

/// Run `f` as step `name`; its error comes back prefixed with the step's name and, where
/// the step wrote one, the log's path.
pub fn step<T>(name: &str, what: &str, log: Option<&Path>, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    println!("{name:<8} {what} ...");
    let t = Instant::now();
    match f() {
        Ok(v) => {
            println!("{name:<8} done ({:.1} s)", t.elapsed().as_secs_f64());
            Ok(v)
        }
        Err(e) => {
            let log = log.map(|l| format!(" (log: {})", l.display())).unwrap_or_default();
            println!("{name:<8} FAILED{log}");
            Err(format!("{name}: {e}{log}"))
        }
    }
}
