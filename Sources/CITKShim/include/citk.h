/*
 * Pure-C interface over ITK for SSMFlow: intensity-based registration of a
 * new image to a reference.
 *
 * Conventions (as ctorch.h and cvtk.h):
 * - Every fallible call returns a citk_status and, on failure, stores a
 *   malloc'd, NUL-terminated message in *error (when error is not NULL). The
 *   caller owns it and frees it with citk_free_string.
 * - No C++ exception crosses this boundary.
 * - Volumes cross the boundary as caller-owned float buffers, x fastest, on
 *   axis-aligned grids: dims[3] voxels, geometry[6] = spacing (mm) then origin
 *   (mm) of the first voxel's centre, LPS.
 */
#ifndef SSMFLOW_CITK_H
#define SSMFLOW_CITK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum citk_status {
    CITK_OK = 0,
    CITK_ERROR = 1,
} citk_status;

/** ITK version string, e.g. "5.2.1". Static storage; do not free. */
const char *citk_version(void);

/** Frees a string returned by this library (NULL is allowed). */
void citk_free_string(char *string);

/**
 * Registers `moving` to `fixed`: a rigid transform (rotation and translation)
 * or, with `allow_scale` non-zero, a similarity (plus one isotropic scale),
 * maximising the normalised correlation of intensities over every voxel of
 * the fixed image (invariant to a linear intensity change) with regular-step gradient descent over a
 * multi-resolution pyramid of `levels` levels (shrink 2^(levels-1) ... 1,
 * Gaussian smoothing levels-1 ... 0 voxels), at most `iterations` steps per
 * level, on up to `threads` threads. The start aligns the two images' centres
 * of mass (intensity moments), so neither image's origin matters.
 *
 * Output: `transform[12]` = row-major 3x3 matrix A then translation t, mapping
 * a physical point of the fixed image to the moving image: p_m = A p_f + t;
 * `metric` = the final metric value (minus the normalised correlation:
 * -1 is a perfect match, 0 none); `fixed_overlap` = the fraction of fixed-image sample points
 * that map inside the moving image under the final transform.
 */
citk_status citk_register_similarity(const float *fixed, const int64_t *fixed_dims, const double *fixed_geometry,
                                     const float *moving, const int64_t *moving_dims,
                                     const double *moving_geometry, int32_t allow_scale, int32_t levels,
                                     int32_t iterations, int32_t threads, double *transform, double *metric,
                                     double *fixed_overlap, char **error);

#ifdef __cplusplus
}
#endif

#endif
