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

/// Computes rows `row_lo..<row_hi` of the SSIM map and their sums. Returns 0; 1 when an input
/// row it read holds a NaN or an infinity (the outputs are then meaningless); -1 for bad sizes or
/// when scratch memory could not be allocated.
int tp_ssim_rows(const tp_ssim_job *job, int row_lo, int row_hi);

/// One MFCC computation (python_speech_features.mfcc, float64 arithmetic): pre-emphasis, frames
/// zero-padded past the end of the signal, power spectrum, filterbank, log, DCT. Read-only except
/// the disjoint output rows.
typedef struct {
    /// `count` samples as given (int16 scale for SyncNet).
    const float *signal;
    size_t count;
    double preemph;
    int frames, frame_len, frame_step;
    /// A power of two, at least 4 and at least `frame_len`.
    int nfft;
    int nfilt, numcep;
    /// `nfilt + 2` filter edges in FFT bins (each at most `nfft / 2 + 1`).
    const int *bins;
    /// Filterbank, `nfilt x (nfft / 2 + 1)` row-major.
    const double *fbank;
    /// Orthonormal DCT-II rows with the lifter folded in, `numcep x nfilt` row-major.
    const double *dct;
    /// Replace coefficient 0 by the log frame energy.
    int append_energy;
    /// `frames x numcep` row-major.
    double *out;
} tp_mfcc_job;

/// Computes output rows `frame_lo..<frame_hi`. Returns 0, or -1 for bad sizes or when scratch
/// memory could not be allocated.
int tp_mfcc_frames(const tp_mfcc_job *job, int frame_lo, int frame_hi);

/// The input transform of a Winograd F(2x2, 3x3) or F(2x2, 5x5) convolution (Metrics'
/// WinogradConv): `V[ξ][ci][tile] = (Bᵀ d B)_ξ` for the α x α patch `d` (α = kernel + 1) of each
/// tile of the zero-padded planes.
typedef struct {
    /// 3 or 5.
    int kernel;
    /// Planes of `height x width`, channel-major: image `n` of channel `c` at plane
    /// `c * channel_stride + n` (`channel_stride` >= `batch`: a run of images of a larger map).
    const float *x;
    int channels, batch, channel_stride, height, width, pad;
    /// Tiles per image: `tile_rows x tile_cols`, 2x2 outputs each.
    int tile_rows, tile_cols;
    /// `channels x α² x tiles` (each channel's α² planes together, so the output transform of
    /// one channel reads one block); tile `n * tile_rows * tile_cols + ty * tile_cols + tx`.
    float *v;
    size_t tiles;
} tp_winograd_input_job;

/// Transforms planes `plane_lo..<plane_hi` (plane = channel * batch + image). Returns 0, or -1
/// for bad sizes or when scratch memory could not be allocated.
int tp_winograd_input(const tp_winograd_input_job *job, int plane_lo, int plane_hi);

/// The output transform: `y = Aᵀ M A + bias` per tile, ReLU if asked, cropped to the output.
typedef struct {
    /// 3 or 5.
    int kernel;
    /// `channels x α² x tiles` products.
    const float *m;
    const float *bias;
    int channels, batch, channel_stride, out_height, out_width, tile_rows, tile_cols, relu;
    size_t tiles;
    /// Planes of `out_height x out_width`, image `n` of channel `c` at plane
    /// `c * channel_stride + n`.
    float *out;
} tp_winograd_output_job;

/// Writes output channels `channel_lo..<channel_hi`. Returns 0, or -1 for bad sizes or when
/// scratch memory could not be allocated.
int tp_winograd_output(const tp_winograd_output_job *job, int channel_lo, int channel_hi);

/// Index of the first NaN or infinity in `values`, or `count` when all are finite.
size_t tp_first_nonfinite(const float *values, size_t count);

/// 1 when the AVX2+FMA variants run on this CPU (set TRAJPROBE_NO_AVX2=1 to force the fallback).
int tp_kernels_use_avx2(void);

#endif
