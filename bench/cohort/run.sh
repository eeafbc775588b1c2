#!/bin/sh
# Full femur cohort generation (50 subjects, 1024 particles, 1 mm) through
# `ssmflow run`, release build, into a fresh cache; prints the wall time and the
# stage's own time. Needs ~1 GB of free disk for the cohort.
set -e
cd "$(dirname "$0")/../.."
scripts/build-native.sh -c release
swift build -c release --product ssmflow
cache=$(mktemp -d "${TMPDIR:-/tmp}/cohort-bench.XXXXXX")
trap 'rm -rf "$cache"' EXIT
start=$(date +%s.%N)
.build/release/ssmflow run bench/cohort/cohort.yaml --cache-dir "$cache" "$@"
end=$(date +%s.%N)
echo "femur-cohort, 50 subjects: $(echo "$end - $start" | bc) s wall (nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg))"
.build/release/ssmflow cache show cohort --cache-dir "$cache" | head -12
