//! gpu-restore-bench: a PyTorch workload with GPU and host memory, checkpointed with
//! cuda-toggle and dumped by CRIU once, then restored by each CRIU binary in turn,
//! verified byte for byte and timed per phase (see `pie_gpu::opts::USAGE`).

use pie_gpu::{bench, opts, procs, report};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let mut o = match opts::parse(&argv, exe_dir) {
        Ok(opts::Parsed::Run(o)) => o,
        Ok(opts::Parsed::Help) => {
            println!("{}", opts::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("gpu-restore-bench: {e}\n{}", opts::USAGE);
            std::process::exit(2);
        }
    };
    if let Ok(cwd) = std::env::current_dir() {
        o.anchor(&cwd);
    }
    procs::install_signal_handlers();
    let r = bench::run(&o);
    print!("{}", report::table(&o, &r));
    if let Some(path) = &o.json {
        let text = serde_json::to_string_pretty(&report::to_json(&o, &r)).expect("JSON");
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("gpu-restore-bench: {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("JSON: {}", path.display());
    }
    std::process::exit(if r.ok() { 0 } else { 1 });
}
