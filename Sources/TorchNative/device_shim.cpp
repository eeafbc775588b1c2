// The device check: which libtorch is loaded, and a real conv3d forward and
// backward on a device. ATen only (not torch/torch.h, which torch_shim.cpp alone includes).
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <chrono>
#include <sstream>
#include <string>

using namespace ctorch_detail;

extern "C" {

ctorch_status ctorch_library_info(char **path, char **cpu_capability, char **error) {
    *path = nullptr;
    *cpu_capability = nullptr;
    return guarded(error, [&] {
        // The file that holds ATen's context: libtorch_cpu.so of the loaded libtorch.
        Dl_info info{};
        std::string file = "unknown";
        if (dladdr(reinterpret_cast<void *>(&at::globalContext), &info) != 0 && info.dli_fname != nullptr) {
            file = info.dli_fname;
        }
        // show_config() has a "CPU capability usage: AVX512" line in 1.x and 2.x.
        std::string capability = "unknown";
        std::istringstream config(at::show_config());
        for (std::string line; std::getline(config, line);) {
            const std::string label = "CPU capability usage: ";
            const auto at = line.find(label);
            if (at != std::string::npos) capability = line.substr(at + label.size());
        }
        *path = copy_string(file);
        *cpu_capability = copy_string(capability);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_device_probe(ctorch_device device, int32_t index, double *seconds, char **error) {
    return guarded(error, [&] {
        if (device == CTORCH_DEVICE_AUTO) return fail(error, "the device probe needs CPU or CUDA, not auto");
        at::Device where(at::kCPU);
        if (device == CTORCH_DEVICE_CUDA) {
            resolve(CTORCH_DEVICE_CUDA);
            where = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
        }
        const auto start = std::chrono::steady_clock::now();
        auto options = at::TensorOptions().dtype(at::kFloat).device(where);
        // The network's first layer at a small size: 1 -> 12 channels, kernel 5.
        auto input = at::randn({2, 1, 12, 12, 12}, options);
        auto weight = at::randn({12, 1, 5, 5, 5}, options).set_requires_grad(true);
        auto output = at::conv3d(input, weight);
        output.pow(2).mean().backward();
        // Copying the gradient to the host waits for the GPU and surfaces its errors.
        const double total = weight.grad().abs().sum().to(at::kCPU).item<double>();
        *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!(total > 0) || total != total) {
            return fail(error, "the conv3d check on " + where.str() +
                                   " gave a zero or NaN gradient; this libtorch's kernels do not work on this device");
        }
        return CTORCH_OK;
    });
}

}  // extern "C"
