// Debian builds ITK 5.2 with GCC, so its generated itk_compiler_detection.h
// knows only GCC and stops with "Unsupported compiler" under clang, which
// SwiftPM uses. The header only turns compiler versions into C++ feature
// macros; clang has every feature GCC 12 has for C++17, so it is read once
// here as GCC 12 would read it, then the compiler's own macros are restored.
#ifndef SSMFLOW_ITK_CLANG_COMPAT_H
#define SSMFLOW_ITK_CLANG_COMPAT_H

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wbuiltin-macro-redefined"
#pragma push_macro("__clang__")
#pragma push_macro("__GNUC__")
#pragma push_macro("__GNUC_MINOR__")
#pragma push_macro("__GNUC_PATCHLEVEL__")
#undef __clang__
#undef __GNUC__
#undef __GNUC_MINOR__
#undef __GNUC_PATCHLEVEL__
#define __GNUC__ 12
#define __GNUC_MINOR__ 2
#define __GNUC_PATCHLEVEL__ 0
#include <itk_compiler_detection.h>
#pragma pop_macro("__GNUC_PATCHLEVEL__")
#pragma pop_macro("__GNUC_MINOR__")
#pragma pop_macro("__GNUC__")
#pragma pop_macro("__clang__")
#pragma clang diagnostic pop
#endif

#endif
