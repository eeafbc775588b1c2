// Process-wide settings and network sizing: everything that needs ATen's
// context but not the tensor and module library of torch/torch.h.
#include "shim_internal.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <stdexcept>

using namespace ctorch_detail;

namespace ctorch_detail {

// Whether this library was linked with libtorch's CUDA kernels (libtorch_cuda.so
// is then loaded). at::hasCUDA() answers another question: whether a GPU is usable now.
bool linked_with_cuda() {
    static const bool linked = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD) != nullptr;
    return linked;
}

ctorch_device resolve(ctorch_device requested) {
    if (requested == CTORCH_DEVICE_CPU) return CTORCH_DEVICE_CPU;
    const bool usable = torch::cuda::is_available();
    if (requested == CTORCH_DEVICE_AUTO) return usable ? CTORCH_DEVICE_CUDA : CTORCH_DEVICE_CPU;
    if (!usable && !linked_with_cuda()) {
        throw std::runtime_error(
            "device 'cuda' was requested but this libtorch (" TORCH_VERSION ") was built without "
            "CUDA; build against PyPI's CUDA torch with `make torch-wheel` and run with "
            "SSMFLOW_NATIVE_DIR=.build-torch/lib (or SSMFLOW_LIBTORCH=<a CUDA libtorch> swift build), "
            "or use device 'cpu'");
    }
    if (!usable) {
        throw std::runtime_error(
            "device 'cuda' was requested but no CUDA GPU is visible; check the driver and "
            "CUDA_VISIBLE_DEVICES, or use device 'cpu'");
    }
    return CTORCH_DEVICE_CUDA;
}

}  // namespace ctorch_detail

extern "C" {

const char *ctorch_version(void) { return TORCH_VERSION; }

void ctorch_free_string(char *string) { std::free(string); }

int32_t ctorch_built_with_cuda(void) {
    try { return linked_with_cuda() || at::hasCUDA() ? 1 : 0; } catch (const std::exception &) { return 0; } catch (...) { return 0; }
}

int32_t ctorch_cuda_device_count(void) {
    try {
        return static_cast<int32_t>(torch::cuda::device_count());
    } catch (const std::exception &) { return 0; } catch (...) { return 0; }
}

ctorch_status ctorch_resolve_device(ctorch_device requested, ctorch_device *resolved, char **error) {
    return guarded(error, [&] {
        *resolved = resolve(requested);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_set_num_threads(int32_t threads, char **error) {
    return guarded(error, [&] {
        if (threads < 1) return fail(error, "thread count must be at least 1, got " + std::to_string(threads));
        at::set_num_threads(threads);
        return CTORCH_OK;
    });
}

int32_t ctorch_get_num_threads(void) {
    try { return at::get_num_threads(); } catch (const std::exception &) { return 1; } catch (...) { return 1; }
}

ctorch_status ctorch_set_deterministic(int32_t enabled, int32_t warn_only, char **error) {
    return guarded(error, [&] {
        // cuBLAS needs a fixed workspace for reproducible results; harmless on CPU.
        if (enabled) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
        at::globalContext().setDeterministicAlgorithms(enabled != 0, warn_only != 0);
        at::globalContext().setDeterministicCuDNN(enabled != 0);
        at::globalContext().setBenchmarkCuDNN(false);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_manual_seed(uint64_t seed, char **error) {
    return guarded(error, [&] {
        at::manual_seed(seed);
        return CTORCH_OK;
    });
}

int64_t ctorch_deepssm_minimum_input_size(void) { return kMinimumInput; }

ctorch_status ctorch_deepssm_flattened_size(int64_t depth, int64_t height, int64_t width,
                                            int64_t *flattened, char **error) {
    return guarded(error, [&] {
        if (depth < kMinimumInput || height < kMinimumInput || width < kMinimumInput) {
            return fail(error, "input " + dims_text(depth, height, width) +
                                   " is too small for the deepssm network: every axis needs at least " +
                                   std::to_string(kMinimumInput) +
                                   " voxels after downsampling; raise down_factor or crop less");
        }
        *flattened = 192 * reduced_extent(depth) * reduced_extent(height) * reduced_extent(width);
        return CTORCH_OK;
    });
}

}  // extern "C"
