#!/usr/bin/env python3
"""Reference half of the neural-network metrics benchmark (run by metrics_nets_bench.sh).

Writes the formula weights (tools/fixtures/nets_fixtures.py) as safetensors, times
  - LPIPS-AlexNet (`lpips` package, CPU) on 100 mouth-crop pairs of 96x160, one pair per call
    and 16 pairs per call, best of 3;
  - SyncNet-v2 LSE as syncnet_python's SyncNetInstance.evaluate computes it (batch 20,
    min_length - 5 windows, calc_pdist with vshift 15) on a 10 s 25 fps clip (250 frames of
    224x224, 1000 MFCC frames), starting from decoded frames and MFCCs,
and writes the timings and results to OUT_DIR/reference.json for the Swift half to compare.
Each is timed with torch's default thread count and with one thread; the fastest variant counts
(on a busy machine torch's threads can stall each other and the ratio would flatter trajprobe).

  python Benchmarks/metrics_nets_bench.py OUT_DIR
"""
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "fixtures"))
import nets_fixtures as nf  # noqa: E402

CROPS, CROP_H, CROP_W = 100, 96, 160
# LPIPS runs take well under a second: each variant (and the Swift half) is timed best of 3, so
# one stall of a shared machine does not decide the ratio.
LPIPS_REPEATS = 3
FRAMES, MFCC_FRAMES, BATCH, VSHIFT = 250, 1000, 20, 15


def main(out_dir):
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    lp_tensors = nf.formula_tensors(nf.lpips_specs())
    save_file({k: v.contiguous() for k, v in lp_tensors.items()}, os.path.join(out_dir, "lpips.safetensors"))
    model = nf.syncnet_module()
    sn_tensors = nf.formula_tensors(nf.syncnet_specs(model))
    save_file({k: v.contiguous() for k, v in sn_tensors.items()}, os.path.join(out_dir, "syncnet.safetensors"))
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}

    # LPIPS: 100 crop pairs, stream 5000 + 2i (the pair formula of the fixtures).
    lp = nf.lpips_model(lp_tensors)
    pairs = [nf.image_pair(5000 + 2 * i, CROP_H, CROP_W) for i in range(CROPS)]
    pairs = [(torch.from_numpy(a)[None], torch.from_numpy(b)[None]) for a, b in pairs]
    def per_pair():
        return [float(lp(a, b, normalize=True).item()) for a, b in pairs]

    def batched():
        out = []
        for s in range(0, CROPS, 16):
            a = torch.cat([p[0] for p in pairs[s:s + 16]]), torch.cat([p[1] for p in pairs[s:s + 16]])
            out += [float(v) for v in lp(a[0], a[1], normalize=True).flatten()]
        return out

    # Small crops can run faster on one thread than on several (no hand-off per layer), and
    # batched or not: the reference is the fastest of the four, so the ratio is not flattered.
    threads = torch.get_num_threads()
    timings = {}
    with torch.no_grad():
        per_pair()
        for n in (threads, 1):
            torch.set_num_threads(n)
            for name, fn in (("per_pair", per_pair), ("batch16", batched)):
                best = float("inf")
                for _ in range(LPIPS_REPEATS):
                    t0 = time.perf_counter()
                    got = fn()
                    best = min(best, time.perf_counter() - t0)
                timings[f"{name}_threads{n}"] = best
                if name == "per_pair":
                    values = got
        torch.set_num_threads(threads)
    result["lpips_seconds_variants"] = timings
    result["lpips_seconds"] = min(timings.values())
    result["lpips_values"] = values

    # SyncNet LSE on a 10 s clip.
    model.load_state_dict({**model.state_dict(), **sn_tensors})
    model.eval()
    lip = (nf.unit(6000, FRAMES * 3 * 224 * 224) + np.float32(1)) * np.float32(127.5)
    lip = lip.reshape(FRAMES, 3, 224, 224)
    mfcc = (nf.unit(6001, MFCC_FRAMES * 13) * np.float32(10)).reshape(MFCC_FRAMES, 13)
    def lse():
        imtv = torch.from_numpy(np.transpose(lip, (1, 0, 2, 3)).copy())[None]
        cct = torch.from_numpy(mfcc.T.copy())[None, None]
        lastframe = FRAMES - 5          # min(len(images), floor(len(audio) / 640)) - 5
        im_feat, cc_feat = [], []
        for i in range(0, lastframe, BATCH):
            im_in = torch.cat([imtv[:, :, v:v + 5] for v in range(i, min(lastframe, i + BATCH))], 0)
            im_feat.append(model.forward_lip(im_in))
            cc_in = torch.cat([cct[:, :, :, v * 4:v * 4 + 20] for v in range(i, min(lastframe, i + BATCH))], 0)
            cc_feat.append(model.forward_aud(cc_in))
        im_feat, cc_feat = torch.cat(im_feat, 0), torch.cat(cc_feat, 0)
        dists = nf.calc_pdist(im_feat, cc_feat, vshift=VSHIFT)
        mdist = torch.mean(torch.stack(dists, 1), 1)
        minval, minidx = torch.min(mdist, 0)
        conf = torch.median(mdist) - minval
        return lastframe, im_feat, cc_feat, mdist, minval, minidx, conf

    timings = {}
    with torch.no_grad():
        model.forward_lip(torch.zeros(1, 3, 5, 224, 224))
        for n in (threads, 1):
            torch.set_num_threads(n)
            t0 = time.perf_counter()
            lastframe, im_feat, cc_feat, mdist, minval, minidx, conf = lse()
            timings[str(n)] = time.perf_counter() - t0
        torch.set_num_threads(threads)
    result["syncnet_seconds_threads"] = timings
    result["syncnet_seconds"] = min(timings.values())
    result.update({"windows": lastframe, "lse_d": float(minval), "lse_c": float(conf),
                   "offset": int(VSHIFT - minidx), "mean_dists": nf.f32list(mdist),
                   "video_first": nf.f32list(im_feat[0]), "video_last": nf.f32list(im_feat[-1]),
                   "audio_first": nf.f32list(cc_feat[0]), "audio_last": nf.f32list(cc_feat[-1])})
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(result, f)
    print(f"reference (PyTorch {torch.__version__}, {torch.get_num_threads()} threads): "
          f"LPIPS {CROPS} crops {result['lpips_seconds']:.3f} s (variants: {result['lpips_seconds_variants']}), SyncNet LSE {FRAMES} frames "
          f"{result['syncnet_seconds']:.3f} s (by threads: {result['syncnet_seconds_threads']})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/trajprobe-nets-bench")
