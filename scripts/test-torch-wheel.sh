#!/usr/bin/env bash
# CI guard of the PyPI torch route: the shim builds against the pinned torch
# wheel (scripts/setup.sh's TORCH_WHEEL_VERSION) and the tiny workflow trains
# and predicts through it on the CPU, giving the predictions of the Debian
# libtorch build within a stated tolerance.
#
# The lightest honest install: the torch wheel alone (pip download --no-deps,
# ~540 MB) plus the two small wheels its libtorch_cpu.so needs to load
# (nvidia-cuda-runtime and nvidia-cuda-cupti, ~14 MB, at the versions the torch
# wheel pins); its CUDA libraries do not load without the rest, so the shim is
# built for the CPU (scripts/build-torch-shim.sh says so). Unpacked, not
# installed: only torch/include, torch/lib and nvidia/*/lib are needed.
# Everything lives in .build-torch-ci/ (git-ignored) and is reused.
#
# Fails (exit 1) on any failure. Without network to PyPI it fails too, unless
# CI is unset, where it says so and skips (exit 0).
#   scripts/test-torch-wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^TORCH_WHEEL_VERSION=\${TORCH_WHEEL_VERSION:-\(.*\)}$/\1/p' scripts/setup.sh)
version=${TORCH_WHEEL_VERSION:-$version}
dir=.build-torch-ci
SSMFLOW=${SSMFLOW:-.build/release/ssmflow}
python=${PYTHON:-python3}
# Largest allowed |wheel - Debian| of a predicted particle coordinate, in mm,
# and of a predicted PCA score (whitened units): the two libtorch versions
# differ in float rounding, not in the network.
tolerance_mm=${TORCH_WHEEL_TOLERANCE_MM:-0.01}
tolerance_score=${TORCH_WHEEL_TOLERANCE_SCORE:-0.001}
start=$SECONDS
fail() { echo "test-torch-wheel: FAIL: $*" >&2; exit 1; }

# 0. A folder that is not a libtorch is refused (exit 2) with the reason.
bad=$(mktemp -d)
status=0
scripts/build-torch-shim.sh "$bad" "$bad/out" 2> "$bad/err" || status=$?
((status == 2)) && grep -q "is not a libtorch" "$bad/err" ||
  { cat "$bad/err"; fail "build-torch-shim.sh accepted '$bad' (exit $status)"; }
rm -rf "$bad"

# 1. The wheels.
mkdir -p "$dir/wheels"
if ! ls "$dir"/wheels/torch-"$version"-*.whl >/dev/null 2>&1; then
  if ! "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
       "torch==$version" -d "$dir/wheels"; then
    [[ ${CI:-} == true ]] && fail "pip could not download torch==$version from PyPI"
    echo "test-torch-wheel: SKIPPED: pip could not download torch==$version (no network to PyPI?); under CI=true this fails"
    exit 0
  fi
fi
wheel=$(ls "$dir"/wheels/torch-"$version"-*.whl | head -1)
# The CUDA toolkit pin of this torch wheel (absent in a CPU-only wheel).
toolkit=$(unzip -p "$wheel" "torch-$version.dist-info/METADATA" | sed -n 's/^Requires-Dist: cuda-toolkit\[[^]]*\]==\([0-9.]*\).*/\1/p' | head -1)
if [[ -n $toolkit ]] && ! ls "$dir"/wheels/nvidia_cuda_runtime-*.whl >/dev/null 2>&1; then
  "$python" -m pip download -q --disable-pip-version-check --only-binary=:all: \
    "cuda-toolkit[cudart,cupti]==$toolkit" -d "$dir/wheels" || fail "pip could not download cuda-toolkit[cudart,cupti]==$toolkit"
fi
echo "test-torch-wheel: wheels $(du -sh "$dir/wheels" | cut -f1) in $((SECONDS - start)) s"

# 2. Unpacked: torch's headers and libraries, and the CUDA runtime libraries its
#    rpath ($ORIGIN/../../nvidia/cu*/lib) names.
site=$dir/site
if [[ ! -e $site/.done-$version ]]; then
  rm -rf "$site"; mkdir -p "$site"
  unzip -q "$wheel" 'torch/include/*' 'torch/lib/*' 'torch/share/*' -d "$site"
  for w in "$dir"/wheels/nvidia_*.whl; do [[ -e $w ]] && unzip -q -o "$w" 'nvidia/*/lib/*' -d "$site"; done
  touch "$site/.done-$version"
fi

# 3. The shim against the wheel, and the Debian build of ssmflow.
# Rebuilt when the shim's sources (or this libtorch) are newer than the last build.
if [[ ! -e $dir/lib/libSSMFlowTorch.so ]] ||
   [[ -n $(find Sources/TorchNative Sources/CTorchShim/include scripts/build-torch-shim.sh "$site/.done-$version" \
           -newer "$dir/lib/libSSMFlowTorch.so" -print -quit) ]]; then
  scripts/build-torch-shim.sh "$PWD/$site/torch" "$dir/lib"
fi
if [[ ! -x $SSMFLOW || ! -e $(dirname "$SSMFLOW")/libSSMFlowTorch.so ]]; then
  { scripts/build-native.sh -c release && swift build -c release --product ssmflow; } >/dev/null || fail "release build failed"
fi
wheel_ssm() { SSMFLOW_NATIVE_DIR=$PWD/$dir/lib "$SSMFLOW" "$@"; }
wheel_ssm doctor > "$dir/doctor.txt" || { cat "$dir/doctor.txt"; fail "ssmflow doctor fails with the wheel's libtorch"; }
grep -q "^libtorch $version: $PWD/$site/torch/lib/libtorch_cpu.so" "$dir/doctor.txt" ||
  { cat "$dir/doctor.txt"; fail "ssmflow with SSMFLOW_NATIVE_DIR=$dir/lib does not load the wheel's libtorch $version"; }

# 4. The tiny workflow on the CPU: Debian's libtorch, then the wheel's (training
#    and prediction forced; the upstream stages are shared), each exported.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=$work/cache
wf=workflows/femur_deepssm.yaml
run() { # run COMMAND [RUN OPTIONS...]
  local command=$1; shift
  "$command" run "$wf" --tiny-test --until deepssm-predict --set deepssm-train.device=cpu \
    --set deepssm-predict.device=cpu --cache-dir "$cache" "$@" > "$work/run.log" 2>&1 ||
    { cat "$work/run.log"; return 1; }
}
run "$SSMFLOW" || fail "the tiny workflow fails with Debian's libtorch"
"$SSMFLOW" cache export deepssm-predict.predictions "$work/debian" --raw --cache-dir "$cache" >/dev/null
run wheel_ssm --force deepssm-train --force deepssm-predict || fail "the tiny workflow fails with the wheel's libtorch $version"
# The run record's environment (the preflight's facts) names the libtorch that trained.
latest=$(ls "$cache/runs" | sort | tail -1)
"$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); env = r.get("environment") or {}
sys.exit(0 if env.get("libtorch", "").startswith(sys.argv[2] + " ") else f"run record environment: {env}")' \
  "$cache/runs/$latest/run.json" "$version" || fail "the wheel run's record does not name libtorch $version"
wheel_ssm cache export deepssm-predict.predictions "$work/wheel" --raw --cache-dir "$cache" >/dev/null

# 5. The predictions agree within the tolerance.
"$python" - "$work/debian" "$work/wheel" "$tolerance_mm" "$tolerance_score" <<'PY' || fail "the wheel's predictions differ from Debian's (see above)"
import pathlib, subprocess, sys
debian, wheel, tol_mm, tol_score = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def dataset(root, name):
    [path] = list(root.rglob("predictions.h5"))
    raw = root / (name.strip("/") + ".txt")
    subprocess.run(["h5dump", "-m", "%.9g", "-d", name, "-o", str(raw), "-y", "-w", "0", str(path)],
                   capture_output=True, text=True, check=True)
    return [float(v) for v in raw.read_text().replace(",", " ").split()]
ok = True
for name, tol, unit in [("/particles_world", tol_mm, "mm"), ("/scores", tol_score, "")]:
    a, b = dataset(debian, name), dataset(wheel, name)
    if len(a) != len(b) or not a:
        print(f"{name}: {len(a)} values from Debian, {len(b)} from the wheel"); ok = False; continue
    diff = max(abs(x - y) for x, y in zip(a, b))
    print(f"test-torch-wheel: {name}: max |wheel - debian| = {diff:.3g} {unit} over {len(a)} values (tolerance {tol:g})")
    ok = ok and diff <= tol
sys.exit(0 if ok else 1)
PY
echo "test-torch-wheel: ok in $((SECONDS - start)) s"
