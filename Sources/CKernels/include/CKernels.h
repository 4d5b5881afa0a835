// Hot loops of Metrics that need AVX2/FMA on x86_64: the default Swift target is baseline SSE2,
// so these are C functions with an `avx2,fma` variant chosen at run time and a portable fallback
// (same operations, same results to rounding). This module provides no stable Swift API.
#ifndef TRAJPROBE_CKERNELS_H
#define TRAJPROBE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// One SSIM computation (scikit-image's structural_similarity, float64 arithmetic): inputs are
/// interleaved `height x width x channels` floats; `taps` has `2 radius + 1` normalised weights;
/// borders are scipy's `mode='reflect'`. Read-only except the disjoint rows written by each call.
typedef struct {
    const float *a;
    const float *b;
    const double *taps;
    int width, height, channels, radius;
    /// Columns and rows dropped at each edge for the full-image mean (scikit-image's crop).
    int pad;
    double cov_norm, c1, c2;
    /// `width * height` bytes, non-zero inside the mouth; NULL when no regions are measured.
    const uint8_t *mouth;
    /// Per row: the map summed over the crop, over mouth pixels, over the other pixels.
    double *row_sums;
    /// `width * height` map averaged over channels, or NULL.
    float *map;
} tp_ssim_job;

/// Computes rows `row_lo..<row_hi` of the SSIM map and their sums. Returns 0, or -1 when scratch
/// memory could not be allocated.
int tp_ssim_rows(const tp_ssim_job *job, int row_lo, int row_hi);

/// 1 when the AVX2+FMA variants run on this CPU (set TRAJPROBE_NO_AVX2=1 to force the fallback).
int tp_kernels_use_avx2(void);

#endif
