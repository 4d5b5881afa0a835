// SSIM rows in float64: products once per input pixel, a horizontal pass into a ring of filtered
// rows (stored per block of VW columns, so the rows one vertical sweep reads are contiguous), then
// the vertical pass (two output rows per sweep, so each ring row is loaded once for both) fused
// with the map, the channel average and the region sums. Only four fields are
// filtered (x, y, x² + y², xy): the map needs the variances only as their sum. Taps are
// symmetric, so each pair of rows or columns at distance d shares one multiply.
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

// The vector helpers are always inlined into the avx2 or the generic variant, so the ABI of
// passing 32-byte vectors without AVX (what -Wpsabi warns about) never applies.
#pragma clang diagnostic ignored "-Wpsabi"

typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));
#define VW 4
#define LD(p) ((v4d)(*(const v4du *)(p)))
#define ST(p, v) (*(v4du *)(p) = (v))
#define SPLAT(x) ((v4d){(x), (x), (x), (x)})

/// scipy.ndimage `mode='reflect'`: half-sample symmetric, periodic with period 2n.
static inline int reflect_index(int i, int n) {
    int m = i % (2 * n);
    if (m < 0) m += 2 * n;
    return m < n ? m : 2 * n - 1 - m;
}

typedef struct {
    double *prod;   // 4 padded product rows (x, y, x² + y², xy), planar
    double *ring;   // per block of VW values: k filtered rows, each [x y q xy] x VW
    size_t pstride;
    int blocks, k;
} scratch_t;

/// Products of input row `iy` into the padded rows, then the horizontal pass into ring row `slot`.
/// `c` and `r` are constants in the specialised callers, so every tap is a fixed displacement.
static inline __attribute__((always_inline)) void
horizontal(const tp_ssim_job *job, const scratch_t *s, int iy, int slot, int r, int c) {
    const int w = job->width, rowLen = w * c, off = r * c;
    const float *pa = job->a + (size_t)iy * rowLen, *pb = job->b + (size_t)iy * rowLen;
    double *px = s->prod, *py = px + s->pstride, *pq = py + s->pstride, *pxy = pq + s->pstride;
    for (int i = 0; i < rowLen; i++) {
        double x = pa[i], y = pb[i];
        px[off + i] = x;
        py[off + i] = y;
        pq[off + i] = x * x + y * y;
        pxy[off + i] = x * y;
    }
    for (int p = 0; p < r; p++) {
        int left = reflect_index(p - r, w), right = reflect_index(w + p, w);
        for (int f = 0; f < 4; f++) {
            double *row = s->prod + f * s->pstride;
            for (int ch = 0; ch < c; ch++) {
                row[p * c + ch] = row[off + left * c + ch];
                row[off + (w + p) * c + ch] = row[off + right * c + ch];
            }
        }
    }
    const double *t = job->taps + r;
    const v4d w0 = SPLAT(t[0]);
    const size_t blockStride = (size_t)s->k * 4 * VW;
    double *o = s->ring + (size_t)slot * 4 * VW;
    const double *qx = px + off, *qy = py + off, *qq = pq + off, *qxy = pxy + off;
    for (int b = 0; b < s->blocks; b++, o += blockStride, qx += VW, qy += VW, qq += VW, qxy += VW) {
        v4d sx = w0 * LD(qx), sy = w0 * LD(qy), sq = w0 * LD(qq), sxy = w0 * LD(qxy);
        for (int d = 1; d <= r; d++) {
            const v4d td = SPLAT(t[d]);
            sx += td * (LD(qx - d * c) + LD(qx + d * c));
            sy += td * (LD(qy - d * c) + LD(qy + d * c));
            sq += td * (LD(qq - d * c) + LD(qq + d * c));
            sxy += td * (LD(qxy - d * c) + LD(qxy + d * c));
        }
        ST(o, sx);
        ST(o + VW, sy);
        ST(o + 2 * VW, sq);
        ST(o + 3 * VW, sxy);
    }
}

/// The map from the four filtered fields, in scikit-image's order of operations.
static inline __attribute__((always_inline)) v4d
ssim_map(v4d ux, v4d uy, v4d fq, v4d fxy, v4d cov, v4d c1, v4d c2) {
    const v4d uxx = ux * ux, uyy = uy * uy, uxy = ux * uy;
    const v4d vsum = cov * (fq - uxx - uyy);
    const v4d vxy = cov * (fxy - uxy);
    const v4d a1 = 2 * uxy + c1, a2 = 2 * vxy + c2;
    const v4d b1 = uxx + uyy + c1, b2 = vsum + c2;
    return (a1 * a2) / (b1 * b2);
}

/// Sum of `n` values in four interleaved partial sums (a single chain would wait on every add).
static inline double sum4(const double *v, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    for (; i < n; i++) s0 += v[i];
    return (s0 + s1) + (s2 + s3);
}

/// Crop, mouth and other sums of map row `y` (`sr`, interleaved channels), and the map itself.
/// `px` is scratch for `width` per-pixel channel sums.
static void row_sums(const tp_ssim_job *job, int y, const double *sr, double *px) {
    const int c = job->channels, w = job->width, pad = job->pad;
    if (c == 3) {
        for (int x = 0; x < w; x++) px[x] = sr[3 * x] + sr[3 * x + 1] + sr[3 * x + 2];
    } else if (c == 1) {
        memcpy(px, sr, (size_t)w * sizeof(double));
    } else {
        for (int x = 0; x < w; x++) {
            double v = 0;
            for (int ch = 0; ch < c; ch++) v += sr[x * c + ch];
            px[x] = v;
        }
    }
    double crop = 0, mouthSum = 0, upperSum = 0;
    if (y >= pad && y < job->height - pad) crop = sum4(px + pad, w - 2 * pad);
    if (job->mouth) {
        const uint8_t *mouth = job->mouth + (size_t)y * w;
        double m[4] = {0, 0, 0, 0}, u[4] = {0, 0, 0, 0};
        for (int x = 0; x < w; x++) {
            const double v = px[x];
            const int in = mouth[x] != 0;
            m[x & 3] += in ? v : 0;
            u[x & 3] += in ? 0 : v;
        }
        mouthSum = (m[0] + m[1]) + (m[2] + m[3]);
        upperSum = (u[0] + u[1]) + (u[2] + u[3]);
    }
    if (job->map) {
        float *map = job->map + (size_t)y * w;
        const double inv = 1.0 / c;
        for (int x = 0; x < w; x++) map[x] = (float)(px[x] * inv);
    }
    job->row_sums[3 * y] = crop;
    job->row_sums[3 * y + 1] = mouthSum;
    job->row_sums[3 * y + 2] = upperSum;
}

/// Vertical pass and map for `rows` (1 or 2) output rows whose window starts at ring row `s0`
/// (the ring holds k = 2r + 2 rows; with constant r and s0 every load is a fixed displacement).
static inline __attribute__((always_inline)) void
vertical(const tp_ssim_job *job, const scratch_t *s, int s0, int r, int rows, double *sr0, double *sr1) {
    const int k = s->k;
    const double *t = job->taps + r;
    const v4d cov = SPLAT(job->cov_norm), c1 = SPLAT(job->c1), c2 = SPLAT(job->c2);
    const size_t blockStride = (size_t)k * 4 * VW;
    const double *base = s->ring;
#define ROW(j, f) LD(base + (size_t)((s0 + (j)) % k) * 4 * VW + (f) * VW)
    if (rows == 2) {
        for (int b = 0; b < s->blocks; b++, base += blockStride) {
            v4d o0[4], o1[4];
            for (int f = 0; f < 4; f++) {
                // Ring rows s0 .. s0 + 2r + 1: output 0 centres on r, output 1 on r + 1.
                v4d a0 = SPLAT(t[0]) * ROW(r, f), a1 = SPLAT(t[0]) * ROW(r + 1, f);
                for (int d = 1; d <= r; d++) {
                    const v4d td = SPLAT(t[d]);
                    a0 += td * (ROW(r - d, f) + ROW(r + d, f));
                    a1 += td * (ROW(r + 1 - d, f) + ROW(r + 1 + d, f));
                }
                o0[f] = a0;
                o1[f] = a1;
            }
            ST(sr0 + b * VW, ssim_map(o0[0], o0[1], o0[2], o0[3], cov, c1, c2));
            ST(sr1 + b * VW, ssim_map(o1[0], o1[1], o1[2], o1[3], cov, c1, c2));
        }
    } else {
        for (int b = 0; b < s->blocks; b++, base += blockStride) {
            v4d o0[4];
            for (int f = 0; f < 4; f++) {
                v4d a0 = SPLAT(t[0]) * ROW(r, f);
                for (int d = 1; d <= r; d++) a0 += SPLAT(t[d]) * (ROW(r - d, f) + ROW(r + d, f));
                o0[f] = a0;
            }
            ST(sr0 + b * VW, ssim_map(o0[0], o0[1], o0[2], o0[3], cov, c1, c2));
        }
    }
#undef ROW
}

static inline __attribute__((always_inline)) int
ssim_rows_body(const tp_ssim_job *job, int row_lo, int row_hi, int r, int c) {
    const int w = job->width, hgt = job->height, rowLen = w * c;
    scratch_t s;
    s.blocks = (rowLen + VW - 1) / VW;
    s.k = 2 * r + 2;
    s.pstride = (size_t)(rowLen + 2 * r * c + 2 * VW);
    const size_t ringSize = (size_t)s.blocks * s.k * 4 * VW;
    const size_t total = 4 * s.pstride + ringSize + 2 * (size_t)s.blocks * VW + (size_t)w;
    double *mem = calloc(total, sizeof(double));
    if (!mem) return -1;
    s.prod = mem;
    s.ring = mem + 4 * s.pstride;
    double *sr0 = s.ring + ringSize, *sr1 = sr0 + (size_t)s.blocks * VW, *px = sr1 + (size_t)s.blocks * VW;

    // Extended row e (row_lo - r <= e < row_hi + r, reflected into the image) lives in ring row
    // (e - row_lo + r) % k.
#define SLOT(e) (((e) - row_lo + r) % s.k)
    for (int e = row_lo - r; e < row_lo + r; e++) horizontal(job, &s, reflect_index(e, hgt), SLOT(e), r, c);
    int y = row_lo;
    for (; y + 1 < row_hi; y += 2) {
        horizontal(job, &s, reflect_index(y + r, hgt), SLOT(y + r), r, c);
        horizontal(job, &s, reflect_index(y + r + 1, hgt), SLOT(y + r + 1), r, c);
        const int s0 = SLOT(y - r);
        // s0 is even (k is even and y advances by 2): one specialised loop per value.
        switch (s0) {
        case 0: vertical(job, &s, 0, r, 2, sr0, sr1); break;
        case 2: vertical(job, &s, 2, r, 2, sr0, sr1); break;
        case 4: vertical(job, &s, 4, r, 2, sr0, sr1); break;
        case 6: vertical(job, &s, 6, r, 2, sr0, sr1); break;
        case 8: vertical(job, &s, 8, r, 2, sr0, sr1); break;
        case 10: vertical(job, &s, 10, r, 2, sr0, sr1); break;
        default: vertical(job, &s, s0, r, 2, sr0, sr1); break;
        }
        row_sums(job, y, sr0, px);
        row_sums(job, y + 1, sr1, px);
    }
    if (y < row_hi) {
        horizontal(job, &s, reflect_index(y + r, hgt), SLOT(y + r), r, c);
        vertical(job, &s, SLOT(y - r), r, 1, sr0, sr1);
        row_sums(job, y, sr0, px);
    }
#undef SLOT
    free(mem);
    return 0;
}

static inline __attribute__((always_inline)) int ssim_dispatch(const tp_ssim_job *job, int lo, int hi) {
    // Constant radius and channel count let the compiler unroll the tap loops and fix every
    // displacement (radius 5: Gaussian σ = 1.5; 3: 7x7 box; 3 or 1 channels).
    const int r = job->radius, c = job->channels;
    if (r == 5 && c == 3) return ssim_rows_body(job, lo, hi, 5, 3);
    if (r == 5 && c == 1) return ssim_rows_body(job, lo, hi, 5, 1);
    if (r == 3 && c == 3) return ssim_rows_body(job, lo, hi, 3, 3);
    if (r == 3 && c == 1) return ssim_rows_body(job, lo, hi, 3, 1);
    return ssim_rows_body(job, lo, hi, r, c);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma")))
static int ssim_rows_avx2(const tp_ssim_job *job, int lo, int hi) { return ssim_dispatch(job, lo, hi); }
#endif

static int ssim_rows_generic(const tp_ssim_job *job, int lo, int hi) { return ssim_dispatch(job, lo, hi); }

int tp_ssim_rows(const tp_ssim_job *job, int row_lo, int row_hi) {
    if (job->radius < 0 || row_lo < 0 || row_hi > job->height || row_lo >= row_hi) return row_lo == row_hi ? 0 : -1;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return ssim_rows_avx2(job, row_lo, row_hi);
#endif
    return ssim_rows_generic(job, row_lo, row_hi);
}
