#!/usr/bin/env bash
# Integration test against a real one-node Slurm (scripts/slurm-cluster.sh):
# brings the cluster up, runs the Slurm unit tests against it, then runs
# workflows through `ssmflow run --executor slurm` and checks that
#   - the artifacts have the same digests as a local run,
#   - a second submission runs nothing,
#   - a killed array task fails the run, and the next submission resubmits
#     that task alone (finished shards are not redone),
#   - the tiny femur workflow does all of this too, its augmentation running
#     as a job array (when the full `ssmflow` is built),
# and brings the cluster down. Prints "skipped: REASON" and exits 0 only when
# not root (the daemons need root). As root (as in CI), Slurm missing or
# daemons that do not start fail the test; SSMFLOW_SLURM_SKIP=REASON skips it
# on purpose, saying so.
#
# Environment: SSMFLOW_ENGINE and SSMFLOW (the binaries; default
# .build/debug/ssmflow-engine, built when missing, and .build/debug/ssmflow),
# SSMFLOW_SLURM_PORT (default 6827), SSMFLOW_SLURM_FEMUR=0 to leave out the
# femur workflow.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test-slurm: $*"; }
skip() { say "skipped: $*"; exit 0; }
fail() { say "FAILED: $*"; exit 1; }

[[ -z ${SSMFLOW_SLURM_SKIP:-} ]] || skip "SSMFLOW_SLURM_SKIP: $SSMFLOW_SLURM_SKIP"
[[ $(id -u) == 0 ]] || skip "the Slurm daemons must run as root (uid $(id -u))"
for tool in munged slurmctld slurmd sbatch squeue scancel; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/setup.sh --test installs slurm-wlm and munge)"
done

# The fixture needs only the engine's kinds: `ssmflow-engine` starts without
# loading libtorch and VTK. The femur workflow needs the full `ssmflow`.
engine_bin=${SSMFLOW_ENGINE:-.build/debug/ssmflow-engine}
full_bin=${SSMFLOW:-.build/debug/ssmflow}
if [[ ! -x $engine_bin ]]; then
  say "building ssmflow-engine"
  swift build --product ssmflow-engine >/dev/null
fi
engine_bin=$(realpath "$engine_bin")
ssmflow=$engine_bin

work=$(mktemp -d /tmp/ssmflow-test-slurm.XXXXXX)
export SSMFLOW_SLURM_DIR=$work/cluster
export SSMFLOW_SLURM_PORT=${SSMFLOW_SLURM_PORT:-6827}
cleanup() {
  scripts/slurm-cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

set +e
up=$(scripts/slurm-cluster.sh up 2>&1)
status=$?
set -e
if ((status != 0)); then
  echo "$up" >&2
  fail "the Slurm daemons did not start (output above); as root they must (SSMFLOW_SLURM_SKIP=REASON skips this test on purpose)"
fi
eval "$(scripts/slurm-cluster.sh env)"
say "cluster up ($SLURM_CONF)"

# 1. The client, submission and monitor against the cluster.
if [[ -d .build/debug ]] && ls .build/debug/*.xctest >/dev/null 2>&1; then
  SSMFLOW_TEST_SLURM=1 swift test --skip-build --filter SlurmClusterTests >"$work/unit.out" 2>&1 ||
    { cat "$work/unit.out"; fail "SlurmClusterTests"; }
  say "SlurmClusterTests: $(grep -E "Executed [0-9]+ tests" "$work/unit.out" | tail -n 1 | sed 's/^[[:space:]]*//')"
fi

# Key and output digests of every stage, from `ssmflow plan --json` (a stage
# key covers its input digests, so equal keys mean equal upstream artifacts).
keys() { set -o pipefail; "$ssmflow" plan "$@" --json | python3 -c '
import json, sys
for s in json.load(sys.stdin): print(s["stage"], s["action"], s.get("key"))'; }

# "stage output digest" for the last committed key of every stage in a cache.
digests() { python3 - "$1" <<'EOF'
import glob, json, os, sys
cache = sys.argv[1]
for ref in sorted(glob.glob(os.path.join(cache, "refs", "*", "*.json"))):
    key = json.load(open(ref))["key"]
    record = json.load(open(os.path.join(cache, "records", key[:2], key + ".json")))
    for name, artifact in sorted(record["outputs"].items()):
        print(record["stage"], name, artifact["digest"]["hex"])
EOF
}

# Outputs that record wall-clock time and so differ between any two runs:
# left out of the byte comparison (their stage keys are still compared, and
# everything downstream of them is).
timed_outputs='^deepssm-train log '
compared() { digests "$1" | grep -Ev "$timed_outputs" || true; }

# run WORKFLOW CACHE [ARGS...]: a Slurm run, its output kept in $work/last.out.
run_slurm() {
  local workflow=$1 cache=$2; shift 2
  "$ssmflow" run "$workflow" --cache-dir "$cache" --executor slurm --poll 0.5 "$@" >"$work/last.out" 2>&1
}

# check_same WORKFLOW LABEL ARGS...: local and Slurm runs give the same keys
# and the same bytes for every output, and a second submission runs nothing.
check_same() {
  local workflow=$1 label=$2; shift 2
  local local_cache=$work/$label-local slurm_cache=$work/$label-slurm
  "$ssmflow" run "$workflow" --cache-dir "$local_cache" "$@" >"$work/local.out" 2>&1 ||
    { cat "$work/local.out"; fail "$label: the local run failed"; }
  run_slurm "$workflow" "$slurm_cache" "$@" || { cat "$work/last.out"; fail "$label: the Slurm run failed"; }
  grep -q "submitted" "$work/last.out" || { cat "$work/last.out"; fail "$label: the Slurm run submitted no job"; }
  # Captured first: a failing command must fail the test, and two empty lists
  # must not pass as equal.
  local keys_local keys_slurm out_local out_slurm
  keys_local=$(keys "$workflow" --cache-dir "$local_cache" "$@") || fail "$label: plan failed on the local cache"
  keys_slurm=$(keys "$workflow" --cache-dir "$slurm_cache" "$@") || fail "$label: plan failed on the Slurm cache"
  [[ -n $keys_local ]] || fail "$label: no stage keys from the local cache"
  diff <(echo "$keys_local") <(echo "$keys_slurm") ||
    fail "$label: stage keys differ between the local and the Slurm cache"
  out_local=$(compared "$local_cache") || fail "$label: cannot list the local outputs"
  out_slurm=$(compared "$slurm_cache") || fail "$label: cannot list the Slurm outputs"
  [[ -n $out_local ]] || fail "$label: no outputs in the local cache"
  diff <(echo "$out_local") <(echo "$out_slurm") ||
    fail "$label: output digests differ between the local and the Slurm run"
  run_slurm "$workflow" "$slurm_cache" "$@" || { cat "$work/last.out"; fail "$label: the second Slurm run failed"; }
  grep -q "submitted" "$work/last.out" && { cat "$work/last.out"; fail "$label: the second submission submitted jobs"; }
  grep -q ": 0 ran," "$work/last.out" || { cat "$work/last.out"; fail "$label: the second submission ran stages"; }
  say "$label: same keys and outputs as a local run; a second submission ran nothing"
}

# 2. Same artifacts as a local run; a second submission runs nothing.
fixture=Tests/Fixtures/slurm-shards.yaml
check_same "$fixture" shards

# 3. A killed array task: hold shard 2, cancel that task, then resubmit.
cache=$work/kill
SSMFLOW_TEST_STALL_SHARD=2 run_slurm "$fixture" "$cache" &
runner=$!
shards=""
for _ in $(seq 120); do
  shards=$(ls -d "$cache"/slurm/shards/*/ 2>/dev/null | head -n 1 || true)
  [[ -n $shards && $(ls "$shards" | wc -l) -ge 3 ]] && break
  sleep 1
done
[[ -n $shards && -f $shards/0.done && -f $shards/1.done && -f $shards/3.done ]] ||
  { kill "$runner" 2>/dev/null || true; fail "shards 0, 1 and 3 did not finish within 120 s"; }
array=$(python3 -c 'import glob, json, sys; print(json.load(open(glob.glob(sys.argv[1] + "/slurm/jobs/*/jobs.json")[0]))["squares.shards"])' "$cache")
scancel "${array}_2"
if wait "$runner"; then cat "$work/last.out"; fail "the run succeeded although array task ${array}_2 was killed"; fi
grep -q "shard 2 (Slurm array $array) ended CANCELLED" "$work/last.out" ||
  { cat "$work/last.out"; fail "the failed run does not name the killed task"; }
before=$(stat -c '%Y %n' "$shards"/0.done "$shards"/1.done "$shards"/3.done)
run_slurm "$fixture" "$cache" || { cat "$work/last.out"; fail "the resubmission failed"; }
latest=$(ls -td "$cache"/slurm/jobs/*/ | head -n 1)
logs=$(cd "$latest" && ls squares.shards-*.log)
[[ $logs == "squares.shards-"*"_2.log" && $(echo "$logs" | wc -l) == 1 ]] ||
  fail "the resubmission ran array tasks '$logs' instead of task 2 alone"
[[ $(stat -c '%Y %n' "$shards"/0.done "$shards"/1.done "$shards"/3.done) == "$before" ]] ||
  fail "finished shards were redone"
grep -q "numbers  *cached" "$work/last.out" || fail "the resubmission reran the cached stage 'numbers'"
say "a killed array task failed the run and was resubmitted alone"

# 4. The femur use case, tiny profile, with augmentation in shards of 2
#    samples: its 8 generated samples run as a 4-task job array. libtorch's
#    float sums depend on its thread count, and a Slurm job gets its own CPU
#    count: training and prediction are pinned to one thread so that local and
#    Slurm runs can agree byte for byte.
femur=workflows/femur_deepssm.yaml
femur_args=(--profile tiny --set augment.shard_size=2 --set deepssm-train.threads=1 --set deepssm-predict.threads=1)
if [[ ${SSMFLOW_SLURM_FEMUR:-1} != 0 && -f $femur && -x $full_bin ]] && grep -q "^ *tiny:" "$femur"; then
  ssmflow=$(realpath "$full_bin")
  cache=$work/femur-slurm
  check_same "$femur" femur "${femur_args[@]}"
  jobs=$(ls "$cache"/slurm/jobs/*/jobs.json | head -n 1)
  augment_array=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("augment.shards", ""))' "$jobs")
  [[ -n $augment_array ]] || fail "femur: augment was not submitted as a job array ($jobs)"
  [[ $(ls "$(dirname "$jobs")"/augment.shards-*.log | wc -l) == 4 ]] ||
    fail "femur: the augment array did not run 4 tasks: $(ls "$(dirname "$jobs")")"
  say "femur: augment ran as a job array of 4 shards"

  # A killed augment task, on the same cache with another augmentation seed
  # (the cohort and split stay cached; only augment runs). A job holding both
  # CPUs keeps the array pending until task 3 is cancelled; then the
  # resubmission runs task 3 alone and does not redo the finished shards.
  kill_args=("${femur_args[@]}" --set augment.seed=2 --until augment)
  blocker=$(sbatch --parsable --job-name=hold-cpus --cpus-per-task=2 --output=/dev/null --wrap "sleep 600")
  run_slurm "$femur" "$cache" "${kill_args[@]}" &
  runner=$!
  array=""
  for _ in $(seq 240); do
    array=$(python3 -c '
import glob, json, os, sys
for path in sorted(glob.glob(sys.argv[1] + "/slurm/jobs/*/jobs.json"), key=os.path.getmtime, reverse=True)[:1]:
    print(json.load(open(path)).get("augment.shards", ""))' "$cache" 2>/dev/null) || true
    [[ -n $array && $array != "$augment_array" ]] && break
    array=""
    sleep 0.5
  done
  [[ -n $array ]] || { scancel "$blocker"; kill "$runner" 2>/dev/null || true; fail "femur: no augment array was submitted within 120 s"; }
  scancel "${array}_3"
  scancel "$blocker"
  if wait "$runner"; then cat "$work/last.out"; fail "femur: the run succeeded although array task ${array}_3 was cancelled"; fi
  # A task cancelled while pending leaves squeue at once: the run names the
  # stage job that Slurm then cancelled, not always the task itself.
  grep -Eq "^augment  +failed +(.*shard 3 \(Slurm array $array\) ended CANCELLED|Slurm job [0-9]+ was cancelled)" "$work/last.out" ||
    { cat "$work/last.out"; fail "femur: the failed run does not report the cancelled augment job"; }
  shards=$(ls -td "$cache"/slurm/shards/*/ | head -n 1)
  [[ -f $shards/0.done && -f $shards/1.done && -f $shards/2.done && ! -f $shards/3.done ]] ||
    fail "femur: shards 0-2 should have finished and shard 3 not: $(ls "$shards")"
  before=$(stat -c '%Y %n' "$shards"/0.done "$shards"/1.done "$shards"/2.done)
  run_slurm "$femur" "$cache" "${kill_args[@]}" || { cat "$work/last.out"; fail "femur: the resubmission failed"; }
  latest=$(ls -td "$cache"/slurm/jobs/*/ | head -n 1)
  logs=$(cd "$latest" && ls augment.shards-*.log)
  [[ $logs == "augment.shards-"*"_3.log" && $(echo "$logs" | wc -l) == 1 ]] ||
    fail "femur: the resubmission ran array tasks '$logs' instead of task 3 alone"
  [[ $(stat -c '%Y %n' "$shards"/0.done "$shards"/1.done "$shards"/2.done) == "$before" ]] ||
    fail "femur: finished shards were redone"
  grep -q "femur-cohort  *cached" "$work/last.out" || fail "femur: the resubmission reran the cached stage 'femur-cohort'"
  say "femur: a cancelled augment task failed the run and was resubmitted alone"
else
  say "femur workflow: not run (no $femur with a tiny profile, no $full_bin, or SSMFLOW_SLURM_FEMUR=0)"
fi

say "passed"
