#!/usr/bin/env bash
# Start-up benchmark of the full `ssmflow` (release build): whole-process wall
# time, median of N runs, of
#   - `ssmflow --help`
#   - `ssmflow plan workflows/femur_deepssm.yaml --tiny-test`
#   - a no-op rerun of the tiny femur workflow (run once first into a scratch cache)
# None of these runs a torch or VTK stage, so none should load libtorch or VTK.
# Several binaries (e.g. an older build) are measured interleaved, under the
# same machine load.
# Usage: bench/startup/run.sh [N] [SSMFLOW_BINARY...]
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-7}
shift || true
binaries=("$@")
if [[ ${#binaries[@]} -eq 0 ]]; then
  scripts/build-native.sh -c release >/dev/null
  swift build -c release --product ssmflow >/dev/null
  binaries=(.build/release/ssmflow)
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
wf=workflows/femur_deepssm.yaml

# The first run fills the cache; later binaries of the same stage versions find it.
for bin in "${binaries[@]}"; do
  "$bin" run "$wf" --tiny-test --cache-dir "$work/cache" >/dev/null 2>&1
done

python3 - "$reps" "$wf" "$work/cache" "${binaries[@]}" <<'PY'
import os, subprocess, sys, time
reps, wf, cache, binaries = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
commands = {
    "--help": ["--help"],
    "plan --tiny-test": ["plan", wf, "--tiny-test", "--cache-dir", cache],
    "no-op rerun --tiny-test": ["run", wf, "--tiny-test", "--cache-dir", cache],
}
times = {(b, c): [] for b in binaries for c in commands}
for _ in range(reps):
    for name, args in commands.items():
        for b in binaries:
            t = time.perf_counter()
            subprocess.run([b] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[(b, name)].append(time.perf_counter() - t)
print(f"load average {os.getloadavg()[0]:.1f}, median of {reps}")
for name in commands:
    cells = []
    for b in binaries:
        values = sorted(times[(b, name)])
        cells.append(f"{b}: {values[len(values) // 2]:.3f} s")
    print(f"{name:26} " + "   ".join(cells))
PY
