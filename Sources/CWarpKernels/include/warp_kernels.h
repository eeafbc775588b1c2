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

#endif
