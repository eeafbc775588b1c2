#ifndef SSMFLOW_WARP_KERNELS_H
#define SSMFLOW_WARP_KERNELS_H

/// Thin-plate-spline kernel sums along one row of coarse nodes (fixed y, z):
/// for each node x (lane), s = Σ_m w_m · sqrt((x − cx_m)² + e_m²), where e_m is
/// landmark m's distance to the row in the (y, z) plane. Terms in single
/// precision, 8 nodes at a time, each lane summing landmarks in order and
/// adding its float sum to a double one every 128 landmarks. The AVX and the
/// portable versions perform the same IEEE operations per lane (no fused
/// multiply-add), so they give identical bits; the AVX one runs where the CPU
/// has it.
///
/// `xs`: `groups · 8` node x coordinates (pad the last group);
/// `cx, e, wx, wy, wz`: `n` values each; `sx, sy, sz`: `groups · 8` outputs.
void ssm_tps_node_row(const float *xs, int groups, const float *cx, const float *e,
                      const float *wx, const float *wy, const float *wz, int n,
                      double *sx, double *sy, double *sz);

/// The portable version alone (what `ssm_tps_node_row` does without AVX).
void ssm_tps_node_row_portable(const float *xs, int groups, const float *cx, const float *e,
                               const float *wx, const float *wy, const float *wz, int n,
                               double *sx, double *sy, double *sz);

/// 1 when `ssm_tps_node_row` uses AVX on this CPU, else 0.
int ssm_tps_node_row_uses_avx(void);

/// `y[j] -= f · x[j]` for `j < n` (a multiply then a subtraction per element,
/// AVX where the CPU has it; same bits either way): the elimination step of
/// the thin-plate-spline solve.
void ssm_sub_scaled(double *y, const double *x, double f, int n);

#include <stddef.h>
#include <stdint.h>

/// Four near-landmark kernel terms, laid out as Swift's `KernelBlock`
/// (six SIMD4<Float>: x, y, z, wx, wy, wz).
typedef struct { float x[4], y[4], z[4], wx[4], wy[4], wz[4]; } ssm_kernel_block;

/// One row of the coarse warp (voxels x = 0 ..< nx at fixed y, z): the
/// displacement interpolated along x from `row` (the nodes of the row's cell
/// row, already interpolated in y and z: 3 values per node), plus the cell's
/// near-landmark correction, then the input's trilinear value there (0 outside:
/// −0.5 ≤ q < n − 0.5). Computes exactly what `ImageWarp.apply` describes, in
/// the same order of operations.
///
/// `cell_of_x`, `fraction_of_x`: per voxel x its cell i and fraction;
/// `start`: the cell row's block starts (`cells.x + 1` values) into `blocks`;
/// `corners`: the cell row's 24 corner sums per cell; `p_y`, `p_z`: the row's
/// physical y and z; `f_y`, `f_z`: its fractions in the cell.
void ssm_warp_row(const float *input, ptrdiff_t nx, ptrdiff_t ny, ptrdiff_t nz, ptrdiff_t y, ptrdiff_t z,
                  const double *row, const ptrdiff_t *cell_of_x, const double *fraction_of_x,
                  const int32_t *start, const ssm_kernel_block *blocks, const double *corners,
                  double origin_x, double p_y, double p_z, double f_y, double f_z,
                  double spacing_x, double spacing_y, double spacing_z, float *out);

#endif
