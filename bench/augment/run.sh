#!/bin/sh
# Augmentation warp benchmark (release build, 2 threads): generated images per
# second at full size against the exact per-voxel thin-plate-spline warp.
set -e
cd "$(dirname "$0")/../.."
scripts/build-native.sh -c release
swift build -c release --product augment-bench
.build/release/augment-bench --images "${IMAGES:-64}" --exact-images "${EXACT_IMAGES:-2}" "$@"
