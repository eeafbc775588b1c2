#!/usr/bin/env bash
# One DeepSSM training step, batch 8, at 1x64^3 and at full size 1x78x96x102:
# Swift (release, through the C shim) against the same network in Python on the
# same libtorch (Debian's python3-torch), interleaved so both see the same load.
# usage: bench/torch/run.sh [ROUNDS] [STEPS] [THREADS]
#   SIZES="64 64 64;78 96 102" (depth height width, ';'-separated) picks the inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
steps=${2:-3}
threads=${3:-1}
python=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
scripts/build-native.sh -c release >/dev/null
swift build -c release --product torch-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/torch-bench
echo "libtorch: swift $("$bin" --version), python $("$python" -c 'import torch; print(torch.__version__)')"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '%-14s %6s %10s %10s %7s\n' input threads swift_s python_s ratio
IFS=';' read -r -a sizes <<<"${SIZES:-64 64 64;78 96 102}"
for dims in "${sizes[@]}"; do
    log=$(mktemp)
    for _ in $(seq "$rounds"); do
        "$bin" $dims 8 "$steps" "$threads" >>"$log"
        (cd bench/torch && "$python" step.py $dims 8 "$steps" "$threads") >>"$log"
    done
    s=$(grep '^swift' "$log" | awk '{print $2}' | median)
    p=$(grep '^python' "$log" | awk '{print $2}' | median)
    printf '%-14s %6s %10.3f %10.3f %7.3f\n' "1x${dims// /x}" "$threads" "$s" "$p" "$(echo "$s / $p" | bc -l)"
    rm -f "$log"
done
