//! Runs an ad-hoc shell script in the guest and prints its console:
//! `cargo run -p qemu-rig --example rig_run -- <name> '<shell script>' [guest paths to fetch...]`
//! (fetched files are written under `target/qemu-logs/<name>.files/`).

use qemu_rig::{Rig, Scenario};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(script)) = (args.next(), args.next()) else {
        eprintln!("usage: rig_run <name> '<shell script>' [fetch...]");
        std::process::exit(2);
    };
    let rig = Rig::get().unwrap_or_else(|e| panic!("{e}"));
    let mut s = Scenario::new(name.clone(), script);
    s.fetch = args.collect();
    let out = rig.run(&s).unwrap_or_else(|e| panic!("{e}"));
    print!("{}", out.console);
    let dir = rig.log_dir().join(format!("{name}.files"));
    for (path, data) in &out.files {
        let to = dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, data).unwrap();
        println!("fetched {path} ({} bytes) -> {}", data.len(), to.display());
    }
    println!(
        "elapsed {:.1?}, exit status {:?}, results {:?}",
        out.elapsed, out.exit_status, out.results
    );
}
