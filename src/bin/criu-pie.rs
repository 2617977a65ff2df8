//! The main job: write the restorer blob, its compel header and its audit into a
//! directory (default `target/blob`) and print where they are.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let dir = match (args.next(), args.next()) {
        (None, _) => PathBuf::from("target/blob"),
        (Some(a), None) if a == "-h" || a == "--help" => {
            println!("usage: criu-pie [DIR]   (writes restorer.built-in.o, restorer-blob.h and the audit into DIR, default target/blob)");
            return ExitCode::SUCCESS;
        }
        (Some(d), None) => PathBuf::from(d),
        _ => {
            eprintln!("usage: criu-pie [DIR]");
            return ExitCode::from(2);
        }
    };
    match criu_pie::artifacts::write_to(&dir) {
        Ok(a) => {
            println!("object: {}", a.object.display());
            println!("header: {}", a.header.display());
            println!(
                "engine: {} (for CRIU's restorer; declared in {})",
                a.engine.display(),
                a.engine_header.display()
            );
            println!("audit:  {} (json: {})", a.audit_text.display(), a.audit_json.display());
            print!("{}", a.report);
            if a.report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("criu-pie: {e}");
            ExitCode::FAILURE
        }
    }
}
