#!/bin/sh
# DeepSSM loaders benchmark (release build): seconds per image for the
# `deepssm-loaders` stage at full femur size, BatchReader epoch time, peak RSS.
set -e
cd "$(dirname "$0")/../.."
scripts/build-native.sh -c release
swift build -c release --product loaders-bench
.build/release/loaders-bench --samples "${SAMPLES:-100}" --threads "${THREADS:-2}" --epochs "${EPOCHS:-2}" "$@"
