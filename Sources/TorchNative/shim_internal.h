// Helpers shared by the shim's translation units; not part of the C API.
#ifndef SSMFLOW_CTORCH_SHIM_INTERNAL_H
#define SSMFLOW_CTORCH_SHIM_INTERNAL_H

#include "ctorch.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace ctorch_detail {

inline char *copy_string(const std::string &text) {
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (copy != nullptr) std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
}

inline ctorch_status fail(char **error, const std::string &message) {
    if (error != nullptr) *error = copy_string(message);
    return CTORCH_ERROR;
}

// Runs `body` and turns every C++ exception into a status and a message, so
// that none crosses into C or Swift.
template <class Body>
ctorch_status guarded(char **error, Body &&body) {
    if (error != nullptr) *error = nullptr;
    try {
        return body();
    } catch (const c10::Error &e) {
        return fail(error, std::string("libtorch: ") + e.what_without_backtrace());
    } catch (const std::exception &e) {
        return fail(error, std::string("libtorch: ") + e.what());
    } catch (...) {
        return fail(error, "libtorch: unknown exception");
    }
}

inline std::string dims_text(int64_t d, int64_t h, int64_t w) {
    return "1x" + std::to_string(d) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

// Spec §4: conv k5 (−4), pool k2 s2 (//2), two convs (−8), pool, two convs, pool.
constexpr int64_t kMinimumInput = 60;
inline int64_t reduced_extent(int64_t s) { return (((s - 4) / 2 - 8) / 2 - 8) / 2; }

/// The device `requested` maps to; throws saying why CUDA is unusable.
ctorch_device resolve(ctorch_device requested);

}  // namespace ctorch_detail

#endif
