// SSIM rows in float64, four output rows at a time. Products (x, y, x² + y², xy) are formed once
// per input pixel into a ring of rows stored per block of four columns; the vertical pass reads
// the 2r + 4 ring rows of a block (fixed displacements), filters the four output rows and
// transposes them so that each vector holds one column of the four rows; the horizontal pass then
// runs on aligned vectors, four pixels per channel at a time, and the map, the channel average
// and the region sums follow in the same layout (one lane per row). Only four fields are
// filtered: the map needs the variances only as their sum. Taps are symmetric, so each pair of
// rows or columns at distance d shares one multiply.
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

// The vector helpers are always inlined into the avx2 or the generic variant, so the ABI of
// passing 32-byte vectors without AVX (what -Wpsabi warns about) never applies.
#pragma clang diagnostic ignored "-Wpsabi"

typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));
typedef float v4f __attribute__((vector_size(16)));
typedef float v4fu __attribute__((vector_size(16), aligned(4)));
#define LD(p) ((v4d)(*(const v4du *)(p)))
#define ST(p, v) (*(v4du *)(p) = (v))
#define SPLAT(x) ((v4d){(x), (x), (x), (x)})

/// scipy.ndimage `mode='reflect'`: half-sample symmetric, periodic with period 2n.
static inline int reflect_index(int i, int n) {
    int m = i % (2 * n);
    if (m < 0) m += 2 * n;
    return m < n ? m : 2 * n - 1 - m;
}

/// Ring rows: a power of two of at least 2r + 4 (the rows one group of four output rows reads).
static inline int ring_rows(int r) {
    int k = 16;
    while (k < 2 * r + 4) k *= 2;
    return k;
}

/// Doubles between the ring rows of consecutive blocks: k rows of 16, plus one cache line so
/// that the blocks of one ring row (written together) do not all fall into the same L1 sets.
static inline size_t block_stride(int k) { return (size_t)k * 16 + 8; }

/// Products of input row `iy` into ring row `slot`: block b holds [x y q xy] x 4 columns.
/// Returns x * 0 + y * 0 summed over the row: NaN when the row holds a NaN or an infinity.
static inline __attribute__((always_inline)) double
products(const tp_ssim_job *job, double *ring, int k, int blocks, int iy, int slot, int c) {
    const int rowLen = job->width * c;
    const float *pa = job->a + (size_t)iy * rowLen, *pb = job->b + (size_t)iy * rowLen;
    double *o = ring + (size_t)slot * 16;
    const size_t stride = block_stride(k);
    int b = 0;
    v4d finite = SPLAT(0);
    for (; b < rowLen / 4; b++, o += stride) {
        const v4d x = __builtin_convertvector(*(const v4fu *)(pa + 4 * b), v4d);
        const v4d y = __builtin_convertvector(*(const v4fu *)(pb + 4 * b), v4d);
        finite += x * 0 + y * 0;
        ST(o, x);
        ST(o + 4, y);
        ST(o + 8, x * x + y * y);
        ST(o + 12, x * y);
    }
    if (b < blocks) {  // tail block, zero beyond the row
        double x[4] = {0, 0, 0, 0}, y[4] = {0, 0, 0, 0};
        for (int i = 4 * b; i < rowLen; i++) {
            x[i - 4 * b] = pa[i];
            y[i - 4 * b] = pb[i];
        }
        for (int i = 0; i < 4; i++) {
            o[i] = x[i];
            o[4 + i] = y[i];
            o[8 + i] = x[i] * x[i] + y[i] * y[i];
            o[12 + i] = x[i] * y[i];
            finite[i] += x[i] * 0 + y[i] * 0;
        }
    }
    return (finite[0] + finite[1]) + (finite[2] + finite[3]);
}

/// Vertical pass for output rows y0 .. y0 + 3, whose window starts at ring row `s0`: writes field
/// f of column i (one lane per row) to `tf[f * tstride + off + i]`.
static inline __attribute__((always_inline)) void
vertical(const tp_ssim_job *job, const double *ring, int k, int blocks, int s0, int r,
         v4d *tf, size_t tstride, int off) {
    const double *t = job->taps + r;
    const double *base = ring;
    const size_t stride = block_stride(k);
#define ROW(j, f) LD(base + (size_t)((s0 + (j)) & (k - 1)) * 16 + (f) * 4)
    for (int b = 0; b < blocks; b++, base += stride) {
        for (int f = 0; f < 4; f++) {
            v4d o[4];
            for (int q = 0; q < 4; q++) {
                v4d a = SPLAT(t[0]) * ROW(r + q, f);
                for (int d = 1; d <= r; d++) a += SPLAT(t[d]) * (ROW(r + q - d, f) + ROW(r + q + d, f));
                o[q] = a;
            }
            // o[q] is row q at columns 4b..4b+3; store column m with one lane per row.
            const v4d t0 = __builtin_shufflevector(o[0], o[1], 0, 4, 2, 6);
            const v4d t1 = __builtin_shufflevector(o[0], o[1], 1, 5, 3, 7);
            const v4d t2 = __builtin_shufflevector(o[2], o[3], 0, 4, 2, 6);
            const v4d t3 = __builtin_shufflevector(o[2], o[3], 1, 5, 3, 7);
            v4d *dst = tf + f * tstride + off + 4 * b;
            dst[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
            dst[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
            dst[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
            dst[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
        }
    }
#undef ROW
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

/// Horizontal pass, map and sums for output rows y0 .. y0 + nrows - 1 (one lane per row).
static inline __attribute__((always_inline)) void
horizontal(const tp_ssim_job *job, const v4d *tf, size_t tstride, int y0, int nrows, int r, int c) {
    const int w = job->width, pad = job->pad, off = r * c;
    const double *t = job->taps + r;
    const v4d cov = SPLAT(job->cov_norm), c1 = SPLAT(job->c1), c2 = SPLAT(job->c2);
    const double inv = 1.0 / c;
    v4d crop = SPLAT(0), inMouth = SPLAT(0), outMouth = SPLAT(0);
    v4d mouthLane[4];
    for (int p0 = 0; p0 < w; p0 += 4) {
        const int np = w - p0 < 4 ? w - p0 : 4;
        v4d ps[4] = {SPLAT(0), SPLAT(0), SPLAT(0), SPLAT(0)};
        for (int ch = 0; ch < c; ch++) {
            v4d out[4][4];
            for (int f = 0; f < 4; f++) {
                // Columns (p0 + m - r) c + ch for m = 0 .. 2r + 3; output q centres on m = r + q.
                const v4d *col = tf + f * tstride + off + (p0 - r) * c + ch;
                for (int q = 0; q < 4; q++) {
                    v4d a = SPLAT(t[0]) * col[(r + q) * c];
                    for (int d = 1; d <= r; d++) a += SPLAT(t[d]) * (col[(r + q - d) * c] + col[(r + q + d) * c]);
                    out[f][q] = a;
                }
            }
            for (int q = 0; q < 4; q++) ps[q] += ssim_map(out[0][q], out[1][q], out[2][q], out[3][q], cov, c1, c2);
        }
        for (int q = 0; q < np; q++) {
            const int x = p0 + q;
            if (x >= pad && x < w - pad) crop += ps[q];
            if (job->mouth) {
                for (int l = 0; l < 4; l++) mouthLane[q][l] = l < nrows && job->mouth[(size_t)(y0 + l) * w + x] ? 1.0 : 0.0;
                inMouth += ps[q] * mouthLane[q];
                outMouth += ps[q] * (1.0 - mouthLane[q]);
            }
            if (job->map)
                for (int l = 0; l < nrows; l++) job->map[(size_t)(y0 + l) * w + x] = (float)(ps[q][l] * inv);
        }
    }
    for (int l = 0; l < nrows; l++) {
        const int y = y0 + l;
        job->row_sums[3 * y] = y >= pad && y < job->height - pad ? crop[l] : 0;
        job->row_sums[3 * y + 1] = job->mouth ? inMouth[l] : 0;
        job->row_sums[3 * y + 2] = job->mouth ? outMouth[l] : 0;
    }
}

/// Reflect-pads the transposed fields (pixel granularity) at both row ends.
static void pad_columns(v4d *tf, size_t tstride, int w, int r, int c) {
    const int off = r * c;
    for (int f = 0; f < 4; f++) {
        v4d *row = tf + f * tstride;
        for (int p = 0; p < r; p++) {
            const int left = reflect_index(p - r, w), right = reflect_index(w + p, w);
            for (int ch = 0; ch < c; ch++) {
                row[p * c + ch] = row[off + left * c + ch];
                row[off + (w + p) * c + ch] = row[off + right * c + ch];
            }
        }
    }
}

static inline __attribute__((always_inline)) int
ssim_rows_body(const tp_ssim_job *job, int row_lo, int row_hi, int r, int c) {
    const int w = job->width, hgt = job->height, rowLen = w * c;
    const int blocks = (rowLen + 3) / 4, k = ring_rows(r);
    // Transposed fields: r pixels of reflection on each side, slack for whole groups of four
    // pixels on the right and for whole blocks of four columns.
    const size_t tstride = (size_t)(w + 2 * r + 8) * c + 8;
    double *ring = aligned_alloc(64, (size_t)blocks * block_stride(k) * sizeof(double));
    v4d *tf = aligned_alloc(64, 4 * tstride * sizeof(v4d));
    if (!ring || !tf) {
        free(ring);
        free(tf);
        return -1;
    }
    memset(tf, 0, 4 * tstride * sizeof(v4d));
    // Extended row e (reflected into the image) lives in ring row (e - row_lo + r) & (k - 1).
    int next = row_lo - r;
    double finite = 0;
    for (int y0 = row_lo; y0 < row_hi; y0 += 4) {
        for (; next < y0 + 4 + r; next++)
            finite += products(job, ring, k, blocks, reflect_index(next, hgt), (next - row_lo + r) & (k - 1), c);
        // s0 = (y0 - row_lo) & (k - 1) is a multiple of 4: one specialised sweep per value for k = 16.
        const int s0 = (y0 - row_lo) & (k - 1);
        if (k == 16) {
            switch (s0) {
            case 0: vertical(job, ring, 16, blocks, 0, r, tf, tstride, r * c); break;
            case 4: vertical(job, ring, 16, blocks, 4, r, tf, tstride, r * c); break;
            case 8: vertical(job, ring, 16, blocks, 8, r, tf, tstride, r * c); break;
            default: vertical(job, ring, 16, blocks, 12, r, tf, tstride, r * c); break;
            }
        } else {
            vertical(job, ring, k, blocks, s0, r, tf, tstride, r * c);
        }
        pad_columns(tf, tstride, w, r, c);
        const int nrows = row_hi - y0 < 4 ? row_hi - y0 : 4;
        horizontal(job, tf, tstride, y0, nrows, r, c);
    }
    free(ring);
    free(tf);
    return finite == 0 ? 0 : 1;
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
    if (job->radius < 0 || job->channels < 1 || row_lo < 0 || row_hi > job->height || row_lo > row_hi) return -1;
    if (row_lo == row_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return ssim_rows_avx2(job, row_lo, row_hi);
#endif
    return ssim_rows_generic(job, row_lo, row_hi);
}
