#!/bin/sh
# Augmentation warp benchmark (release build, 2 threads): generated images per
# second at full size against the exact per-voxel thin-plate-spline warp.
# Options go to augment-bench (see bench/augment/main.swift): --particles DIR
# (real femur landmarks), --stage-samples N (the stage's path: sample, warp,
# HDF5 shards written under $TMPDIR, ~7.4 MB per sample, deleted at the end),
# --threads T, --gzip L, --probe, --hash. Figures: docs/augmentation.md.
set -e
cd "$(dirname "$0")/../.."
scripts/build-native.sh -c release
swift build -c release --product augment-bench
.build/release/augment-bench --images "${IMAGES:-64}" --exact-images "${EXACT_IMAGES:-2}" "$@"
