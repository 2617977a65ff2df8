//! GPU restore tooling: `cuda-toggle` (the CUDA driver's checkpoint API by PID) and
//! `gpu-restore-bench` (a PyTorch workload checkpointed with CUDA + CRIU, restored by
//! each CRIU binary in turn, verified byte for byte, timed per phase).

pub mod bench;
pub mod cuda;
pub mod limit;
pub mod opts;
pub mod procs;
pub mod report;
pub mod toggle;
