#!/usr/bin/env bash
# The benchmarks: each directory of bench/ with a run.sh is one; its header
# says what it measures and against what.
#   bench/run.sh                   list them, with the first line of each header
#   bench/run.sh NAME [ARGS...]    run bench/NAME/run.sh ARGS (make bench BENCH="NAME ARGS")
set -euo pipefail
cd "$(dirname "$0")"
if [[ $# -eq 0 ]]; then
  echo "benchmarks (bench/run.sh NAME [ARGS...], or make bench BENCH=NAME):"
  for script in */run.sh; do
    name=${script%/run.sh}
    summary=$(sed -n '2s/^# *//p' "$script")
    printf '  %-10s %s\n' "$name" "$summary"
  done
  exit 0
fi
name=$1
shift
if [[ ! -x "$name/run.sh" ]]; then
  echo "bench/run.sh: no benchmark '$name'; bench/run.sh without arguments lists them" >&2
  exit 2
fi
exec "$name/run.sh" "$@"
