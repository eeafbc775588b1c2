#!/usr/bin/env bash
# Builds the native shared libraries that ssmflow and the benchmarks load on
# first use (libSSMFlowTorch.so, libSSMFlowVTK.so, libSSMFlowITK.so), next to the executables.
# `swift build --product X` builds only X's dependencies, and the executables do
# not link these libraries, so a product build needs this step too.
#   scripts/build-native.sh [swift build options, e.g. -c release]
set -euo pipefail
cd "$(dirname "$0")/.."
for product in SSMFlowTorch SSMFlowVTK SSMFlowITK; do
  ${SWIFT:-swift} build "$@" --product "$product"
done
