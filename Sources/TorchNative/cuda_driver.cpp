// The CUDA driver API through dlopen("libcuda.so.1"): GPU names, memory and
// compute capabilities for the device check, whatever libtorch (CPU or CUDA)
// the library was built against. No torch headers: it compiles in a moment.
#include "shim_internal.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

using namespace ctorch_detail;

namespace {

// The few driver entry points the check needs (CUresult is an int, CUdevice an int).
struct Driver {
    using Init = int (*)(unsigned int);
    using GetVersion = int (*)(int *);
    using GetCount = int (*)(int *);
    using Get = int (*)(int *, int);
    using GetName = int (*)(char *, int, int);
    using TotalMem = int (*)(size_t *, int);
    using GetAttribute = int (*)(int *, int, int);
    using ErrorString = int (*)(int, const char **);
    using RetainContext = int (*)(void **, int);
    using ReleaseContext = int (*)(int);
    using PushContext = int (*)(void *);
    using PopContext = int (*)(void **);
    using MemoryInfo = int (*)(size_t *, size_t *);

    Init init = nullptr;
    GetVersion version = nullptr;
    GetCount count = nullptr;
    Get get = nullptr;
    GetName name = nullptr;
    TotalMem total_memory = nullptr;
    GetAttribute attribute = nullptr;
    ErrorString error_string = nullptr;
    // Free memory (optional: only ctorch_cuda_memory needs them).
    RetainContext retain_context = nullptr;
    ReleaseContext release_context = nullptr;
    PushContext push_context = nullptr;
    PopContext pop_context = nullptr;
    MemoryInfo memory_info = nullptr;
    std::string problem;  // why the driver is unusable; empty when it is

    std::string describe(int result) const {
        const char *text = nullptr;
        if (error_string != nullptr && error_string(result, &text) == 0 && text != nullptr) {
            return std::string(text) + " (CUresult " + std::to_string(result) + ")";
        }
        return "CUresult " + std::to_string(result);
    }
};

constexpr int kComputeCapabilityMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kComputeCapabilityMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

const Driver &driver() {
    static Driver loaded;
    static std::once_flag once;
    std::call_once(once, [] {
        void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            const char *reason = dlerror();
            loaded.problem = std::string("no CUDA driver: libcuda.so.1 does not load (") +
                             (reason ? reason : "unknown reason") +
                             "); install the NVIDIA driver on a machine with an NVIDIA GPU";
            return;
        }
        auto symbol = [&](const char *name) { return dlsym(handle, name); };
        loaded.init = reinterpret_cast<Driver::Init>(symbol("cuInit"));
        loaded.version = reinterpret_cast<Driver::GetVersion>(symbol("cuDriverGetVersion"));
        loaded.count = reinterpret_cast<Driver::GetCount>(symbol("cuDeviceGetCount"));
        loaded.get = reinterpret_cast<Driver::Get>(symbol("cuDeviceGet"));
        loaded.name = reinterpret_cast<Driver::GetName>(symbol("cuDeviceGetName"));
        loaded.total_memory = reinterpret_cast<Driver::TotalMem>(symbol("cuDeviceTotalMem_v2"));
        loaded.attribute = reinterpret_cast<Driver::GetAttribute>(symbol("cuDeviceGetAttribute"));
        loaded.error_string = reinterpret_cast<Driver::ErrorString>(symbol("cuGetErrorString"));
        loaded.retain_context = reinterpret_cast<Driver::RetainContext>(symbol("cuDevicePrimaryCtxRetain"));
        loaded.release_context = reinterpret_cast<Driver::ReleaseContext>(symbol("cuDevicePrimaryCtxRelease_v2"));
        loaded.push_context = reinterpret_cast<Driver::PushContext>(symbol("cuCtxPushCurrent_v2"));
        loaded.pop_context = reinterpret_cast<Driver::PopContext>(symbol("cuCtxPopCurrent_v2"));
        loaded.memory_info = reinterpret_cast<Driver::MemoryInfo>(symbol("cuMemGetInfo_v2"));
        if (!loaded.init || !loaded.version || !loaded.count || !loaded.get || !loaded.name ||
            !loaded.total_memory || !loaded.attribute) {
            loaded.problem = "the CUDA driver's libcuda.so.1 lacks the device query functions; update the NVIDIA driver";
            return;
        }
        const int result = loaded.init(0);
        if (result != 0) {
            loaded.problem = "the CUDA driver does not start: cuInit failed with " + loaded.describe(result) +
                             "; check the NVIDIA driver (nvidia-smi) and CUDA_VISIBLE_DEVICES";
        }
    });
    return loaded;
}

}  // namespace

extern "C" {

ctorch_status ctorch_cuda_driver(int32_t *version, int32_t *device_count, char **error) {
    return guarded(error, [&] {
        const Driver &d = driver();
        if (!d.problem.empty()) return fail(error, d.problem);
        int v = 0, n = 0;
        int result = d.version(&v);
        if (result == 0) result = d.count(&n);
        if (result != 0) return fail(error, "the CUDA driver cannot count its GPUs: " + d.describe(result));
        *version = v;
        *device_count = n;
        return CTORCH_OK;
    });
}

ctorch_status ctorch_cuda_device_info(int32_t index, char **name, int64_t *total_memory,
                                      int32_t *major, int32_t *minor, char **error) {
    *name = nullptr;
    return guarded(error, [&] {
        const Driver &d = driver();
        if (!d.problem.empty()) return fail(error, d.problem);
        int device = 0;
        char text[256] = {0};
        size_t bytes = 0;
        int cc_major = 0, cc_minor = 0;
        int result = d.get(&device, index);
        if (result == 0) result = d.name(text, sizeof text - 1, device);
        if (result == 0) result = d.total_memory(&bytes, device);
        if (result == 0) result = d.attribute(&cc_major, kComputeCapabilityMajor, device);
        if (result == 0) result = d.attribute(&cc_minor, kComputeCapabilityMinor, device);
        if (result != 0) {
            return fail(error, "the CUDA driver cannot describe GPU " + std::to_string(index) + ": " + d.describe(result));
        }
        *name = copy_string(text);
        *total_memory = static_cast<int64_t>(bytes);
        *major = cc_major;
        *minor = cc_minor;
        return CTORCH_OK;
    });
}

ctorch_status ctorch_cuda_memory(int32_t index, int64_t *free_bytes, int64_t *total_bytes, char **error) {
    return guarded(error, [&] {
        const Driver &d = driver();
        if (!d.problem.empty()) return fail(error, d.problem);
        if (!d.retain_context || !d.release_context || !d.push_context || !d.pop_context || !d.memory_info) {
            return fail(error, "the CUDA driver's libcuda.so.1 lacks the memory query functions; update the NVIDIA driver");
        }
        // The primary context is the one libtorch's CUDA runtime uses: its
        // allocations count, and retaining it creates nothing new.
        int device = 0;
        void *context = nullptr;
        int result = d.get(&device, index);
        if (result == 0) result = d.retain_context(&context, device);
        if (result != 0) {
            return fail(error, "the CUDA driver cannot open GPU " + std::to_string(index) + ": " + d.describe(result));
        }
        size_t free_memory = 0, total_memory = 0;
        result = d.push_context(context);
        if (result == 0) {
            result = d.memory_info(&free_memory, &total_memory);
            void *popped = nullptr;
            d.pop_context(&popped);
        }
        d.release_context(device);
        if (result != 0) {
            return fail(error, "the CUDA driver cannot report the memory of GPU " + std::to_string(index) + ": " +
                                   d.describe(result));
        }
        *free_bytes = static_cast<int64_t>(free_memory);
        *total_bytes = static_cast<int64_t>(total_memory);
        return CTORCH_OK;
    });
}

}  // extern "C"
