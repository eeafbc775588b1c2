/*
 * Finds and opens SSMFlow's native shared libraries (libSSMFlowTorch.so,
 * libSSMFlowVTK.so) at run time, so that a process that never trains a network
 * or touches a mesh never loads libtorch or VTK.
 *
 * The trampolines in CTorchShim and CVTKShim call this once per library, under
 * pthread_once, and forward every ctorch_* / cvtk_* call to the symbol it
 * resolves in the opened library.
 */
#ifndef SSMFLOW_NATIVE_LOADER_H
#define SSMFLOW_NATIVE_LOADER_H

#ifdef __cplusplus
extern "C" {
#endif

/** Opens `library` (a file name such as "libSSMFlowTorch.so") from the
 *  directory of the running executable, then from $SSMFLOW_NATIVE_DIR. On
 *  failure returns NULL and a malloc'd message (naming every path tried, the
 *  dlerror() text and how to build the library with product `product`) in
 *  *error, which the caller frees with free(). */
void *ssmflow_native_open(const char *library, const char *product, char **error);

/** The address of `symbol` in `handle`; NULL and a malloc'd message naming the
 *  library and the symbol in *error when it is missing. */
void *ssmflow_native_symbol(void *handle, const char *library, const char *symbol,
                            char **error);

#ifdef __cplusplus
}
#endif
#endif
