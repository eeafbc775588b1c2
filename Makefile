# The two commands of the README:
#   make run   set everything up and run the femur use case (cpu profile)
#   make test  set everything up and run the whole test suite
SWIFT ?= swift
PROFILE ?= cpu
SSMFLOW := .build/release/ssmflow

.PHONY: setup build run test test-unit test-e2e bench clean torch-wheel

setup:
	@scripts/setup.sh

# ssmflow loads libSSMFlowTorch.so, libSSMFlowVTK.so and libSSMFlowITK.so on first use; build them beside it.
build: setup
	SWIFT=$(SWIFT) scripts/build-native.sh -c release
	$(SWIFT) build -c release --product ssmflow

run: build
	$(SSMFLOW) run workflows/femur_deepssm.yaml --profile $(PROFILE)

test:
	@scripts/setup.sh --test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@if [ -x scripts/test-e2e.sh ]; then scripts/test-e2e.sh; fi
	scripts/test-faults.sh
	scripts/test-slurm.sh
	scripts/test-torch-wheel.sh

# The PyPI torch route (CUDA GPUs): torch in .build-torch/venv and the shim built
# against it in .build-torch/lib; run ssmflow with SSMFLOW_NATIVE_DIR=.build-torch/lib.
torch-wheel:
	@scripts/setup.sh --torch-wheel

# make bench lists the benchmarks; make bench BENCH="accuracy --seeds 1" runs one.
bench:
	@scripts/setup.sh --bench
	bench/run.sh $(BENCH)

clean:
	rm -rf .build
