/* Pure-C interface over VTK 9 for SSMFlow. Filled in by the native layer. */
#ifndef SSMFLOW_CVTK_H
#define SSMFLOW_CVTK_H
#ifdef __cplusplus
extern "C" {
#endif

/** VTK version string. Static storage; do not free. */
const char *cvtk_version(void);

#ifdef __cplusplus
}
#endif
#endif
