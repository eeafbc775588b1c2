#!/usr/bin/env bash
# Engine benchmark: whole-process wall time of
#   - a no-op rerun of a 10-stage workflow   (target ≤ 0.1 s)
#   - a plan of a 1,000-stage workflow       (target ≤ 1 s)
#   - a first run and a no-op rerun of the 1,000-stage workflow (for reference)
# with the release build of `ssmflow-engine` (the command line with only the
# built-in kinds), and the start-up of the full `ssmflow` (which loads libtorch
# and VTK only when a stage needs them; see bench/startup/run.sh) for comparison. Prints the median of N repetitions (default 5).
# Usage: bench/engine/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-5}
swift build -c release --product ssmflow-engine >/dev/null
engine=.build/release/ssmflow-engine
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
python3 bench/engine/generate.py 10 "$work/w10.yaml"
python3 bench/engine/generate.py 1000 "$work/w1000.yaml"

# median wall seconds of `reps` runs of a command
median() {
  python3 - "$reps" "$@" <<'PY'
import subprocess, sys, time
reps, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(reps):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times.append(time.perf_counter() - t)
times.sort()
print(f"{times[len(times) // 2]:.3f}")
PY
}

"$engine" run "$work/w10.yaml" --cache-dir "$work/c10" >/dev/null 2>&1
echo "no-op rerun, 10 stages:       $(median "$engine" run "$work/w10.yaml" --cache-dir "$work/c10") s  (target ≤ 0.1 s)"
echo "plan, 1,000 stages (cold):    $(median "$engine" plan "$work/w1000.yaml" --cache-dir "$work/cp") s  (target ≤ 1 s)"
start=$(python3 -c 'import time; print(time.perf_counter())')
"$engine" run "$work/w1000.yaml" --cache-dir "$work/c1000" --jobs 2 >/dev/null 2>&1
echo "first run, 1,000 stages:      $(python3 -c "import time; print(f'{time.perf_counter() - $start:.3f}')") s  (--jobs 2)"
echo "plan, 1,000 stages (cached):  $(median "$engine" plan "$work/w1000.yaml" --cache-dir "$work/c1000") s"
echo "no-op rerun, 1,000 stages:    $(median "$engine" run "$work/w1000.yaml" --cache-dir "$work/c1000") s"
if [[ -x .build/release/ssmflow ]]; then
  echo "full ssmflow --help start-up: $(median .build/release/ssmflow --help) s"
  echo "full ssmflow no-op rerun, 10: $(median .build/release/ssmflow run "$work/w10.yaml" --cache-dir "$work/c10") s"
fi
