#!/usr/bin/env bash
# The libtorch shim on a CUDA GPU, where Swift may be absent: compiles the
# shim's C++ sources (Sources/TorchNative) and bench/cuda/check.c against
# the libtorch of an installed PyTorch, runs the checks and step timings, then
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

flags=(-O2 -fPIC -std=c++17 -D_GLIBCXX_USE_CXX11_ABI="$abi" -Wno-deprecated-declarations
       -ISources/CTorchShim/include -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
libs=(-L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
[ -e "$torch_dir/lib/libtorch_cuda.so" ] && libs+=(-ltorch_cuda -lc10_cuda)
start=$(date +%s)
for source in Sources/TorchNative/*.cpp; do
    ${CXX:-g++} "${flags[@]}" -c "$source" -o "$build/$(basename "$source" .cpp).o" &
done
wait
${CC:-gcc} -O2 -std=gnu11 -ISources/CTorchShim/include -c bench/cuda/check.c -o "$build/check.o"
${CXX:-g++} "$build"/*.o -o "$build/check" "${libs[@]}" -lm
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
