#!/usr/bin/env python3
"""Convert syncnet_python's SyncNet-v2 weights to the safetensors file trajprobe's SyncNet loader reads.

Input: your `syncnet_v2.model`, the file syncnet_python's download_model.sh fetches
(https://github.com/joonson/syncnet_python, download_model.sh:
 wget http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model).
It is a pickled PyTorch state dict of SyncNetModel.S(num_layers_in_fc_layers=1024); a pickled
module, or a dict with a `__S__.` / `module.` prefix, is accepted too. trajprobe never downloads it.

Output: safetensors with the state dict's names (netcnnaud.*, netfcaud.*, netfclip.*,
netcnnlip.*), float32, `num_batches_tracked` dropped, plus metadata with the input's sha256.
Every tensor's shape is checked against the architecture.

  python tools/convert_syncnet.py data/syncnet_v2.model -o syncnet_v2.safetensors
"""
import argparse
import hashlib
import os
import sys


def expected():
    shapes = {}

    def conv(name, shape):
        shapes[f"{name}.weight"] = tuple(shape)
        shapes[f"{name}.bias"] = (shape[0],)

    def bn(name, c):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{leaf}"] = (c,)

    for i, shape in [(0, [64, 1, 3, 3]), (4, [192, 64, 3, 3]), (8, [384, 192, 3, 3]), (11, [256, 384, 3, 3]),
                     (14, [256, 256, 3, 3]), (18, [512, 256, 5, 4])]:
        conv(f"netcnnaud.{i}", shape)
        bn(f"netcnnaud.{i + 1}", shape[0])
    for prefix in ("netfcaud", "netfclip"):
        conv(f"{prefix}.0", [512, 512])
        bn(f"{prefix}.1", 512)
        conv(f"{prefix}.3", [1024, 512])
    for i, shape in [(0, [96, 3, 5, 7, 7]), (4, [256, 96, 1, 5, 5]), (8, [256, 256, 1, 3, 3]),
                     (11, [256, 256, 1, 3, 3]), (14, [256, 256, 1, 3, 3]), (18, [512, 256, 1, 6, 6])]:
        conv(f"netcnnlip.{i}", shape)
        bn(f"netcnnlip.{i + 1}", shape[0])
    return shapes


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="syncnet_v2.model from syncnet_python's download_model.sh")
    parser.add_argument("-o", "--output", required=True, help="output .safetensors")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow full unpickling if the file is not a plain state dict (trusted files only)")
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file

    if not os.path.exists(args.model):
        sys.exit(f"error: {args.model} not found; get it with syncnet_python's download_model.sh "
                 "(http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model)")
    try:
        obj = torch.load(args.model, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        if not args.allow_pickle:
            sys.exit(f"error: {args.model} is not a plain tensor state dict ({error}); if you trust the file, "
                     "re-run with --allow-pickle")
        obj = torch.load(args.model, map_location="cpu", weights_only=False)
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        sys.exit(f"error: {args.model} holds a {type(obj).__name__}, not a state dict")
    state = {}
    for name, value in obj.items():
        for prefix in ("module.", "__S__."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        state[name] = value
    shapes = expected()
    problems = []
    for name, shape in shapes.items():
        if name not in state:
            problems.append(f"missing {name}")
        elif tuple(state[name].shape) != shape:
            problems.append(f"{name} has shape {tuple(state[name].shape)}, expected {shape}")
    extra = sorted(k for k in state if k not in shapes and not k.endswith("num_batches_tracked"))
    if extra:
        problems.append("unexpected tensors " + ", ".join(extra[:5]))
    if problems:
        sys.exit("error: not a SyncNet-v2 S(num_layers_in_fc_layers=1024) state dict: " + "; ".join(problems))
    tensors = {name: state[name].detach().to(torch.float32).contiguous() for name in shapes}
    metadata = {"format": "trajprobe-syncnet-v2", "source_sha256": sha256(args.model),
                "source_file": os.path.basename(args.model)}
    save_file(tensors, args.output, metadata=metadata)
    print(f"wrote {args.output} ({len(tensors)} tensors), sha256 {sha256(args.output)}")


if __name__ == "__main__":
    main()
