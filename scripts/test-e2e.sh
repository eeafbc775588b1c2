#!/usr/bin/env bash
# End-to-end rerun behaviour of the femur use case at tiny size, through the
# real `ssmflow` binary (release build) on a private cache:
#   - a second run runs nothing;
#   - --set deepssm-train.epochs=N+1 reruns training (resuming), prediction and
#     analysis only, and plan says why in values;
#   - a new augmentation seed reruns augmentation and what follows, not the cohort;
#   - deepssm-predict.subjects=validation predicts and analyses held-out validation
#     subjects, and fails clearly without any;
#   - deepssm-loaders.downsample=area reruns the loaders and what follows and is
#     recorded; an unknown filter and bad benchmark arguments exit 2;
#   - a YAML comment or reordered keys rerun nothing;
#   - a deleted or corrupted cache object is reported and only what needs it reruns;
#   - a run killed during augmentation reuses the samples already done.
# Prints 'N passed, N failed' at the end; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

SSMFLOW=${SSMFLOW:-.build/release/ssmflow}
if [[ ! -x $SSMFLOW || ! -e $(dirname "$SSMFLOW")/libSSMFlowTorch.so ]]; then
  { scripts/build-native.sh -c release && swift build -c release --product ssmflow; } >/dev/null || { echo "test-e2e: release build failed" >&2; exit 1; }
fi
work=$(mktemp -d)
passed=0 failed=0
trap 'if (( failed == 0 )); then rm -rf "$work"; else echo "logs kept in $work"; fi' EXIT
cache="$work/cache"
wf=workflows/femur_deepssm.yaml

check() { # check NAME CONDITION-STATUS [DETAIL]
  if [[ $2 == 0 ]]; then passed=$((passed + 1)); echo "ok   - $1"
  else failed=$((failed + 1)); echo "FAIL - $1${3:+: $3}"; fi
}
ssm() { "$SSMFLOW" "$@" --cache-dir "$cache"; }
# The stages a plan would run, sorted, space-separated; "PLAN FAILED" when
# plan fails (never an empty list that would pass as "nothing to run").
plan_runs() {
  local json
  json=$(ssm plan "$@" --json) || { echo "PLAN FAILED"; return; }
  python3 -c '
import json, sys
print(" ".join(sorted(s["stage"] for s in json.loads(sys.argv[1]) if s["action"] == "run")))' "$json" || echo "PLAN FAILED"
}
plan_reasons() { # plan_reasons STAGE ARGS...
  local stage=$1; shift
  ssm plan "$@" --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["stage"] == sys.argv[1]: print("; ".join(s["reasons"]))' "$stage"
}
ran_stages() { # the stages a run's final table marks 'ran'; "NO TABLE" when the log has none
  grep -qE '^stage +outcome' "$1" || { echo "NO TABLE"; return; }
  awk '$2 == "ran" && $1 != "stage" && $1 !~ /:$/ {print $1}' "$1" | sort | tr '\n' ' ' | sed 's/ $//'
}

echo "== first run (tiny profile)"
start=$(date +%s.%N)
ssm run "$wf" --tiny-test >"$work/run1.log" 2>&1
rc=$?
first=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
tail -n 25 "$work/run1.log"
check "tiny run succeeds (${first} s)" $rc "$(tail -n 5 "$work/run1.log")"
grep -q '^report: ' "$work/run1.log"; check "the run prints its report's path" $?

echo "== second run"
start=$(date +%s.%N)
ssm run "$wf" --tiny-test >"$work/run2.log" 2>&1
rc=$?
second=$(python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')")
check "second run succeeds" $rc
grep -q ' 0 ran, ' "$work/run2.log"; check "second run runs nothing (${second} s wall)" $? "$(tail -n 3 "$work/run2.log")"

echo "== one more epoch"
epochs=$(grep -A12 'tiny:' "$wf" | awk -F': ' '/deepssm-train.epochs/ {print $2}')
more=$((epochs + 1))
runs=$(plan_runs "$wf" --tiny-test --set deepssm-train.epochs=$more)
[[ $runs == "deepssm-analyze deepssm-predict deepssm-train" ]]
check "epochs $epochs → $more plans training, prediction and analysis only" $? "plan runs: $runs"
why=$(plan_reasons deepssm-train "$wf" --tiny-test --set deepssm-train.epochs=$more)
[[ $why == *"deepssm-train.epochs $epochs → $more"* ]]; check "plan says why in values" $? "$why"
ssm run "$wf" --tiny-test --set deepssm-train.epochs=$more -v >"$work/run3.log" 2>&1
check "the longer training runs" $?
r=$(ran_stages "$work/run3.log")
[[ $r == "deepssm-analyze deepssm-predict deepssm-train" ]]; check "the run ran training, prediction and analysis only" $? "ran: $r"
grep -q "resuming from the checkpoint of epoch $epochs" "$work/run3.log"; check "training resumes from the stored epoch" $? "$(grep -i epoch "$work/run3.log" | head -3)"

echo "== fine-tuning on particles"
ssm run "$wf" --tiny-test --set deepssm-train.epochs=$more --set deepssm-train.fine_tune_epochs=1 -v >"$work/run3b.log" 2>&1
check "fine-tuning through the PCA decoder runs" $? "$(tail -n 5 "$work/run3b.log")"
grep -q "resuming from the checkpoint of epoch $more of $more" "$work/run3b.log"
check "fine-tuning reuses every stored training epoch" $? "$(grep -i epoch "$work/run3b.log" | head -3)"
grep -q "fine-tune epoch 1: train particle RMSE" "$work/run3b.log"
check "the fine-tuning epoch logs its particle error" $? "$(grep -i fine "$work/run3b.log" | head -3)"

echo "== new augmentation seed"
runs=$(plan_runs "$wf" --tiny-test --set augment.seed=2)
[[ $runs == "augment deepssm-analyze deepssm-loaders deepssm-predict deepssm-train" ]]
check "augment.seed plans augmentation and what follows, not the cohort" $? "plan runs: $runs"
ssm run "$wf" --tiny-test --set augment.seed=2 >"$work/run-seed.log" 2>&1
check "the run with another augmentation seed succeeds" $? "$(tail -n 3 "$work/run-seed.log")"
r=$(ran_stages "$work/run-seed.log")
[[ $r == "augment deepssm-analyze deepssm-loaders deepssm-predict deepssm-train" ]]
check "the run reran augmentation and what follows, not the cohort" $? "ran: $r"

echo "== the validation subjects"
runs=$(plan_runs "$wf" --tiny-test --set deepssm-predict.subjects=validation)
[[ $runs == "deepssm-analyze deepssm-predict" ]]
check "deepssm-predict.subjects plans prediction and analysis only" $? "plan runs: $runs"
ssm run "$wf" --tiny-test --set deepssm-predict.subjects=validation >"$work/run-val0.log" 2>&1
rc=$?
[[ $rc == 1 ]] && grep -q "hold some out with split.validation" "$work/run-val0.log"
check "without validation subjects it fails (exit 1) saying to hold some out" $? "rc $rc: $(grep -i validation "$work/run-val0.log" | head -2)"
ssm run "$wf" --tiny-test --set split.train=3 --set split.validation=1 --set deepssm-predict.subjects=validation >"$work/run-val.log" 2>&1
check "with a validation subject held out, its prediction and analysis run" $? "$(tail -n 3 "$work/run-val.log")"
grep -q "over 1 validation femurs" "$work/run-val.log"
check "the analysis says it measured the validation subject" $? "$(grep -i femurs "$work/run-val.log" | head -2)"

echo "== area downsampling and the accuracy benchmark's arguments"
runs=$(plan_runs "$wf" --tiny-test --set deepssm-loaders.downsample=area)
[[ $runs == "deepssm-analyze deepssm-loaders deepssm-predict deepssm-train" ]]
check "deepssm-loaders.downsample plans the loaders and what follows, not the cohort or augmentation" $? "plan runs: $runs"
ssm run "$wf" --tiny-test --set deepssm-loaders.downsample=area >"$work/run-area.log" 2>&1
check "the run with area downsampling succeeds" $? "$(tail -n 3 "$work/run-area.log")"
grep -rqs --include normalization.json '"downsample" : "area"' "$cache/objects"
check "its normalization.json records the area filter" $?
ssm plan "$wf" --tiny-test --set deepssm-loaders.downsample=cubic >"$work/plan-cubic.log" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "downsample" "$work/plan-cubic.log" && grep -q "area" "$work/plan-cubic.log"
check "an unknown downsampling filter is refused (exit 2) naming the parameter and the choices" $? "rc $rc: $(head -n 3 "$work/plan-cubic.log")"
bench/accuracy/run.sh --cohorts "1" >"$work/bench-c1.log" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "test set" "$work/bench-c1.log"
check "bench/accuracy refuses cohort 1, whose held-out femurs are the test set (exit 2)" $? "rc $rc: $(cat "$work/bench-c1.log")"
bench/accuracy/run.sh --cohorts "2" --validation 5 >"$work/bench-cv.log" 2>&1
rc=$?
[[ $rc == 2 ]]
check "bench/accuracy refuses --cohorts with --validation (exit 2)" $? "rc $rc: $(cat "$work/bench-cv.log")"

echo "== comments and key order"
python3 - "$wf" "$work/edited.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = ["# a comment added at the top", "# and another one"]
for line in lines:
    out.append(line + ("   # trailing comment" if line.strip().startswith("uses:") else ""))
text = "\n".join(out) + "\n"
# Reorder two keys of the split stage and write a number in another notation.
edit = ("    inputs: {cohort: femur-cohort.cohort}\n    params: {train: 40, validation: 0}\n",
        "    params: {validation: 0, train: 40}\n    inputs: {cohort: femur-cohort.cohort}\n")
assert edit[0] in text, "the split stage of the workflow is not written as this check expects"
text = text.replace(*edit)
text = text.replace("learning_rate: 1.0e-4", "learning_rate: 0.0001")
open(sys.argv[2], "w").write(text)
PY
cp -r workflows "$work/" 2>/dev/null
runs=$(plan_runs "$work/edited.yaml" --tiny-test)
[[ -z $runs ]]; check "comments, key order and number notation plan nothing" $? "plan runs: $runs"
ssm run "$work/edited.yaml" --tiny-test >"$work/run-edited.log" 2>&1
check "the edited workflow runs" $? "$(tail -n 3 "$work/run-edited.log")"
r=$(ran_stages "$work/run-edited.log")
[[ $r == "" ]] && grep -q ' 0 ran, ' "$work/run-edited.log"
check "comments, key order and number notation rerun nothing" $? "ran: $r"

echo "== a corrupted and a deleted object"
object_of() { # object_of STAGE OUTPUT: the path of the object the tiny plan uses
  local key
  key=$(ssm plan "$wf" --tiny-test --json | python3 -c '
import json, sys
print(next(s["key"] for s in json.load(sys.stdin) if s["stage"] == sys.argv[1]))' "$1")
  ssm cache show "$key" 2>/dev/null | awk -v out="$2" '$1 == out && $NF ~ /objects/ {print $NF; exit}'
}
predictions=$(object_of deepssm-predict predictions)
if [[ -n $predictions ]]; then
  target=$(find "$predictions" -type f -name '*.h5' | head -1)
  [[ -z $target ]] && target=$(find "$predictions" -type f | head -1)
  chmod u+w "$target" "$(dirname "$target")" 2>/dev/null
  python3 - "$target" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xFF; open(p, "wb").write(b)
PY
  ssm run "$wf" --tiny-test >"$work/run4.log" 2>&1
  check "a run after a flipped byte succeeds" $?
  grep -qiE "corrupt|digest" "$work/run4.log"; check "the corrupt object is reported" $? "$(head -n 5 "$work/run4.log")"
  r=$(ran_stages "$work/run4.log")
  [[ $r == "deepssm-predict" ]]; check "only the stage that made it reruns" $? "ran: $r"
else
  check "find the prediction object" 1 "cache show printed no object path"
fi
loaders=$(object_of deepssm-loaders loaders)
if [[ -n $loaders ]]; then
  chmod -R u+w "$loaders" 2>/dev/null; rm -rf "$loaders"
  ssm run "$wf" --tiny-test >"$work/run5.log" 2>&1
  check "a run after a deleted object succeeds" $?
  grep -qiE "missing" "$work/run5.log"; check "the missing object is reported" $? "$(head -n 5 "$work/run5.log")"
  r=$(ran_stages "$work/run5.log")
  [[ $r == "deepssm-loaders" ]]; check "only the stage that made it reruns (early cutoff after it)" $? "ran: $r"
else
  check "find the loaders object" 1 "cache show printed no object path"
fi

echo "== killed during augmentation"
args=(--tiny-test --set augment.seed=3 --set augment.num_samples=400 --set augment.shard_size=8)
"$SSMFLOW" run "$wf" "${args[@]}" --until augment --cache-dir "$cache" >"$work/run6.log" 2>&1 &
pid=$!
memo_before=$(find "$cache/memo" -type f 2>/dev/null | wc -l)
for _ in $(seq 1 600); do
  sleep 0.5
  now=$(find "$cache/memo" -type f 2>/dev/null | wc -l)
  (( now >= memo_before + 2 )) && break
  kill -0 $pid 2>/dev/null || break
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
ssm run "$wf" "${args[@]}" --until augment -v >"$work/run7.log" 2>&1
check "the rerun after a kill succeeds" $?
grep -qE "; [1-9][0-9]* reused" "$work/run7.log"; check "samples done before the kill are reused" $? "$(grep -i -E 'shard|sample' "$work/run7.log" | head -3)"

echo "$passed passed, $failed failed"
(( failed == 0 ))
