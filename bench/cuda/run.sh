#!/usr/bin/env bash
# The libtorch shim on a CUDA GPU, where Swift may be absent: builds the shim
# (scripts/build-torch-shim.sh) against the libtorch of an installed PyTorch
# and bench/cuda/check.c against the shim, runs the checks and step timings, then
# times the same training step in PyTorch on the same libtorch and GPU.
#   bench/cuda/run.sh [STEPS]      (PYTHON=python3 by default)
# Exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
steps=${1:-20}
build=${BUILD_DIR:-$(mktemp -d)}
read -r torch_dir abi cuda < <("$python" -c '
import os, torch
print(os.path.dirname(torch.__file__), int(torch.compiled_with_cxx11_abi()), int(torch.cuda.is_available()))')
echo "PyTorch $("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)') at $torch_dir (cxx11 abi $abi, cuda available $cuda)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

start=$(date +%s)
# The shim with the C++ standard, ABI and CUDA libraries that fit this libtorch.
scripts/build-torch-shim.sh "$torch_dir" "$build"
${CC:-gcc} -O2 -std=gnu11 -ISources/CTorchShim/include -c bench/cuda/check.c -o "$build/check.o"
${CC:-gcc} "$build/check.o" -o "$build/check" -L"$build" -Wl,-rpath,"$build" -lSSMFlowTorch -lm
echo "built the shim and check in $(( $(date +%s) - start )) s"

status=0
"$build/check" "$steps" || status=$?

if [ "$cuda" = 1 ]; then
    for dims in "64 64 64" "78 96 102"; do
        (cd bench/torch && PYTHONDONTWRITEBYTECODE=1 "$python" step.py $dims 8 "$steps" 1 cuda) \
            | awk -v d="$dims" '{print $2}' | sort -n \
            | awk -v d="$dims" -v n="$steps" '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2;
                printf "time step python cuda 1x%s batch 8: %.4f s (median of %d)\n", d, m, NR}' | tr ' ' ' '
    done
fi
exit $status
