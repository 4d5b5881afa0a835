#!/usr/bin/env python3
"""The README's raw-frames vs JPEG-path table: LSE-C / LSE-D / offset of `trajprobe measure sync`
with the presets syncnet_python (decoded frames) and syncnet_python-jpeg (syncnet_python's
evaluate() extraction: JPEG as `ffmpeg -f image2` writes it, read back as cv2.imread reads it).

Clip sets: demo clips (`trajprobe demo-data`: H.264 CRF 12, 4.2 s, at 96 px as `make demo` makes
them, and at 224 px, the size of syncnet_python's face crops, also re-encoded by the ffmpeg CLI
with libx264 at CRF 18, 23 and 28, audio copied; by default the first clip of each of the 4
identities, `--per-identity` for more).

Weights: real SyncNet weights cannot be downloaded here, so the network is the seeded formula
network of tools/fixtures/nets_fixtures.py, saved as a syncnet_v2.model state dict and converted
by tools/convert_syncnet.py. Its absolute LSE values mean nothing about sync (with random weights
the zero-padded extreme offsets win, so offsets are +-15); the differences between the two
presets are what the table is for.

Run (after `swift build -c release`, `apt-get install ffmpeg`, `tools/make_venv.sh --torch`):
  .venv/bin/python tools/syncnet_jpeg_table.py --trajprobe .build/release/trajprobe --work /tmp/lse-table
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))


def weights(work):
    path = os.path.join(work, "syncnet_formula.safetensors")
    if os.path.exists(path):
        return path
    import torch
    import nets_fixtures
    model = nets_fixtures.syncnet_module()
    state = {**model.state_dict(), **nets_fixtures.formula_tensors(nets_fixtures.syncnet_specs(model))}
    model_path = os.path.join(work, "syncnet_v2_formula.model")
    torch.save(state, model_path)
    subprocess.run([sys.executable, os.path.join(HERE, "convert_syncnet.py"), model_path, "-o", path], check=True)
    return path


def clip_sets(trajprobe, work, per_identity):
    """96 px as the demo makes them; the re-encodes at 224 px, syncnet_python's crop size, where
    the CLI's fixed 200 kb/s budget quantises hardest."""
    sets = []
    for size, crfs in ((96, ()), (224, (18, 23, 28))):
        base = os.path.join(work, f"demo{size}")
        if not os.path.isdir(os.path.join(base, "clips")):
            subprocess.run([trajprobe, "demo-data", "--output", base, "--size", str(size)], check=True,
                           stderr=subprocess.DEVNULL)
        chosen = os.path.join(work, f"demo{size}_crf12")
        os.makedirs(chosen, exist_ok=True)
        for f in sorted(os.listdir(os.path.join(base, "clips"))):
            if f.endswith(".mp4") and int(f.rsplit("_c", 1)[1][:-4]) < per_identity and not os.path.exists(os.path.join(chosen, f)):
                os.symlink(os.path.join(base, "clips", f), os.path.join(chosen, f))
        clips = sorted(os.path.join(chosen, f) for f in os.listdir(chosen))
        names = {os.path.basename(c) for c in clips}
        sets.append((f"demo {size} px, x264 CRF 12", chosen, names))
        for crf in crfs:
            out = os.path.join(work, f"demo{size}_crf{crf}")
            os.makedirs(out, exist_ok=True)
            for c in clips:
                dst = os.path.join(out, os.path.basename(c))
                if not os.path.exists(dst):
                    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", c, "-c:v", "libx264", "-preset", "medium",
                                    "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "copy", dst], check=True)
            sets.append((f"demo {size} px, x264 CRF {crf}", out, names))
    return sets


def score(trajprobe, directory, w, preset):
    cache = f"{directory}.{preset}.{os.path.basename(w)}.json"
    if not os.path.exists(cache):
        run = subprocess.run([trajprobe, "measure", "sync", directory, "--syncnet", w, "--preset", preset, "--json"],
                             capture_output=True, text=True)
        with open(cache, "w") as f:
            f.write(run.stdout)
    with open(cache) as f:
        data = json.load(f)
    return {os.path.basename(s["file"]): s["result"] for s in data["scores"] if s.get("result")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trajprobe", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--per-identity", type=int, default=1, help="clips per identity in each set (1-5)")
    parser.add_argument("--weights", help="SyncNet-v2 safetensors (tools/convert_syncnet.py); default: the seeded formula network")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    w = args.weights or weights(args.work)
    print("| clips | LSE-C raw | LSE-C JPEG | mean / max abs. ΔLSE-C | LSE-D raw | LSE-D JPEG | mean / max rel. ΔLSE-D | offsets equal |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(2)
    for name, directory, names in clip_sets(args.trajprobe, args.work, args.per_identity):
        raw, jpg = pool.map(lambda p: score(args.trajprobe, directory, w, p), ["syncnet_python", "syncnet_python-jpeg"])
        files = sorted(set(raw) & set(jpg) & names)
        dc = [abs(jpg[f]["lse_c"] - raw[f]["lse_c"]) for f in files]
        dd = [abs(jpg[f]["lse_d"] - raw[f]["lse_d"]) / raw[f]["lse_d"] for f in files]
        same = sum(jpg[f]["offset_frames"] == raw[f]["offset_frames"] for f in files)
        mean = lambda key, d: statistics.mean(d[f][key] for f in files)  # noqa: E731
        print(f"| {name} ({len(files)}) | {mean('lse_c', raw):.3f} | {mean('lse_c', jpg):.3f} | "
              f"{statistics.mean(dc):.3f} / {max(dc):.3f} | {mean('lse_d', raw):.1f} | {mean('lse_d', jpg):.1f} | "
              f"{statistics.mean(dd):.2e} / {max(dd):.2e} | {same}/{len(files)} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
