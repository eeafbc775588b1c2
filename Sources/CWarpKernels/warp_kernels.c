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
