#!/usr/bin/env bash
# Builds libSSMFlowTorch.so (Sources/TorchNative) against a chosen libtorch
# without SwiftPM: for the PyTorch wheel route (scripts/setup.sh --torch-wheel),
# its CI check (scripts/test-torch-wheel.sh) and machines without Swift
# (bench/gpu, bench/cuda). Package.swift makes the same choices for
# `SSMFLOW_LIBTORCH=... swift build`; keep the two in step.
#   scripts/build-torch-shim.sh LIBTORCH OUTDIR
# LIBTORCH: a libtorch folder (include/, lib/) or a wheel's site-packages/torch.
# Prints the choices; exits 2 when LIBTORCH is not a libtorch we can use.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# != 2)); then
  echo "usage: scripts/build-torch-shim.sh LIBTORCH OUTDIR" >&2; exit 2
fi
root=${1%/}; out=$2
fail() { echo "build-torch-shim: $*" >&2; exit 2; }
[[ -d $root ]] || fail "libtorch folder '$root' does not exist; give a libtorch folder or a PyTorch wheel's site-packages/torch"
root=$(cd "$root" && pwd)  # the rpath must not depend on the current directory
lib=$root/lib
for f in libc10.so libtorch_cpu.so; do
  [[ -e $lib/$f ]] || fail "'$root' is not a libtorch: $lib/$f is missing; give a libtorch folder or a PyTorch wheel's site-packages/torch"
done
header=""
for h in include/torch/headeronly/version.h include/torch/csrc/api/include/torch/version.h; do
  [[ -e $root/$h ]] && { header=$root/$h; break; }
done
[[ -n $header ]] || fail "'$root' is not a libtorch with C++ headers: include/torch/.../version.h is missing (a wheel always has them; a Python-only install does not)"
major=$(awk '/#define TORCH_VERSION_MAJOR /{print $3}' "$header")
minor=$(awk '/#define TORCH_VERSION_MINOR /{print $3}' "$header")
patch=$(awk '/#define TORCH_VERSION_PATCH /{print $3}' "$header")
[[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || fail "cannot read the libtorch version from $header"
if ((major < 1 || (major == 1 && minor < 13))); then
  fail "libtorch $major.$minor.$patch at '$root' is too old: SSMFlow needs 1.13 or newer (Debian 12's libtorch-dev or a PyTorch 2.x wheel)"
fi
# PyTorch 2.x headers need C++20; 1.x headers (Debian's 1.13) fail under clang's C++20.
standard=c++17; ((major >= 2)) && standard=c++20
# The std::string ABI: libtorch's CMake config says, else the c10 library's symbols do.
abi=""
for config in "$root/share/cmake/Torch/TorchConfig.cmake" "$lib/cmake/Torch/TorchConfig.cmake"; do
  [[ -e $config ]] || continue
  if grep -q '_GLIBCXX_USE_CXX11_ABI=0' "$config"; then abi=0; break; fi
  if grep -q '_GLIBCXX_USE_CXX11_ABI=1' "$config"; then abi=1; break; fi
done
if [[ -z $abi ]]; then
  if grep -q -a '__cxx11' "$lib/libc10.so"; then abi=1; else abi=0; fi
fi
# libtorch_cpu must load: a CUDA wheel's needs libcudart and libcupti from the
# nvidia-cuda-runtime / nvidia-cuda-cupti wheels.
missing=$(ldd "$lib/libtorch_cpu.so" 2>&1 | awk '/not found/{print $1}' | tr '\n' ' ')
[[ -z $missing ]] || fail "libtorch at '$root' cannot load: $lib/libtorch_cpu.so needs ${missing% } (not found); install the torch wheel with its dependencies (pip install torch), or at least nvidia-cuda-runtime and nvidia-cuda-cupti for a CPU-only run"
# CUDA kernels live in torch_cuda: link it only when it and its CUDA libraries load.
cuda=0; cuda_note="no libtorch_cuda.so"
if [[ -e $lib/libtorch_cuda.so && -e $lib/libc10_cuda.so ]]; then
  cuda_missing=$(ldd "$lib/libtorch_cuda.so" "$lib/libc10_cuda.so" 2>&1 | awk '/not found/{print $1}' | sort -u | tr '\n' ' ')
  if [[ -z $cuda_missing ]]; then cuda=1; else cuda_note="libtorch_cuda.so is present but needs ${cuda_missing% }"; fi
fi
cxx=${CXX:-$(command -v clang++ || command -v g++)}
mkdir -p "$out"
objects=$(mktemp -d)
trap 'rm -rf "$objects"' EXIT
flags=(-O2 -fPIC -std="$standard" -D_GLIBCXX_USE_CXX11_ABI="$abi" -Wno-deprecated-declarations
       -ISources/CTorchShim/include -I"$root/include" -I"$root/include/torch/csrc/api/include")
echo "build-torch-shim: libtorch $major.$minor.$patch at $root: -std=$standard, _GLIBCXX_USE_CXX11_ABI=$abi, CUDA $( ((cuda)) && echo linked || echo "not linked, CPU only ($cuda_note)"), $cxx"
pids=()
for source in Sources/TorchNative/*.cpp; do
  "$cxx" "${flags[@]}" -c "$source" -o "$objects/$(basename "$source" .cpp).o" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "compiling the shim against libtorch $major.$minor.$patch failed (see above)"; done
# A CUDA wheel's libtorch.so needs libtorch_cuda.so; everything the shim calls is
# in torch_cpu and c10, so libtorch.so is linked only with CUDA.
libs=(-L"$lib" -Wl,-rpath,"$lib" -Wl,--no-as-needed -ltorch_cpu -lc10)
((cuda)) && libs+=(-ltorch -ltorch_cuda -lc10_cuda)
"$cxx" -shared -o "$out/libSSMFlowTorch.so" "$objects"/*.o "${libs[@]}" -Wl,--as-needed \
  -Wl,-Bsymbolic-functions -lstdc++ -lm
echo "build-torch-shim: built $out/libSSMFlowTorch.so"
