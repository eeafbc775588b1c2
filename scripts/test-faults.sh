#!/usr/bin/env bash
# Fault injection for real, through the real binaries, on private caches:
#   - the cache on a small tmpfs that fills up mid-stage (engine stages, then
#     the femur workflow's HDF5 writes): exit 1, one message in words naming the
#     cache and its free space, the summary table, no crash, nothing half
#     committed (cache verify clean, no lock, lease or work directory left);
#   - a read-only cache: exit 1, words, no raw Cocoa error text;
#   - kill -9 at several points of a run (mid-stage, between the objects and
#     the record, between the record and the ref), then cache verify clean and
#     the finished run's results equal a clean run's;
#   - cache gc looping beside a run that reads an older, unreferenced result;
#   - a flipped byte whose file keeps its size and mtime: plan reports it,
#     export refuses it, run recomputes it;
#   - two SIGINTs during training: no crash, exit 130, locks and tmp released.
# tmpfs and read-only mounts need root (CI runs as root); without root those
# checks are skipped with a message. Prints 'N passed, N failed, N skipped'.
#   ENGINE=... SSMFLOW=... scripts/test-faults.sh
set -uo pipefail
cd "$(dirname "$0")/.."

ENGINE=${ENGINE:-.build/debug/ssmflow-engine}
SSMFLOW=${SSMFLOW:-.build/release/ssmflow}
if [[ ! -x $ENGINE ]]; then
  swift build --product ssmflow-engine >/dev/null || { echo "test-faults: cannot build ssmflow-engine" >&2; exit 1; }
fi
if [[ ! -x $SSMFLOW || ! -e $(dirname "$SSMFLOW")/libSSMFlowTorch.so ]]; then
  { scripts/build-native.sh -c release && swift build -c release --product ssmflow; } >/dev/null || { echo "test-faults: release build failed" >&2; exit 1; }
fi
ENGINE=$(realpath "$ENGINE"); SSMFLOW=$(realpath "$SSMFLOW")
wf=$(realpath workflows/femur_deepssm.yaml)
work=$(mktemp -d)
passed=0 failed=0 skipped=0
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
  if (( failed == 0 )); then rm -rf "$work"; else echo "logs kept in $work"; fi
}
trap cleanup EXIT
cd "$work"

check() { # check NAME CONDITION-STATUS [DETAIL]
  if [[ $2 == 0 ]]; then passed=$((passed + 1)); echo "ok   - $1"
  else failed=$((failed + 1)); echo "FAIL - $1${3:+: $3}"; fi
}
skip() { skipped=$((skipped + 1)); echo "skip - $1"; }
root=0; [[ $(id -u) == 0 ]] && root=1
tmpfs() { # tmpfs DIR SIZE: a fresh tmpfs at DIR
  mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" && mounts+=("$1")
}
# No lock, lease or work directory left, and verify finds nothing.
clean_state() { # clean_state CACHE BIN
  local left
  left=$(find "$1/locks" "$1/leases" "$1/tmp" -mindepth 1 2>/dev/null | head -3)
  [[ -z $left ]] || { echo "left behind: $left"; return 1; }
  "$2" cache verify --cache-dir "$1" >/dev/null || { "$2" cache verify --cache-dir "$1"; return 1; }
}
# Every record's stage and output digests, sorted: what a cache holds, by content.
results() { # results CACHE
  python3 - "$1" <<'EOF'
import json, pathlib, sys
rows = []
for f in pathlib.Path(sys.argv[1], "records").glob("*/*.json"):
    r = json.loads(f.read_text())
    rows.append(r["stage"] + " " + " ".join(f"{k}={v['digest']['hex'][:16]}" for k, v in sorted(r["outputs"].items())))
print("\n".join(sorted(rows)))
EOF
}

# An engine workflow: a -> b (SIZE bytes, after PAUSE s) -> c.
cat > chain.yaml <<'EOF'
workflow: chain
params: {size: 5000000, pause: 0.3}
stages:
  a: {uses: shell, params: {command: "echo a > o", outputs: {o: o}}}
  b: {uses: shell, inputs: {x: a.o}, params: {command: "sleep ${params.pause}; head -c ${params.size} /dev/zero > o; cat \"$SSMFLOW_INPUT_X\" >> o", outputs: {o: o}}}
  c: {uses: shell, inputs: {x: b.o}, params: {command: "sleep 0.3; wc -c < \"$SSMFLOW_INPUT_X\" > o", outputs: {o: o}}}
EOF

echo "== disk full (engine stages)"
if (( root )); then
  tmpfs small 3m
  "$ENGINE" run chain.yaml --cache-dir small/cache >full.log 2>&1; rc=$?
  [[ $rc == 1 ]]; check "a full cache fails the run with exit 1" $? "exit $rc"
  grep -q "error: stage 'b' failed: the file system of the cache '$work/small/cache' is full (no space left on device, .* free)" full.log
  check "one message names the stage, the cache and its free space" $? "$(grep error: full.log)"
  grep -qE '^b +failed' full.log; check "the summary table is printed" $?
  clean_state small/cache "$ENGINE"; check "nothing half committed, nothing left behind" $?
  "$ENGINE" run chain.yaml --cache-dir small/cache --set params.size=1000 >/dev/null 2>&1
  check "with room again the run completes" $?
else
  skip "disk full: needs root for a tmpfs (CI runs as root)"
fi

echo "== read-only cache"
if (( root )); then
  tmpfs ro 20m
  "$ENGINE" run chain.yaml --cache-dir ro/cache --set params.size=10 >/dev/null 2>&1
  mount -o remount,ro ro
  "$ENGINE" run chain.yaml --cache-dir ro/cache --set params.size=11 >ro.log 2>&1; rc=$?
  [[ $rc == 1 ]]; check "a read-only cache fails with exit 1" $? "exit $rc: $(tail -2 ro.log)"
  grep -q "is on a read-only file system; choose a writable --cache-dir" ro.log && ! grep -q NSCocoaErrorDomain ro.log
  check "it is said in words" $? "$(tail -2 ro.log)"
  "$ENGINE" plan chain.yaml --cache-dir ro/cache --set params.size=10 >/dev/null 2>&1
  check "plan still works on a read-only cache" $?
else
  skip "read-only cache: needs root for a read-only mount (CI runs as root)"
fi

echo "== export onto a file"
"$ENGINE" run chain.yaml --cache-dir c1 --set params.size=10 >/dev/null 2>&1
touch afile
"$ENGINE" cache export b.o afile --cache-dir c1 >export.log 2>&1; rc=$?
[[ $rc == 2 ]] && grep -q "is a file, not a directory" export.log && ! grep -q Code= export.log
check "cache export onto a file: words, exit 2 (invalid arguments)" $? "exit $rc: $(cat export.log)"

echo "== kill -9 at several points"
"$ENGINE" run chain.yaml --cache-dir clean --set params.size=10 >/dev/null 2>&1
for point in after-objects:b after-record:b after-objects:c; do
  rm -rf k
  SSMFLOW_FAULT=$point "$ENGINE" run chain.yaml --cache-dir k --set params.size=10 >/dev/null 2>&1; rc=$?
  [[ $rc == 137 ]] || { check "killed at $point" 1 "exit $rc, not killed"; continue; }
  "$ENGINE" cache verify --cache-dir k >verify.log 2>&1; check "killed at $point: cache verify clean" $? "$(cat verify.log)"
  "$ENGINE" run chain.yaml --cache-dir k --set params.size=10 >/dev/null 2>&1
  diff <(results k) <(results clean) >/dev/null && [[ -n $(results k) ]]
  check "killed at $point: the next run gives a clean run's results" $?
done
rm -rf k
"$ENGINE" run chain.yaml --cache-dir k --set params.size=10 --set params.pause=30 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -n $(find k/tmp -mindepth 1 -name '*-b-*' 2>/dev/null) ]] && break; sleep 0.1; done
sleep 0.5; kill -9 $pid; wait $pid 2>/dev/null
"$ENGINE" cache verify --cache-dir k >verify.log 2>&1; check "killed mid-stage: cache verify clean" $? "$(cat verify.log)"
"$ENGINE" cache gc --cache-dir k >/dev/null 2>&1
[[ -z $(find k/tmp k/leases k/locks -mindepth 1 2>/dev/null) ]]; check "gc removes what the killed run left" $?

echo "== gc looping beside a run"
rm -rf g
"$ENGINE" run chain.yaml --cache-dir g --set params.size=10 >/dev/null 2>&1
"$ENGINE" run chain.yaml --cache-dir g --set params.size=20 >/dev/null 2>&1
# size=10's results are now unreferenced (not latest, not the last run): the
# next run reuses them while gc keeps trying to collect them.
( while [[ ! -e stop-gc ]]; do "$ENGINE" cache gc --keep-last 1 --cache-dir g >>gc.log 2>&1; sleep 0.05; done ) &
gcpid=$!
ok=0
for i in 1 2 3; do
  "$ENGINE" run chain.yaml --cache-dir g --set params.size=$((10 * (i % 2 + 1))) >gcrun.log 2>&1 || { ok=1; break; }
done
touch stop-gc; wait $gcpid
check "runs beside a looping gc succeed" $ok "$(tail -3 gcrun.log)"
"$ENGINE" cache verify --cache-dir g >verify.log 2>&1; check "and cache verify is clean after" $? "$(cat verify.log)"
grep -q "run(s) in progress" gc.log; check "gc saw the live runs and held back" $?

echo "== flipped byte, size and mtime restored"
digest=$(python3 -c 'import json,glob
for f in glob.glob("c1/records/*/*.json"):
    r = json.load(open(f))
    if r["stage"] == "b": print(r["outputs"]["o"]["digest"]["hex"])')
object=c1/objects/${digest:0:2}/$digest
python3 - "$object" <<'EOF'
import os, sys
p = sys.argv[1]; st = os.stat(p); os.chmod(p, 0o644)
b = bytearray(open(p, "rb").read()); b[0] ^= 1; open(p, "wb").write(b)
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns)); os.chmod(p, 0o444)
EOF
"$ENGINE" plan chain.yaml --cache-dir c1 --set params.size=10 >plan.log 2>&1
grep -qE '^b +run +output corrupt: b.o' plan.log; check "plan reports the flipped byte" $? "$(cat plan.log)"
"$ENGINE" cache export b.o exported --cache-dir c1 >export.log 2>&1; rc=$?
[[ $rc == 1 && ! -e exported/o ]] && grep -q "is corrupt" export.log; check "export refuses the corrupt object" $? "exit $rc: $(cat export.log)"
"$ENGINE" run chain.yaml --cache-dir c1 --set params.size=10 >run.log 2>&1
grep -qE '^b +ran +output corrupt' run.log; check "run recomputes it and says why" $? "$(cat run.log)"
"$ENGINE" cache verify --cache-dir c1 >/dev/null 2>&1; check "verify is clean after the rerun" $?

echo "== the femur workflow (tiny): disk full in HDF5 writes"
if (( root )); then
  tmpfs hfull 40m
  "$SSMFLOW" run "$wf" --tiny-test --cache-dir hfull/cache >hfull.log 2>&1; rc=$?
  [[ $rc == 1 ]]; check "a full cache during the femur workflow exits 1, no crash" $? "exit $rc: $(grep -E 'error|crash' hfull.log | head -3)"
  grep -qE "error: stage '[a-z-]+' failed: the file system of the cache '$work/hfull/cache' is full" hfull.log
  check "it says so in words" $? "$(grep error: hfull.log | head -2)"
  grep -qE ' failed +' hfull.log; check "the summary table is printed" $?
  clean_state hfull/cache "$SSMFLOW"; check "nothing half committed, nothing left behind" $?
else
  skip "disk full in HDF5 writes: needs root for a tmpfs (CI runs as root)"
fi

echo "== two SIGINTs during training"
"$SSMFLOW" run "$wf" --tiny-test --until deepssm-loaders --cache-dir t >tiny.log 2>&1
check "the tiny workflow runs up to training" $? "$(tail -3 tiny.log)"
for delay in 0.2 0.8 1.5 3; do
  "$SSMFLOW" run "$wf" --tiny-test --set deepssm-train.epochs=3 --cache-dir t -v >sigint.log 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "training on" sigint.log && break; sleep 0.1; done
  sleep "$delay"
  kill -INT $pid; sleep 0.3; kill -INT $pid
  wait $pid; rc=$?
  [[ $rc == 130 ]]; check "double SIGINT ${delay}s into training: exit 130, no crash" $? "exit $rc: $(tail -3 sigint.log)"
  clean_state t "$SSMFLOW"; check "double SIGINT ${delay}s into training: locks, lease and tmp released, verify clean" $?
done

echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
