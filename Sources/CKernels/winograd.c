// Winograd F(2x2, 3x3) transforms (Lavin & Gray's Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1],
// Aᵀ = [1 1 1 0; 0 1 -1 1]) in the layout of Metrics' WinogradConv. Each padded plane is split
// into its even and odd columns once; a tile row's transforms are then sums and differences of
// contiguous rows at offsets 0 and 1, which the compiler vectorises across the tiles of the row.
// The additions are those of the matrix products written out in the same order (zero terms
// dropped), so the results are the Swift loops' to the bit.
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

static inline __attribute__((always_inline)) int
input_body(const tp_winograd_input_job *job, int plane_lo, int plane_hi) {
    const int h = job->height, w = job->width, pad = job->pad, th = job->tile_rows, tw = job->tile_cols;
    const int hw = tw + 1, ph = 2 * th + 2;
    if (h + 2 * pad > ph || w + 2 * pad > 2 * hw) return -1;
    const size_t tiles_per_image = (size_t)th * tw, xi_stride = (size_t)job->channels * job->tiles;
    // Even and odd columns of the zero-padded plane (ph rows of hw each), then the four vertical
    // combinations of one tile row, even and odd columns.
    float *buffer = malloc(sizeof(float) * ((size_t)2 * ph * hw + (size_t)8 * hw));
    if (!buffer) return -1;
    float *even = buffer, *odd = buffer + (size_t)ph * hw, *te = odd + (size_t)ph * hw, *to = te + 4 * hw;
    for (int plane = plane_lo; plane < plane_hi; plane++) {
        const int ci = plane / job->batch, n = plane % job->batch;
        const float *src = job->x + (size_t)plane * h * w;
        memset(buffer, 0, sizeof(float) * (size_t)2 * ph * hw);
        for (int y = 0; y < h; y++) {
            float *e = even + (size_t)(y + pad) * hw, *o = odd + (size_t)(y + pad) * hw;
            const float *row = src + (size_t)y * w;
            for (int x = 0; x < w; x++) {
                const int c = x + pad;
                if (c & 1) o[c >> 1] = row[x]; else e[c >> 1] = row[x];
            }
        }
        float *dst = job->v + (size_t)ci * job->tiles + (size_t)n * tiles_per_image;
        for (int ty = 0; ty < th; ty++) {
            const float *e0 = even + (size_t)(2 * ty) * hw, *e1 = e0 + hw, *e2 = e1 + hw, *e3 = e2 + hw;
            const float *o0 = odd + (size_t)(2 * ty) * hw, *o1 = o0 + hw, *o2 = o1 + hw, *o3 = o2 + hw;
            for (int k = 0; k < hw; k++) {
                te[k] = e0[k] - e2[k];
                te[hw + k] = e1[k] + e2[k];
                te[2 * hw + k] = e2[k] - e1[k];
                te[3 * hw + k] = e3[k] - e1[k];
                to[k] = o0[k] - o2[k];
                to[hw + k] = o1[k] + o2[k];
                to[2 * hw + k] = o2[k] - o1[k];
                to[3 * hw + k] = o3[k] - o1[k];
            }
            for (int i = 0; i < 4; i++) {
                const float *restrict a = te + i * hw, *restrict b = to + i * hw;
                float *restrict v0 = dst + (size_t)(4 * i) * xi_stride + (size_t)ty * tw;
                float *restrict v1 = v0 + xi_stride, *restrict v2 = v1 + xi_stride, *restrict v3 = v2 + xi_stride;
                for (int tx = 0; tx < tw; tx++) {
                    v0[tx] = a[tx] - a[tx + 1];
                    v1[tx] = b[tx] + a[tx + 1];
                    v2[tx] = a[tx + 1] - b[tx];
                    v3[tx] = b[tx + 1] - b[tx];
                }
            }
        }
    }
    free(buffer);
    return 0;
}

static inline __attribute__((always_inline)) int
output_body(const tp_winograd_output_job *job, int channel_lo, int channel_hi) {
    const int oh = job->out_height, ow = job->out_width, th = job->tile_rows, tw = job->tile_cols;
    if (2 * th < oh || 2 * tw < ow || 2 * (th - 1) >= oh || 2 * (tw - 1) >= ow) return -1;
    const size_t tiles_per_image = (size_t)th * tw, xi_stride = (size_t)job->channels * job->tiles;
    float *buffer = malloc(sizeof(float) * (size_t)4 * tw);
    if (!buffer) return -1;
    float *y00 = buffer, *y01 = buffer + tw, *y10 = y01 + tw, *y11 = y10 + tw;
    const int relu = job->relu;
    for (int co = channel_lo; co < channel_hi; co++) {
        const float beta = job->bias[co];
        for (int n = 0; n < job->batch; n++) {
            const float *m = job->m + (size_t)co * job->tiles + (size_t)n * tiles_per_image;
            float *out = job->out + ((size_t)co * job->batch + n) * oh * ow;
            for (int ty = 0; ty < th; ty++) {
                const float *restrict p[16];
                for (int xi = 0; xi < 16; xi++) p[xi] = m + (size_t)xi * xi_stride + (size_t)ty * tw;
                for (int tx = 0; tx < tw; tx++) {
                    // t = Aᵀ p (2 x 4), then y = t A + bias.
                    float t0[4], t1[4];
                    for (int j = 0; j < 4; j++) {
                        t0[j] = (p[j][tx] + p[4 + j][tx]) + p[8 + j][tx];
                        t1[j] = (p[4 + j][tx] - p[8 + j][tx]) + p[12 + j][tx];
                    }
                    float a = ((beta + t0[0]) + t0[1]) + t0[2], b = ((beta + t0[1]) - t0[2]) + t0[3];
                    float c = ((beta + t1[0]) + t1[1]) + t1[2], d = ((beta + t1[1]) - t1[2]) + t1[3];
                    if (relu) {
                        a = a < 0 ? 0 : a;
                        b = b < 0 ? 0 : b;
                        c = c < 0 ? 0 : c;
                        d = d < 0 ? 0 : d;
                    }
                    y00[tx] = a;
                    y01[tx] = b;
                    y10[tx] = c;
                    y11[tx] = d;
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

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma")))
static int input_avx2(const tp_winograd_input_job *job, int lo, int hi) { return input_body(job, lo, hi); }
__attribute__((target("avx2,fma")))
static int output_avx2(const tp_winograd_output_job *job, int lo, int hi) { return output_body(job, lo, hi); }
#endif

static int input_generic(const tp_winograd_input_job *job, int lo, int hi) { return input_body(job, lo, hi); }
static int output_generic(const tp_winograd_output_job *job, int lo, int hi) { return output_body(job, lo, hi); }

int tp_winograd_input(const tp_winograd_input_job *job, int plane_lo, int plane_hi) {
    if (job->batch < 1 || plane_lo < 0 || plane_hi > job->channels * job->batch || plane_lo > plane_hi) return -1;
    if (plane_lo == plane_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return input_avx2(job, plane_lo, plane_hi);
#endif
    return input_generic(job, plane_lo, plane_hi);
}

int tp_winograd_output(const tp_winograd_output_job *job, int channel_lo, int channel_hi) {
    if (job->batch < 1 || channel_lo < 0 || channel_hi > job->channels || channel_lo > channel_hi) return -1;
    if (channel_lo == channel_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return output_avx2(job, channel_lo, channel_hi);
#endif
    return output_generic(job, channel_lo, channel_hi);
}
