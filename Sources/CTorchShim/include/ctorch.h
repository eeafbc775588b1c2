/* Pure-C interface over libtorch for SSMFlow. Filled in by the native layer. */
#ifndef SSMFLOW_CTORCH_H
#define SSMFLOW_CTORCH_H
#ifdef __cplusplus
extern "C" {
#endif

/** libtorch version string, e.g. "1.13.1". Static storage; do not free. */
const char *ctorch_version(void);

#ifdef __cplusplus
}
#endif
#endif
