// dlopen-based loading of the native shims; see native_loader.h.
#define _GNU_SOURCE
#include "native_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A malloc'd printf; NULL only when memory is exhausted.
static char *format(const char *pattern, ...) {
    va_list args;
    va_start(args, pattern);
    char *text = NULL;
    if (vasprintf(&text, pattern, args) < 0) text = NULL;
    va_end(args);
    return text;
}

// Appends "PATH: REASON" to the list in *tried (replacing it).
static void note_attempt(char **tried, const char *path, const char *reason) {
    if (reason == NULL) reason = "unknown dlopen error";
    // dlerror() usually starts with the path already.
    size_t length = strlen(path);
    if (strncmp(reason, path, length) == 0 && strncmp(reason + length, ": ", 2) == 0)
        reason += length + 2;
    char *next = format("%s%s%s: %s", *tried ? *tried : "", *tried ? "; " : "", path, reason);
    free(*tried);
    *tried = next;
}

// Opens DIRECTORY/LIBRARY, recording the failure in *tried.
static void *open_in(const char *directory, const char *library, char **tried) {
    char *path = format("%s/%s", directory, library);
    if (path == NULL) return NULL;
    // RTLD_LOCAL: the library's symbols stay out of the global scope, so the
    // trampolines of the same names are never shadowed and never shadow it.
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) note_attempt(tried, path, dlerror());
    free(path);
    return handle;
}

void *ssmflow_native_open(const char *library, const char *product, char **error) {
    char *tried = NULL;
    void *handle = NULL;

    // $SSMFLOW_NATIVE_DIR first: it chooses another build of a library (the shim
    // built against a PyTorch wheel). A library that is there but does not load
    // is an error, never a silent fall-back to the executable's copy.
    const char *override_dir = getenv("SSMFLOW_NATIVE_DIR");
    int override_has_file = 0;
    if (override_dir != NULL && override_dir[0] != '\0') {
        char *path = format("%s/%s", override_dir, library);
        override_has_file = path != NULL && access(path, F_OK) == 0;
        free(path);
        if (override_has_file) handle = open_in(override_dir, library, &tried);
        else note_attempt(&tried, override_dir, "no such library there");
    }

    // The executable's directory: SwiftPM puts products (executables, the
    // .xctest bundle and dynamic libraries) side by side in .build/<config>.
    char exe[PATH_MAX];
    ssize_t length = handle == NULL && !override_has_file
        ? readlink("/proc/self/exe", exe, sizeof exe - 1) : 0;
    if (length > 0) {
        exe[length] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            handle = open_in(exe[0] ? exe : "/", library, &tried);
        }
    } else if (length < 0) {
        note_attempt(&tried, "/proc/self/exe", "cannot read the executable's path");
    }

    if (handle == NULL && error != NULL) {
        *error = format(
            "cannot load the native library %s (%s); build it with "
            "`swift build --product %s` (add `-c release` for a release build, as "
            "`make build` does) so that it lies next to the executable, or set "
            "SSMFLOW_NATIVE_DIR to the directory that holds it",
            library, tried ? tried : "no directory to look in", product);
    }
    free(tried);
    return handle;
}

void *ssmflow_native_symbol(void *handle, const char *library, const char *symbol,
                            char **error) {
    dlerror();
    void *address = dlsym(handle, symbol);
    if (address == NULL && error != NULL) {
        const char *reason = dlerror();
        *error = format("the native library %s lacks %s (%s); it is older than its "
                        "header: rebuild it",
                        library, symbol, reason ? reason : "no such symbol");
    }
    return address;
}
