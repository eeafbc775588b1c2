#!/usr/bin/env bash
# The host-heap policy of training (TorchKit's HostHeap) against glibc's
# defaults: seconds per DeepSSM training step at the cpu profile's size, batch
# 4, 2 threads, on a worker thread as in a stage. Interleaved runs, medians.
# usage: bench/torch/heap.sh [ROUNDS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
steps=${2:-8}
scripts/build-native.sh -c release >/dev/null
swift build -c release --product torch-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/torch-bench
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
kept=$(mktemp) system=$(mktemp)
for _ in $(seq "$rounds"); do
    /usr/bin/time -f "time %U %S" "$bin" 60 60 60 4 "$steps" 2 >>"$kept" 2>&1
    SSMFLOW_HOST_HEAP=system /usr/bin/time -f "time %U %S" "$bin" 60 60 60 4 "$steps" 2 >>"$system" 2>&1
done
printf '%-8s %8s %8s %8s\n' heap step_s user_s sys_s
for name in kept system; do
    file=${!name}
    printf '%-8s %8.3f %8.1f %8.1f\n' "$name" "$(grep '^swift' "$file" | awk '{print $2}' | median)" \
        "$(grep '^time' "$file" | awk '{print $2}' | median)" "$(grep '^time' "$file" | awk '{print $3}' | median)"
done
rm -f "$kept" "$system"
