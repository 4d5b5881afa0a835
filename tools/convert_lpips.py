#!/usr/bin/env python3
"""Convert LPIPS-AlexNet weights to the one safetensors file trajprobe's LPIPS loader reads.

Inputs (your own files; nothing is downloaded):
  --alexnet  torchvision's ImageNet AlexNet weights, e.g. alexnet-owt-7be5be79.pth
             (torchvision caches it under ~/.cache/torch/hub/checkpoints/ after
             `torchvision.models.alexnet(weights="IMAGENET1K_V1")`; the URL is
             https://download.pytorch.org/models/alexnet-owt-7be5be79.pth).
             A full LPIPS state dict (keys net.slice1.0.weight ...) is accepted too.
  --lin      the lpips package's linear heads, weights/v0.1/alex.pth inside the installed
             `lpips` package (the default when lpips is importable).
Output: a safetensors file with features.{0,3,6,8,10}.{weight,bias} (torchvision names) and
lin{0..4}.model.1.weight (lpips names), float32, plus metadata with the inputs' sha256.

  python tools/convert_lpips.py --alexnet alexnet-owt-7be5be79.pth -o lpips_alex.safetensors
"""
import argparse
import hashlib
import os
import sys

CONVS = [(0, 64, 3, 11), (3, 192, 64, 5), (6, 384, 192, 3), (8, 256, 384, 3), (10, 256, 256, 3)]
CHANNELS = [64, 192, 384, 256, 256]
SLICE_OF = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def expected():
    shapes = {}
    for idx, co, ci, k in CONVS:
        shapes[f"features.{idx}.weight"] = (co, ci, k, k)
        shapes[f"features.{idx}.bias"] = (co,)
    for l, c in enumerate(CHANNELS):
        shapes[f"lin{l}.model.1.weight"] = (1, c, 1, 1)
    return shapes


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_state(path, allow_pickle):
    import torch
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - report why and how to proceed
        if not allow_pickle:
            sys.exit(f"error: {path} is not a plain tensor state dict ({error}); if you trust the file, "
                     "re-run with --allow-pickle")
        obj = torch.load(path, map_location="cpu", weights_only=False)
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        sys.exit(f"error: {path} holds a {type(obj).__name__}, not a state dict")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alexnet", required=True, help="torchvision AlexNet .pth (or a full LPIPS state dict)")
    parser.add_argument("--lin", help="lpips linear heads (default: lpips package weights/v0.1/alex.pth)")
    parser.add_argument("-o", "--output", required=True, help="output .safetensors")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow full unpickling for files that are not plain state dicts (trusted files only)")
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file

    lin_path = args.lin
    if lin_path is None:
        try:
            import lpips
        except ImportError:
            sys.exit("error: pass --lin (the lpips package, which ships weights/v0.1/alex.pth, is not installed)")
        lin_path = os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")

    trunk = load_state(args.alexnet, args.allow_pickle)
    heads = load_state(lin_path, args.allow_pickle)
    tensors = {}
    for name, value in list(trunk.items()) + list(heads.items()):
        if name.startswith("net.slice"):            # LPIPS state dict: net.slice1.0.weight
            _, _, idx, leaf = name.split(".")
            name = f"features.{idx}.{leaf}"
        if name.startswith("lins."):
            name = "lin" + name[len("lins."):]
        if name in expected():
            tensors[name] = value.detach().to(torch.float32).contiguous()
    problems = []
    for name, shape in expected().items():
        if name not in tensors:
            problems.append(f"missing {name}")
        elif tuple(tensors[name].shape) != shape:
            problems.append(f"{name} has shape {tuple(tensors[name].shape)}, expected {shape}")
    if problems:
        sys.exit("error: " + "; ".join(problems))
    metadata = {"format": "trajprobe-lpips-alex-v0.1", "alexnet_sha256": sha256(args.alexnet),
                "lin_sha256": sha256(lin_path), "alexnet_file": os.path.basename(args.alexnet),
                "lin_file": os.path.basename(lin_path)}
    save_file({k: tensors[k] for k in expected()}, args.output, metadata=metadata)
    print(f"wrote {args.output} ({len(tensors)} tensors), sha256 {sha256(args.output)}")


if __name__ == "__main__":
    main()
