#!/usr/bin/env bash
# gpu-restore-bench on the GPU device: stock CRIU 4.2 (its C restorer) against CRIU 4.2
# with the Rust restorer, one call. DIR (default .device/gpu) holds criu-stock and one or
# more criu-NAME (each restores as NAME: criu-rust, or criu-huge and criu-small for the
# Rust restorer installed with and without --no-huge-pages), gpu-restore-bench,
# cuda-toggle and lib/ (the CRIU binaries' shared libraries without libc and ld-linux:
# the device's glibc is newer). Run as root; everything worth keeping
# goes to $OUT: env.txt, bench.txt (the bench's output and its command), gpu.json and
# logs.tar.gz (the dump log, every restore log and the workload log).
# Extra arguments go to gpu-restore-bench (default: --gib 8 --rounds 3).
set -u
D=$(realpath "${1:-.device/gpu}")
shift || true
OUT=${OUT:-/tmp/gpu-rust-restorer}
WD=${WD:-/var/tmp/gpu-restore-bench}
mkdir -p "$OUT"
lib=$D/lib

{
    date -u
    uname -a
    id
    nproc
    free -g
    df -h /var/tmp
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    command -v python3
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
    cat /sys/kernel/mm/transparent_hugepage/enabled
    sha256sum "$D"/criu-* "$D"/gpu-restore-bench "$D"/cuda-toggle
    for c in "$D"/criu-*; do
        echo "== $(basename "$c") --version"
        LD_LIBRARY_PATH=$lib "$c" --version
    done
    echo "== criu-stock check"
    LD_LIBRARY_PATH=$lib "$D/criu-stock" check
    echo "criu check: exit $?"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--gib 8 --rounds 3)
criu=(--criu "stock=$D/criu-stock")
for c in "$D"/criu-*; do
    n=$(basename "$c")
    n=${n#criu-}
    [ "$n" = stock ] || criu+=(--criu "$n=$c")
done
cmd=("$D/gpu-restore-bench"
    "${criu[@]}"
    --toggle "$D/cuda-toggle"
    --workdir "$WD"
    --json "$OUT/gpu.json"
    --criu-env "LD_LIBRARY_PATH=$lib"
    "${args[@]}")
echo "command: ${cmd[*]}" | tee "$OUT/bench.txt"
"${cmd[@]}" 2>&1 | tee -a "$OUT/bench.txt"
rc=${PIPESTATUS[0]}
echo "gpu-restore-bench exit $rc" | tee -a "$OUT/bench.txt"

# The logs, compressed (a -v4 restore log of a large image is long); failed restores'
# tails are in bench.txt already.
(cd "$WD" && tar czf "$OUT/logs.tar.gz" --ignore-failed-read dump.log restore-*.log restore-*.out workload.log 2>/dev/null)
# Files over 16 MiB do not come back from the device: then the last 2000 lines of each.
if [ "$(stat -c %s "$OUT/logs.tar.gz")" -gt 15000000 ]; then
    mkdir -p "$WD/tails"
    for f in "$WD"/dump.log "$WD"/restore-*.log "$WD"/restore-*.out "$WD"/workload.log; do
        [ -f "$f" ] && tail -n 2000 "$f" >"$WD/tails/$(basename "$f")"
    done
    (cd "$WD/tails" && tar czf "$OUT/logs.tar.gz" .)
fi
ls -la "$OUT"
exit "$rc"
