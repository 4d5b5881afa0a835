// Winograd F(2x2, 3x3) and F(2x2, 5x5) transforms in the layout of Metrics' WinogradConv.
//
// F(2x2, 3x3): Lavin & Gray's Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], Aᵀ = [1 1 1 0;
// 0 1 -1 1]; the additions are those of the matrix products written out in the same order (zero
// terms dropped), so the results are the earlier Swift loops' to the bit.
// F(2x2, 5x5): points 0, ±1, ±1/2 and infinity, Bᵀ's rows scaled so every entry is a dyadic
// rational (exact in binary: 1/4, 5/4, 1/2, 1), Aᵀ = [1 1 1 1 1 0; 0 1 -1 1/2 -1/2 1]; the
// filter transform (Swift, in Double) absorbs the row scales.
//
// Each padded plane is split into its even and odd columns once: tile column tx then reads
// even[tx + k] and odd[tx + k], so a tile row's transforms are sums of contiguous rows at small
// offsets, computed eight tiles at a time. Rows of the work buffers are padded to whole vectors
// (and the buffers by one vector more) so every load may run past the end of a row; stores run
// past only inside those buffers, never into another plane of V or M.
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32)));
#define LD(p) ((v8f)(*(const v8fu *)(p)))
#define ST(p, v) (*(v8fu *)(p) = (v))
#define LANES 8

static inline int round_up(int n) { return (n + LANES - 1) / LANES * LANES; }

/// ReLU keeping NaN (a NaN compares false, so its lane is kept).
static inline __attribute__((always_inline)) v8f relu8(v8f x) {
    const v8i negative = x < 0;
    return (v8f)((v8i)x & ~negative);
}

/// Stores the first `count` lanes of `x` (a tile row's last, partial group).
static inline __attribute__((always_inline)) void store_partial(float *dst, v8f x, int count) {
    float lanes[LANES];
    ST(lanes, x);
    for (int l = 0; l < count; l++) dst[l] = lanes[l];
}

/// Stores a group of tiles of V: whole vectors where the group is full, else its lanes.
static inline __attribute__((always_inline)) void store_tiles(float *dst, v8f x, int count) {
    if (count == LANES) ST(dst, x); else store_partial(dst, x, count);
}

// Bᵀ for F(2x2, 3x3) and F(2x2, 5x5), applied to four or six rows (or columns).
#define BT4_0(d0, d1, d2, d3) ((d0) - (d2))
#define BT4_1(d0, d1, d2, d3) ((d1) + (d2))
#define BT4_2(d0, d1, d2, d3) ((d2) - (d1))
#define BT4_3(d0, d1, d2, d3) ((d3) - (d1))
#define BT6_0(d0, d1, d2, d3, d4, d5) (0.25f * (d0) - 1.25f * (d2) + (d4))
#define BT6_1(d0, d1, d2, d3, d4, d5) (-0.25f * ((d1) + (d2)) + ((d3) + (d4)))
#define BT6_2(d0, d1, d2, d3, d4, d5) (0.25f * ((d1) - (d2)) + ((d4) - (d3)))
#define BT6_3(d0, d1, d2, d3, d4, d5) (0.5f * ((d1) - (d3)) + ((d2) - (d4)))
#define BT6_4(d0, d1, d2, d3, d4, d5) (0.5f * ((d3) - (d1)) + ((d2) - (d4)))
#define BT6_5(d0, d1, d2, d3, d4, d5) (0.25f * (d1) - 1.25f * (d3) + (d5))

/// One input transform. `alpha` is a constant (4 or 6) at every call, so the loops over it unroll.
static inline __attribute__((always_inline)) int
input_body(const tp_winograd_input_job *job, int plane_lo, int plane_hi, const int alpha) {
    const int h = job->height, w = job->width, pad = job->pad, th = job->tile_rows, tw = job->tile_cols;
    // Tile column tx reads padded columns 2tx .. 2tx + alpha - 1: even and odd [tx, tx + alpha/2).
    const int hw = tw + alpha / 2 - 1, ph = 2 * th + alpha - 2, stride = round_up(hw);
    if (h + 2 * pad > ph || w + 2 * pad > 2 * hw) return -1;
    const int a2 = alpha * alpha;
    const size_t tiles_per_image = (size_t)th * tw, xi_stride = job->tiles;
    // Even and odd columns of the zero-padded plane (ph rows each), then the alpha vertical
    // combinations of one tile row (even and odd), one spare vector at the end.
    const size_t plane_floats = (size_t)ph * stride;
    float *buffer = malloc(sizeof(float) * (2 * plane_floats + (size_t)2 * alpha * stride + LANES));
    if (!buffer) return -1;
    float *even = buffer, *odd = buffer + plane_floats, *te = odd + plane_floats, *to = te + (size_t)alpha * stride;
    memset(te, 0, sizeof(float) * ((size_t)2 * alpha * stride + LANES));
    for (int plane = plane_lo; plane < plane_hi; plane++) {
        const int ci = plane / job->batch, n = plane % job->batch;
        const float *src = job->x + ((size_t)ci * job->channel_stride + n) * h * w;
        memset(buffer, 0, sizeof(float) * 2 * plane_floats);
        for (int y = 0; y < h; y++) {
            float *e = even + (size_t)(y + pad) * stride, *o = odd + (size_t)(y + pad) * stride;
            const float *row = src + (size_t)y * w;
            int x = 0;
            if (pad & 1) { o[pad >> 1] = row[0]; x = 1; }
            // From here on x + pad is even: pairs go to even[k], odd[k].
            for (; x + 1 < w; x += 2) {
                const int k = (x + pad) >> 1;
                e[k] = row[x];
                o[k] = row[x + 1];
            }
            if (x < w) e[(x + pad) >> 1] = row[x];
        }
        float *dst = job->v + (size_t)ci * a2 * job->tiles + (size_t)n * tiles_per_image;
        for (int ty = 0; ty < th; ty++) {
            // Vertical pass: the alpha padded rows of the tile row, whole vectors (the rows'
            // padding absorbs the overrun).
            for (int half = 0; half < 2; half++) {
                const float *r = (half ? odd : even) + (size_t)(2 * ty) * stride;
                float *t = half ? to : te;
                for (int k = 0; k < hw; k += LANES) {
                    if (alpha == 4) {
                        const v8f d0 = LD(r + k), d1 = LD(r + stride + k), d2 = LD(r + 2 * stride + k), d3 = LD(r + 3 * stride + k);
                        ST(t + k, BT4_0(d0, d1, d2, d3));
                        ST(t + stride + k, BT4_1(d0, d1, d2, d3));
                        ST(t + 2 * stride + k, BT4_2(d0, d1, d2, d3));
                        ST(t + 3 * stride + k, BT4_3(d0, d1, d2, d3));
                    } else {
                        const v8f d0 = LD(r + k), d1 = LD(r + stride + k), d2 = LD(r + 2 * stride + k);
                        const v8f d3 = LD(r + 3 * stride + k), d4 = LD(r + 4 * stride + k), d5 = LD(r + 5 * stride + k);
                        ST(t + k, BT6_0(d0, d1, d2, d3, d4, d5));
                        ST(t + stride + k, BT6_1(d0, d1, d2, d3, d4, d5));
                        ST(t + 2 * stride + k, BT6_2(d0, d1, d2, d3, d4, d5));
                        ST(t + 3 * stride + k, BT6_3(d0, d1, d2, d3, d4, d5));
                        ST(t + 4 * stride + k, BT6_4(d0, d1, d2, d3, d4, d5));
                        ST(t + 5 * stride + k, BT6_5(d0, d1, d2, d3, d4, d5));
                    }
                }
            }
            // Horizontal pass, eight tiles at a time, into V's alpha planes of row i.
            for (int i = 0; i < alpha; i++) {
                const float *e = te + (size_t)i * stride, *o = to + (size_t)i * stride;
                float *v = dst + (size_t)(alpha * i) * xi_stride + (size_t)ty * tw;
                for (int tx = 0; tx < tw; tx += LANES) {
                    const int count = tw - tx < LANES ? tw - tx : LANES;
                    if (alpha == 4) {
                        const v8f d0 = LD(e + tx), d1 = LD(o + tx), d2 = LD(e + tx + 1), d3 = LD(o + tx + 1);
                        store_tiles(v + tx, BT4_0(d0, d1, d2, d3), count);
                        store_tiles(v + xi_stride + tx, BT4_1(d0, d1, d2, d3), count);
                        store_tiles(v + 2 * xi_stride + tx, BT4_2(d0, d1, d2, d3), count);
                        store_tiles(v + 3 * xi_stride + tx, BT4_3(d0, d1, d2, d3), count);
                    } else {
                        const v8f d0 = LD(e + tx), d1 = LD(o + tx), d2 = LD(e + tx + 1);
                        const v8f d3 = LD(o + tx + 1), d4 = LD(e + tx + 2), d5 = LD(o + tx + 2);
                        store_tiles(v + tx, BT6_0(d0, d1, d2, d3, d4, d5), count);
                        store_tiles(v + xi_stride + tx, BT6_1(d0, d1, d2, d3, d4, d5), count);
                        store_tiles(v + 2 * xi_stride + tx, BT6_2(d0, d1, d2, d3, d4, d5), count);
                        store_tiles(v + 3 * xi_stride + tx, BT6_3(d0, d1, d2, d3, d4, d5), count);
                        store_tiles(v + 4 * xi_stride + tx, BT6_4(d0, d1, d2, d3, d4, d5), count);
                        store_tiles(v + 5 * xi_stride + tx, BT6_5(d0, d1, d2, d3, d4, d5), count);
                    }
                }
            }
        }
    }
    free(buffer);
    return 0;
}

/// One output transform: y = Aᵀ M A + bias per tile, eight tiles at a time, then interleaved
/// into the output rows. `alpha` is a constant (4 or 6) at every call.
static inline __attribute__((always_inline)) int
output_body(const tp_winograd_output_job *job, int channel_lo, int channel_hi, const int alpha) {
    const int oh = job->out_height, ow = job->out_width, th = job->tile_rows, tw = job->tile_cols;
    if (2 * th < oh || 2 * tw < ow || 2 * (th - 1) >= oh || 2 * (tw - 1) >= ow) return -1;
    const int a2 = alpha * alpha, stride = round_up(tw);
    const size_t tiles_per_image = (size_t)th * tw, xi_stride = job->tiles;
    float *buffer = malloc(sizeof(float) * (size_t)4 * stride);
    if (!buffer) return -1;
    float *y00 = buffer, *y01 = buffer + stride, *y10 = y01 + stride, *y11 = y10 + stride;
    const int relu = job->relu;
    for (int co = channel_lo; co < channel_hi; co++) {
        const float beta = job->bias[co];
        for (int n = 0; n < job->batch; n++) {
            const float *m = job->m + (size_t)co * a2 * job->tiles + (size_t)n * tiles_per_image;
            float *out = job->out + ((size_t)co * job->channel_stride + n) * oh * ow;
            for (int ty = 0; ty < th; ty++) {
                const float *q = m + (size_t)ty * tw;
                for (int tx = 0; tx < tw; tx += LANES) {
#define P(xi) LD(q + (size_t)(xi) * xi_stride + tx)
                    v8f a, b, c, d;
                    if (alpha == 4) {
                        // t = Aᵀ p (2 x 4), then y = t A + bias, in the Swift loops' order.
                        v8f t0[4], t1[4];
                        for (int j = 0; j < 4; j++) {
                            t0[j] = (P(j) + P(4 + j)) + P(8 + j);
                            t1[j] = (P(4 + j) - P(8 + j)) + P(12 + j);
                        }
                        a = ((beta + t0[0]) + t0[1]) + t0[2];
                        b = ((beta + t0[1]) - t0[2]) + t0[3];
                        c = ((beta + t1[0]) + t1[1]) + t1[2];
                        d = ((beta + t1[1]) - t1[2]) + t1[3];
                    } else {
                        v8f t0[6], t1[6];
                        for (int j = 0; j < 6; j++) {
                            const v8f m0 = P(j), m1 = P(6 + j), m2 = P(12 + j), m3 = P(18 + j), m4 = P(24 + j), m5 = P(30 + j);
                            t0[j] = ((m0 + m1) + m2) + (m3 + m4);
                            t1[j] = ((m1 - m2) + m5) + 0.5f * (m3 - m4);
                        }
                        a = beta + (((t0[0] + t0[1]) + t0[2]) + (t0[3] + t0[4]));
                        b = beta + (((t0[1] - t0[2]) + t0[5]) + 0.5f * (t0[3] - t0[4]));
                        c = beta + (((t1[0] + t1[1]) + t1[2]) + (t1[3] + t1[4]));
                        d = beta + (((t1[1] - t1[2]) + t1[5]) + 0.5f * (t1[3] - t1[4]));
                    }
#undef P
                    if (relu) {
                        a = relu8(a);
                        b = relu8(b);
                        c = relu8(c);
                        d = relu8(d);
                    }
                    ST(y00 + tx, a);
                    ST(y01 + tx, b);
                    ST(y10 + tx, c);
                    ST(y11 + tx, d);
                }
                // The last tile of an odd side has one output pixel in that direction.
                const int full = ow / 2;
                for (int r = 0; r < 2 && 2 * ty + r < oh; r++) {
                    float *restrict row = out + (size_t)(2 * ty + r) * ow;
                    const float *restrict left = r ? y10 : y00, *restrict right = r ? y11 : y01;
                    for (int tx = 0; tx < full; tx++) {
                        row[2 * tx] = left[tx];
                        row[2 * tx + 1] = right[tx];
                    }
                    if (ow & 1) row[ow - 1] = left[full];
                }
            }
        }
    }
    free(buffer);
    return 0;
}

static inline __attribute__((always_inline)) int
input_dispatch(const tp_winograd_input_job *job, int lo, int hi) {
    return job->kernel == 5 ? input_body(job, lo, hi, 6) : input_body(job, lo, hi, 4);
}

static inline __attribute__((always_inline)) int
output_dispatch(const tp_winograd_output_job *job, int lo, int hi) {
    return job->kernel == 5 ? output_body(job, lo, hi, 6) : output_body(job, lo, hi, 4);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma")))
static int input_avx2(const tp_winograd_input_job *job, int lo, int hi) { return input_dispatch(job, lo, hi); }
__attribute__((target("avx2,fma")))
static int output_avx2(const tp_winograd_output_job *job, int lo, int hi) { return output_dispatch(job, lo, hi); }
#endif

static int input_generic(const tp_winograd_input_job *job, int lo, int hi) { return input_dispatch(job, lo, hi); }
static int output_generic(const tp_winograd_output_job *job, int lo, int hi) { return output_dispatch(job, lo, hi); }

int tp_winograd_input(const tp_winograd_input_job *job, int plane_lo, int plane_hi) {
    if ((job->kernel != 3 && job->kernel != 5) || job->batch < 1 || job->channel_stride < job->batch || plane_lo < 0
        || plane_hi > job->channels * job->batch || plane_lo > plane_hi) return -1;
    if (plane_lo == plane_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return input_avx2(job, plane_lo, plane_hi);
#endif
    return input_generic(job, plane_lo, plane_hi);
}

int tp_winograd_output(const tp_winograd_output_job *job, int channel_lo, int channel_hi) {
    if ((job->kernel != 3 && job->kernel != 5) || job->batch < 1 || job->channel_stride < job->batch || channel_lo < 0
        || channel_hi > job->channels || channel_lo > channel_hi) return -1;
    if (channel_lo == channel_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return output_avx2(job, channel_lo, channel_hi);
#endif
    return output_generic(job, channel_lo, channel_hi);
}
