#!/usr/bin/env python3
"""SSIM and MFCC speed of trajprobe against scikit-image and python_speech_features.

    .venv/bin/python Benchmarks/metrics_fidelity_bench.py [--swift "trajprobe bench fidelity --json"]

The Swift side (`FidelityBenchmark.run` in Sources/Benchmarks/FidelityBenchmark.swift,
printed as JSON by the command given with --swift) and this script generate the same inputs from
a splitmix64 counter hash, time the same work (100 SSIM comparisons of 512x512 RGB pairs with
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1,
full=True; MFCC of 60 s of 16 kHz audio), check that the values agree, and print the ratios.
"""
import argparse, json, shlex, subprocess, sys, time
import numpy as np
from skimage.metrics import structural_similarity
import python_speech_features

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def hash64(c):
    c = np.asarray(c, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = c * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(30)
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x = x * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def pair(p, size):
    n = size * size * 3
    base = np.uint64(p * 2 * n)
    idx = np.arange(n, dtype=np.uint64)
    va = (hash64(base + idx) & np.uint64(255)).astype(np.int64)
    d = (hash64(base + np.uint64(n) + idx) & np.uint64(31)).astype(np.int64) - 16
    a = va.astype(np.uint8).reshape(size, size, 3)
    b = np.clip(va + d, 0, 255).astype(np.uint8).reshape(size, size, 3)
    scale = np.float32(1) / np.float32(255)
    return (a.astype(np.float32) * scale).astype(np.float64), (b.astype(np.float32) * scale).astype(np.float64)


def audio(samples):
    h = hash64(np.uint64(1 << 40) + np.arange(samples, dtype=np.uint64))
    return ((h & np.uint64(0x3FFF)).astype(np.int64) - 8192).astype(np.int16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swift", default="trajprobe bench fidelity --json",
                    help="command printing FidelityBenchmark.Result as JSON")
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--distinct", type=int, default=10)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()

    inputs = [pair(p, args.size) for p in range(args.distinct)]
    t, tc = time.perf_counter(), time.process_time()
    scores = []
    for p in range(args.pairs):
        a, b = inputs[p % args.distinct]
        s, _ = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1.0, channel_axis=-1, full=True)
        scores.append(s)
    py_ssim, py_ssim_cpu = time.perf_counter() - t, time.process_time() - tc
    sig = audio(int(args.seconds * 16000))
    t, tc = time.perf_counter(), time.process_time()
    feat = python_speech_features.mfcc(sig, samplerate=16000)
    py_mfcc, py_mfcc_cpu = time.perf_counter() - t, time.process_time() - tc

    out = subprocess.run(shlex.split(args.swift), check=True, capture_output=True, text=True).stdout
    sw = json.loads(out[out.index("{"):])
    ok_ssim = abs(sw["ssim_mean"] - float(np.mean(scores))) < 1e-9
    ok_mfcc = sw["mfcc_frames"] == feat.shape[0] and abs(sw["mfcc_sum"] - float(feat.sum())) < 1e-6 * abs(float(feat.sum()))
    print(f"SSIM  {args.pairs} pairs {args.size}x{args.size}x3: scikit-image {py_ssim:.3f} s, trajprobe {sw['ssim_seconds']:.3f} s "
          f"-> {py_ssim / sw['ssim_seconds']:.1f}x (values agree: {ok_ssim})")
    print(f"MFCC  {args.seconds:.0f} s audio: python_speech_features {py_mfcc:.3f} s, trajprobe {sw['mfcc_seconds']:.4f} s "
          f"-> {py_mfcc / sw['mfcc_seconds']:.1f}x (values agree: {ok_mfcc})")
    print(f"cores seen by trajprobe: {sw['cores']}; CPU-time ratios (all threads, less sensitive to a busy machine): "
          f"SSIM {py_ssim_cpu / sw['ssim_cpu_seconds']:.1f}x, MFCC {py_mfcc_cpu / sw['mfcc_cpu_seconds']:.1f}x")
    if not (ok_ssim and ok_mfcc):
        sys.exit(1)


if __name__ == "__main__":
    main()
