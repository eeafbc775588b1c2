#!/usr/bin/env bash
# The full default use case on a CUDA GPU machine that has PyTorch and a C++
# compiler but no Swift, from the kit bench/gpu/prepare.sh made here
# (.build-gpukit/kit.tar.xz, carried with the working tree). Two commands of at
# most 10 minutes each:
#   bench/gpu/run.sh data    cohort, augmentation and loaders (CPU stages)
#   bench/gpu/run.sh train   training and prediction on the GPU, GPU utilisation
#                            sampled during it, then one PyTorch training step on
#                            the same GPU and precision for the ratio
#   bench/gpu/run.sh residency   (after data) two short trainings (EPOCHS, default
#                            2, --until deepssm-train) with residency: device and
#                            residency: stream, each with its GPU utilisation
# The cache stays in .build-gpukit/cache between the two (a warm machine keeps
# ignored paths). Results go to $OUT (or .build-gpukit/out): the run record,
# per-stage seconds, nvidia-smi samples, the doctor's report, step timings.
# PRECISION=fp32|tf32|bf16 (default bf16 on compute capability 8.0+);
# RESIDENCY=auto|device|stream sets deepssm-train.residency in the train phase.
# Exits non-zero, saying why, where it cannot run (no GPU, no PyTorch, no kit).
set -euo pipefail
cd "$(dirname "$0")/../.."
phase=${1:-}
[[ $phase == data || $phase == train || $phase == residency ]] ||
  { echo "usage: bench/gpu/run.sh data|train|residency" >&2; exit 2; }
kit=.build-gpukit
out=${OUT:-$kit/out}
python=${PYTHON:-python3}
mkdir -p "$out"
fail() { echo "gpu-run: FAIL: $*" >&2; exit 1; }
[[ -e $kit/kit.tar.xz ]] || fail "no kit: run bench/gpu/prepare.sh here first and carry .build-gpukit"
if [[ ! -x $kit/bin/ssmflow ]]; then tar -C "$kit" -xJf "$kit/kit.tar.xz"; fi
export LD_LIBRARY_PATH=$PWD/$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
  fail "no PyTorch for $python: the device kit builds the shim against the machine's PyTorch"
if [[ ! -e $kit/torch/libSSMFlowTorch.so ]]; then
  scripts/build-torch-shim.sh "$torch_dir" "$kit/torch" > "$out/shim-build.txt" 2>&1 || { cat "$out/shim-build.txt"; fail "the shim does not build against $torch_dir"; }
fi
export SSMFLOW_NATIVE_DIR=$PWD/$kit/torch
ssm() { "$kit/bin/ssmflow" "$@"; }
cache=$PWD/$kit/cache
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv > "$out/nvidia-smi.csv" 2>&1 || true
ssm doctor --require-cuda > "$out/doctor.txt" 2>&1 || { cat "$out/doctor.txt"; fail "CUDA is not usable here (see the doctor's report above)"; }
cat "$out/doctor.txt"
major=$(awk -F'compute capability ' '/GPU 0:/{split($2, v, "."); print v[1]; exit}' "$out/doctor.txt")
precision=${PRECISION:-$( ((${major:-0} >= 8)) && echo bf16 || echo fp32)}
wf=workflows/femur_deepssm.yaml
start=$SECONDS
if [[ $phase == data ]]; then
  ssm run "$wf" --until deepssm-loaders --jobs 4 --cache-dir "$cache" 2>&1 | tee "$out/run-data.log"
else
  # Samples GPU utilisation every 0.5 s into $out/gpu-utilisation-$1.csv until stop_sampling.
  start_sampling() {
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 \
      > "$out/gpu-utilisation-$1.csv" 2>/dev/null & sampler=$!
  }
  stop_sampling() {
    kill "$sampler" 2>/dev/null || true
    "$python" - "$out/gpu-utilisation-$1.csv" "$1" <<'PY' | tee -a "$out/gpu-utilisation.txt"
import sys
rows = [line.split(",") for line in open(sys.argv[1]) if line.count(",") == 2]
util = [float(r[1]) for r in rows]
busy = [u for u in util if u > 0]
memory = max((float(r[2]) for r in rows), default=0)
print(f"{sys.argv[2]}: GPU utilisation over {len(util)} samples (0.5 s): mean {sum(util)/max(len(util),1):.1f} %, "
      f"mean while busy {sum(busy)/max(len(busy),1):.1f} %, samples >= 80 %: {sum(u >= 80 for u in util)}, "
      f"peak memory {memory:.0f} MiB")
PY
  }
fi
if [[ $phase == residency ]]; then
  epochs=${EPOCHS:-2}
  seed=10
  for residency in device stream; do
    seed=$((seed + 1))  # another seed: residency is not in the key, so the same one would hit the cache
    start_sampling "$residency"
    status=0
    ssm run "$wf" --until deepssm-train --set deepssm-train.residency="$residency" \
      --set deepssm-train.epochs="$epochs" --set deepssm-train.seed="$seed" \
      --set deepssm-train.precision="$precision" --cache-dir "$cache" -v 2>&1 | tee "$out/run-residency-$residency.log" || status=$?
    stop_sampling "$residency"
    ((status == 0)) || fail "the training with residency $residency failed (exit $status)"
    grep -E "resident|streamed|^.*epoch [0-9]+: train error" "$out/run-residency-$residency.log" | tee -a "$out/residency.txt" || true
  done
elif [[ $phase == train ]]; then
  start_sampling train
  status=0
  ssm run "$wf" --until deepssm-predict --set deepssm-train.precision="$precision" \
    --set deepssm-predict.precision="$precision" ${RESIDENCY:+--set deepssm-train.residency="$RESIDENCY"} \
    --cache-dir "$cache" 2>&1 | tee "$out/run-train.log" || status=$?
  stop_sampling train
  ((status == 0)) || fail "the training run failed (exit $status)"
  (cd bench/torch && PYTHONDONTWRITEBYTECODE=1 "$python" step.py 78 96 102 8 20 1 cuda "$precision") \
    > "$out/pytorch-step.txt" || fail "PyTorch's own training step failed"
  awk '{print $2}' "$out/pytorch-step.txt" | sort -n | awk '{a[NR]=$1} END {print "PyTorch step 1x78x96x102 batch 8 '"$precision"': median " a[int((NR+1)/2)] " s"}'
fi
ls -t "$cache"/runs/ | head -1 | while read -r run; do cp "$cache/runs/$run/run.json" "$out/run-$phase.json"; done
"$python" - "$out/run-$phase.json" <<'PY' | tee "$out/stage-seconds.txt"
import json, sys
record = json.load(open(sys.argv[1]))
for stage in record["stages"]:
    print(f"{stage['stage']:20s} {stage['outcome']:8s} {stage['seconds']:9.1f} s")
print("environment:", json.dumps(record.get("environment") or {}, sort_keys=True))
PY
echo "gpu-run: $phase done in $((SECONDS - start)) s; results in $out"
