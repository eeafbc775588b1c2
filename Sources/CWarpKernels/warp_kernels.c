#include "warp_kernels.h"
#include <math.h>

enum { CHUNK = 128 };

void ssm_tps_node_row_portable(const float *xs, int groups, const float *cx, const float *e,
                              const float *wx, const float *wy, const float *wz, int n,
                              double *sx, double *sy, double *sz) {
    for (int g = 0; g < groups; g++) {
        const float *x = xs + 8 * g;
        double dx[8] = {0}, dy[8] = {0}, dz[8] = {0};
        for (int l = 0; l < n; l += CHUNK) {
            int end = l + CHUNK < n ? l + CHUNK : n;
            float ax[8] = {0}, ay[8] = {0}, az[8] = {0};
            for (int m = l; m < end; m++) {
                float q = e[m] * e[m];
                for (int k = 0; k < 8; k++) {
                    float t = x[k] - cx[m];
                    float r = sqrtf(t * t + q);
                    ax[k] = ax[k] + wx[m] * r;
                    ay[k] = ay[k] + wy[m] * r;
                    az[k] = az[k] + wz[m] * r;
                }
            }
            for (int k = 0; k < 8; k++) { dx[k] += (double)ax[k]; dy[k] += (double)ay[k]; dz[k] += (double)az[k]; }
        }
        for (int k = 0; k < 8; k++) { sx[8 * g + k] = dx[k]; sy[8 * g + k] = dy[k]; sz[8 * g + k] = dz[k]; }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx")))
static void node_row_avx(const float *xs, int groups, const float *cx, const float *e,
                         const float *wx, const float *wy, const float *wz, int n,
                         double *sx, double *sy, double *sz) {
    for (int g = 0; g < groups; g++) {
        __m256 x = _mm256_loadu_ps(xs + 8 * g);
        __m256d dxl = _mm256_setzero_pd(), dxh = dxl, dyl = dxl, dyh = dxl, dzl = dxl, dzh = dxl;
        for (int l = 0; l < n; l += CHUNK) {
            int end = l + CHUNK < n ? l + CHUNK : n;
            __m256 ax = _mm256_setzero_ps(), ay = ax, az = ax;
            for (int m = l; m < end; m++) {
                __m256 c = _mm256_broadcast_ss(cx + m), em = _mm256_broadcast_ss(e + m);
                __m256 t = _mm256_sub_ps(x, c);
                __m256 r = _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(t, t), _mm256_mul_ps(em, em)));
                ax = _mm256_add_ps(ax, _mm256_mul_ps(_mm256_broadcast_ss(wx + m), r));
                ay = _mm256_add_ps(ay, _mm256_mul_ps(_mm256_broadcast_ss(wy + m), r));
                az = _mm256_add_ps(az, _mm256_mul_ps(_mm256_broadcast_ss(wz + m), r));
            }
            dxl = _mm256_add_pd(dxl, _mm256_cvtps_pd(_mm256_castps256_ps128(ax)));
            dxh = _mm256_add_pd(dxh, _mm256_cvtps_pd(_mm256_extractf128_ps(ax, 1)));
            dyl = _mm256_add_pd(dyl, _mm256_cvtps_pd(_mm256_castps256_ps128(ay)));
            dyh = _mm256_add_pd(dyh, _mm256_cvtps_pd(_mm256_extractf128_ps(ay, 1)));
            dzl = _mm256_add_pd(dzl, _mm256_cvtps_pd(_mm256_castps256_ps128(az)));
            dzh = _mm256_add_pd(dzh, _mm256_cvtps_pd(_mm256_extractf128_ps(az, 1)));
        }
        _mm256_storeu_pd(sx + 8 * g, dxl); _mm256_storeu_pd(sx + 8 * g + 4, dxh);
        _mm256_storeu_pd(sy + 8 * g, dyl); _mm256_storeu_pd(sy + 8 * g + 4, dyh);
        _mm256_storeu_pd(sz + 8 * g, dzl); _mm256_storeu_pd(sz + 8 * g + 4, dzh);
    }
}

int ssm_tps_node_row_uses_avx(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx") ? 1 : 0;
    }
    return cached;
}
#else
int ssm_tps_node_row_uses_avx(void) { return 0; }
#endif

void ssm_tps_node_row(const float *xs, int groups, const float *cx, const float *e,
                      const float *wx, const float *wy, const float *wz, int n,
                      double *sx, double *sy, double *sz) {
#if defined(__x86_64__) || defined(__i386__)
    if (ssm_tps_node_row_uses_avx()) {
        node_row_avx(xs, groups, cx, e, wx, wy, wz, n, sx, sy, sz);
        return;
    }
#endif
    ssm_tps_node_row_portable(xs, groups, cx, e, wx, wy, wz, n, sx, sy, sz);
}

static void sub_scaled_portable(double *y, const double *x, double f, int n) {
    for (int j = 0; j < n; j++) y[j] = y[j] - f * x[j];
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx")))
static void sub_scaled_avx(double *y, const double *x, double f, int n) {
    __m256d vf = _mm256_set1_pd(f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        _mm256_storeu_pd(y + j, _mm256_sub_pd(_mm256_loadu_pd(y + j), _mm256_mul_pd(vf, _mm256_loadu_pd(x + j))));
    }
    for (; j < n; j++) y[j] = y[j] - f * x[j];
}
#endif

void ssm_sub_scaled(double *y, const double *x, double f, int n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ssm_tps_node_row_uses_avx()) { sub_scaled_avx(y, x, f, n); return; }
#endif
    sub_scaled_portable(y, x, f, n);
}

/* Σ w |p − c| over the blocks: as KernelBlock.sum (even blocks into s, odd
   into t, each lane in order; then lanes summed in order, in double). */
static inline void kernel_sum(double px_d, double py_d, double pz_d, const ssm_kernel_block *b, int count,
                              double *ox, double *oy, double *oz) {
    float px = (float)px_d, py = (float)py_d, pz = (float)pz_d;
    float sx[4] = {0}, sy[4] = {0}, sz[4] = {0}, tx[4] = {0}, ty[4] = {0}, tz[4] = {0};
    int i = 0;
    for (; i + 1 < count; i += 2) {
        const ssm_kernel_block *u = b + i, *v = b + i + 1;
        for (int k = 0; k < 4; k++) {
            float ux = px - u->x[k], uy = py - u->y[k], uz = pz - u->z[k];
            float vx = px - v->x[k], vy = py - v->y[k], vz = pz - v->z[k];
            float ru = sqrtf(ux * ux + uy * uy + uz * uz), rv = sqrtf(vx * vx + vy * vy + vz * vz);
            sx[k] = sx[k] + u->wx[k] * ru; sy[k] = sy[k] + u->wy[k] * ru; sz[k] = sz[k] + u->wz[k] * ru;
            tx[k] = tx[k] + v->wx[k] * rv; ty[k] = ty[k] + v->wy[k] * rv; tz[k] = tz[k] + v->wz[k] * rv;
        }
    }
    if (i < count) {
        const ssm_kernel_block *u = b + i;
        for (int k = 0; k < 4; k++) {
            float ux = px - u->x[k], uy = py - u->y[k], uz = pz - u->z[k];
            float ru = sqrtf(ux * ux + uy * uy + uz * uz);
            sx[k] = sx[k] + u->wx[k] * ru; sy[k] = sy[k] + u->wy[k] * ru; sz[k] = sz[k] + u->wz[k] * ru;
        }
    }
    *ox = (double)(((sx[0] + sx[1]) + sx[2]) + sx[3]) + (double)(((tx[0] + tx[1]) + tx[2]) + tx[3]);
    *oy = (double)(((sy[0] + sy[1]) + sy[2]) + sy[3]) + (double)(((ty[0] + ty[1]) + ty[2]) + ty[3]);
    *oz = (double)(((sz[0] + sz[1]) + sz[2]) + sz[3]) + (double)(((tz[0] + tz[1]) + tz[2]) + tz[3]);
}

static inline double floor_down(double q) {
    double t = (double)(int64_t)q;
    return t > q ? t - 1 : t;
}

static inline float trilinear(const float *v, int64_t nx, int64_t ny, int64_t nz, double qx, double qy, double qz) {
    if (!(qx >= -0.5 && qy >= -0.5 && qz >= -0.5 && qx < (double)nx - 0.5 && qy < (double)ny - 0.5 && qz < (double)nz - 0.5))
        return 0;
    double fx0 = floor_down(qx), fy0 = floor_down(qy), fz0 = floor_down(qz);
    double tx = qx - fx0, ty = qy - fy0, tz = qz - fz0;
    int64_t ix = (int64_t)fx0, iy = (int64_t)fy0, iz = (int64_t)fz0;
    int64_t x0 = ix > 0 ? ix : 0, y0 = iy > 0 ? iy : 0, z0 = iz > 0 ? iz : 0;
    int64_t x1 = ix + 1 < nx - 1 ? ix + 1 : nx - 1, y1 = iy + 1 < ny - 1 ? iy + 1 : ny - 1, z1 = iz + 1 < nz - 1 ? iz + 1 : nz - 1;
    int64_t r00 = nx * (y0 + ny * z0), r10 = nx * (y1 + ny * z0), r01 = nx * (y0 + ny * z1), r11 = nx * (y1 + ny * z1);
    double c00 = (double)v[r00 + x0] * (1 - tx) + (double)v[r00 + x1] * tx;
    double c10 = (double)v[r10 + x0] * (1 - tx) + (double)v[r10 + x1] * tx;
    double c01 = (double)v[r01 + x0] * (1 - tx) + (double)v[r01 + x1] * tx;
    double c11 = (double)v[r11 + x0] * (1 - tx) + (double)v[r11 + x1] * tx;
    double c0 = c00 * (1 - ty) + c10 * ty, c1 = c01 * (1 - ty) + c11 * ty;
    return (float)(c0 * (1 - tz) + c1 * tz);
}

void ssm_warp_row(const float *input, ptrdiff_t nx, ptrdiff_t ny, ptrdiff_t nz, ptrdiff_t y, ptrdiff_t z,
                  const double *row, const ptrdiff_t *cell_of_x, const double *fraction_of_x,
                  const int32_t *start, const ssm_kernel_block *blocks, const double *corners,
                  double origin_x, double p_y, double p_z, double f_y, double f_z,
                  double spacing_x, double spacing_y, double spacing_z, float *out) {
    for (int64_t x = 0; x < nx; x++) {
        int64_t i = cell_of_x[x], r = 3 * i;
        double fx = fraction_of_x[x];
        double qx = (double)x + (1 - fx) * row[r] + fx * row[r + 3];
        double qy = (double)y + (1 - fx) * row[r + 1] + fx * row[r + 4];
        double qz = (double)z + (1 - fx) * row[r + 2] + fx * row[r + 5];
        int32_t from = start[i], to = start[i + 1];
        if (from < to) {
            double sx, sy, sz;
            kernel_sum(origin_x + (double)x * spacing_x, p_y, p_z, blocks + from, to - from, &sx, &sy, &sz);
            const double *c = corners + 24 * i;
            for (int k = 0; k < 8; k++) {
                double w = ((k & 1) ? fx : 1 - fx) * (((k >> 1) & 1) ? f_y : 1 - f_y) * ((k >> 2) ? f_z : 1 - f_z);
                sx = sx - w * c[3 * k]; sy = sy - w * c[3 * k + 1]; sz = sz - w * c[3 * k + 2];
            }
            qx = qx + sx / spacing_x; qy = qy + sy / spacing_y; qz = qz + sz / spacing_z;
        }
        out[x] = trilinear(input, nx, ny, nz, qx, qy, qz);
    }
}
