//! cuda-toggle: checkpoint or restore a process's CUDA state through the driver's
//! checkpoint API (see `pie_gpu::toggle` for the commands and exit codes).

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = pie_gpu::toggle::main_with(&argv, &mut std::io::stdout().lock(), &mut std::io::stderr().lock());
    std::process::exit(code);
}
