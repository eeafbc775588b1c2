#ifndef SSMFLOW_CZLIB_SHIM_H
#define SSMFLOW_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 / inflateInit2 are macros that pass the library's version and
   stream size; Swift cannot import them. */
static inline int ssm_deflate_init_gzip(z_streamp stream, int level) {
    /* 15 + 16: a gzip wrapper (no file name, time stamp 0) around a 32 KiB window. */
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int ssm_inflate_init_auto(z_streamp stream) {
    /* 15 + 32: accept gzip or zlib headers. */
    return inflateInit2(stream, 15 + 32);
}
#endif
