// MFCC frames in float64, four frames at a time (one per vector lane, structure of arrays): the
// power spectrum through a radix-2 complex FFT of half the length (even/odd packing, split after),
// the sparse filterbank, log, and the DCT with the lifter folded in.
#include "CKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Always inlined into the avx2 or the generic variant (see ssim.c).
#pragma clang diagnostic ignored "-Wpsabi"

typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));
#define LD(p) ((v4d)(*(const v4du *)(p)))
#define ST(p, v) (*(v4du *)(p) = (v))
#define SPLAT(x) ((v4d){(x), (x), (x), (x)})

typedef struct {
    int n, h, bits;
    double *cosT, *sinT;   // stage twiddles: stage with half-length m at offset m - 1
    double *splitC, *splitS;
    int *rev;
} fft_plan;

static void plan_free(fft_plan *p) {
    free(p->cosT);
    free(p->splitC);
    free(p->rev);
}

static int plan_init(fft_plan *p, int n) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->h = n / 2;
    const int h = p->h;
    p->cosT = malloc(2 * (size_t)h * sizeof(double));
    p->splitC = malloc(2 * (size_t)(h + 1) * sizeof(double));
    p->rev = malloc((size_t)h * sizeof(int));
    if (!p->cosT || !p->splitC || !p->rev) {
        plan_free(p);
        return -1;
    }
    p->sinT = p->cosT + h;
    p->splitS = p->splitC + h + 1;
    for (int m = 1; m < h; m *= 2)
        for (int k = 0; k < m; k++) {
            // Same angle as exp(-2πi (k h / 2m) / h), from the reduced index.
            const double angle = -2 * M_PI * (double)(k * (h / (2 * m))) / (double)h;
            p->cosT[m - 1 + k] = cos(angle);
            p->sinT[m - 1 + k] = sin(angle);
        }
    for (int k = 0; k <= h; k++) {
        p->splitC[k] = cos(-2 * M_PI * (double)k / (double)n);
        p->splitS[k] = sin(-2 * M_PI * (double)k / (double)n);
    }
    int bits = 0;
    while ((1 << bits) < h) bits++;
    p->bits = bits;
    for (int i = 0; i < h; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            if (i & (1 << b)) r |= 1 << (bits - 1 - b);
        p->rev[i] = r;
    }
    return 0;
}

/// |rfft(x, n)|² for four frames (lane l: samples `x[l][0..<len]`, zero beyond), bins 0...n/2.
static inline __attribute__((always_inline)) void
power4(const fft_plan *p, const double *const x[4], int len, v4d *restrict re, v4d *restrict im, v4d *restrict power) {
    const int h = p->h;
    const int *rev = p->rev;
    // Packed input z_j = x_2j + i x_2j+1, in bit-reversed order; four samples of each frame per
    // step, transposed so that each vector holds one sample of the four frames.
    int e = 0;
    for (; e + 4 <= len; e += 4) {
        const v4d r0 = LD(x[0] + e), r1 = LD(x[1] + e), r2 = LD(x[2] + e), r3 = LD(x[3] + e);
        const v4d t0 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6);
        const v4d t1 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
        const v4d t2 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6);
        const v4d t3 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
        const int j = e / 2;
        re[rev[j]] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
        im[rev[j]] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
        re[rev[j + 1]] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
        im[rev[j + 1]] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    }
    for (; e < 2 * h; e += 2) {
        const int j = e / 2;
        re[rev[j]] = e < len ? (v4d){x[0][e], x[1][e], x[2][e], x[3][e]} : SPLAT(0);
        im[rev[j]] = e + 1 < len ? (v4d){x[0][e + 1], x[1][e + 1], x[2][e + 1], x[3][e + 1]} : SPLAT(0);
    }
    for (int i = 0; i < h; i += 2) {
        const v4d ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        re[i + 1] = ar - br;
        im[i + 1] = ai - bi;
    }
    for (int half = 2; half < h; half *= 2) {
        const double *wc = p->cosT + half - 1, *ws = p->sinT + half - 1;
        for (int start = 0; start < h; start += 2 * half)
            for (int k = 0; k < half; k++) {
                const v4d wr = SPLAT(wc[k]), wi = SPLAT(ws[k]);
                const int i = start + k, j = i + half;
                const v4d rj = re[j], ij = im[j];
                const v4d tr = rj * wr - ij * wi;
                const v4d ti = rj * wi + ij * wr;
                const v4d ri = re[i], ii = im[i];
                re[j] = ri - tr;
                im[j] = ii - ti;
                re[i] = ri + tr;
                im[i] = ii + ti;
            }
    }
    // X_k = E_k + W^k O_k with E, O from Z_k and conj Z_{h-k}.
    const v4d p0 = re[0] + im[0], ph = re[0] - im[0];
    power[0] = p0 * p0;
    power[h] = ph * ph;
    for (int k = 1; k < h; k++) {
        const v4d zr = re[k], zi = im[k], cr = re[h - k], ci = -im[h - k];
        const v4d er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
        const v4d dr = 0.5 * (zr - cr), di = 0.5 * (zi - ci);
        const v4d orr = di, oi = -dr;
        const v4d wr = SPLAT(p->splitC[k]), wi = SPLAT(p->splitS[k]);
        const v4d xr = er + (orr * wr - oi * wi);
        const v4d xi = ei + (orr * wi + oi * wr);
        power[k] = xr * xr + xi * xi;
    }
}

/// Pre-emphasised samples of frame `f` (`y_i = x_i - p x_{i-1}`, `y_0 = x_0`, zero past the end),
/// in numpy's order of operations (no fused multiply-add).
static void emphasised_frame(const tp_mfcc_job *job, int f, double *restrict y) {
#pragma clang fp contract(off)
    const size_t start = (size_t)f * job->frame_step, n = job->count;
    const float *x = job->signal;
    const double p = job->preemph;
    const int len = job->frame_len;
    int i = 0;
    if (start == 0) {
        y[0] = x[0];
        i = 1;
    }
    const int inside = start + len <= n ? len : (start < n ? (int)(n - start) : 0);
    for (; i < inside; i++) y[i] = (double)x[start + i] - p * (double)x[start + i - 1];
    for (; i < len; i++) y[i] = 0;
}

static inline __attribute__((always_inline)) int mfcc_body(const tp_mfcc_job *job, int lo, int hi) {
    fft_plan plan;
    if (plan_init(&plan, job->nfft) != 0) return -1;
    const int h = plan.h, nbins = h + 1, nfilt = job->nfilt, ncep = job->numcep, len = job->frame_len;
    const size_t frameSlots = (size_t)(len + 3) / 4;  // in vectors
    v4d *mem = aligned_alloc(32, (size_t)(2 * h + nbins + nfilt + ncep + 4 * frameSlots) * sizeof(v4d));
    if (!mem) {
        plan_free(&plan);
        return -1;
    }
    v4d *re = mem, *im = mem + h, *power = mem + 2 * h, *feat = power + nbins, *out = feat + nfilt;
    double *frameBuf = (double *)(out + ncep);
    const double invN = 1.0 / job->nfft, eps = 2.220446049250313e-16;  // numpy.finfo(float).eps
    for (int f = lo; f < hi; f += 4) {
        const int lanes = hi - f < 4 ? hi - f : 4;
        const double *x[4];
        for (int l = 0; l < 4; l++) {
            double *y = frameBuf + (size_t)l * 4 * frameSlots;
            if (l < lanes) emphasised_frame(job, f + l, y);
            x[l] = l < lanes ? y : frameBuf;
        }
        power4(&plan, x, len, re, im, power);
        v4d energy = SPLAT(0);
        for (int i = 0; i < nbins; i++) {
            power[i] *= invN;
            energy += power[i];
        }
        for (int j = 0; j < nfilt; j++) {
            // Two partial sums: one chain of dependent multiply-adds would wait on every add.
            v4d s0 = SPLAT(0), s1 = SPLAT(0);
            const double *row = job->fbank + (size_t)j * nbins;
            const int b0 = job->bins[j], b2 = job->bins[j + 2] > b0 ? job->bins[j + 2] : b0;
            int i = b0;
            for (; i + 1 < b2; i += 2) {
                s0 += power[i] * SPLAT(row[i]);
                s1 += power[i + 1] * SPLAT(row[i + 1]);
            }
            if (i < b2) s0 += power[i] * SPLAT(row[i]);
            const v4d s = s0 + s1;
            v4d lg;
            for (int l = 0; l < 4; l++) lg[l] = log(s[l] == 0 ? eps : s[l]);
            feat[j] = lg;
        }
        for (int k = 0; k < ncep; k++) {
            v4d s = SPLAT(0);
            const double *row = job->dct + (size_t)k * nfilt;
            for (int n = 0; n < nfilt; n++) s += SPLAT(row[n]) * feat[n];
            out[k] = s;
        }
        for (int l = 0; l < lanes; l++) {
            double *o = job->out + (size_t)(f + l) * ncep;
            for (int k = 0; k < ncep; k++) o[k] = out[k][l];
            if (job->append_energy) o[0] = log(energy[l] == 0 ? eps : energy[l]);
        }
    }
    free(mem);
    plan_free(&plan);
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma")))
static int mfcc_avx2(const tp_mfcc_job *job, int lo, int hi) { return mfcc_body(job, lo, hi); }
#endif

static int mfcc_generic(const tp_mfcc_job *job, int lo, int hi) { return mfcc_body(job, lo, hi); }

int tp_mfcc_frames(const tp_mfcc_job *job, int frame_lo, int frame_hi) {
    const int n = job->nfft;
    if (n < 4 || (n & (n - 1)) != 0 || job->frame_len > n || job->frame_len < 1 || job->frame_step < 1 || job->count < 1 ||
        job->numcep < 1 || job->numcep > job->nfilt || frame_lo < 0 || frame_hi > job->frames)
        return -1;
    if (frame_lo >= frame_hi) return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (tp_kernels_use_avx2()) return mfcc_avx2(job, frame_lo, frame_hi);
#endif
    return mfcc_generic(job, frame_lo, frame_hi);
}
