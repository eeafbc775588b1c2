#!/usr/bin/env bash
# Prepares the GPU device kit here, in .build-gpukit/ (git-ignored; carry it to
# the device machine): `ssmflow` built with the Swift runtime linked in,
# stripped, libSSMFlowVTK.so beside it, and every shared library they need
# beyond a base Linux system (HDF5, VTK and their dependencies), compressed
# with xz. The torch shim is built on the device against its own PyTorch
# (bench/gpu/run.sh calls scripts/build-torch-shim.sh there).
# Fails when the kit exceeds the carry limit (64 MiB), listing the largest parts.
#   bench/gpu/prepare.sh            (LIMIT_MIB=64)
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=.build-gpukit
limit=${LIMIT_MIB:-64}
start=$SECONDS
rm -rf "$kit"; mkdir -p "$kit/bin" "$kit/lib"
swift build -c release --product ssmflow --static-swift-stdlib >/dev/null
swift build -c release --product SSMFlowVTK >/dev/null
cp .build/release/ssmflow "$kit/bin/ssmflow"
cp .build/release/libSSMFlowVTK.so "$kit/bin/"
strip "$kit/bin/ssmflow" "$kit/bin/libSSMFlowVTK.so"
# A normal (dynamic runtime) ssmflow again, for make run and the tests here.
swift build -c release --product ssmflow >/dev/null

# Libraries a CUDA PyTorch machine has anyway (glibc, the C++ runtime, zlib, X11
# client libraries are not assumed); everything else found by ldd is carried.
base='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libz)\.so'
ldd "$kit/bin/ssmflow" "$kit/bin/libSSMFlowVTK.so" | awk '/=> \//{print $1, $3}' | sort -u |
  while read -r name path; do
    [[ $name =~ $base ]] && continue
    cp -L "$path" "$kit/lib/$name"
  done
strip --strip-unneeded "$kit"/lib/*.so* 2>/dev/null || true
missing=$(ldd "$kit/bin/ssmflow" "$kit/bin/libSSMFlowVTK.so" | awk '/not found/{print $1}' | sort -u | tr '\n' ' ')
[[ -z $missing ]] || { echo "prepare: FAIL: libraries not found here: $missing" >&2; exit 1; }

tar -C "$kit" -cf - bin lib | xz -T0 -6 > "$kit/kit.tar.xz"
rm -rf "$kit/bin" "$kit/lib"
size=$(du -m "$kit/kit.tar.xz" | cut -f1)
echo "prepare: $kit/kit.tar.xz: ${size} MiB ($(tar -tJf "$kit/kit.tar.xz" | grep -c '^lib/.') libraries) in $((SECONDS - start)) s"
if ((size >= limit)); then
  echo "prepare: FAIL: the kit is ${size} MiB, over the ${limit} MiB carry limit; its largest parts:" >&2
  xz -dc "$kit/kit.tar.xz" | tar -tvf - | sort -k3 -n -r | head -10 >&2
  exit 1
fi
