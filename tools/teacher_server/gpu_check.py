#!/usr/bin/env python3
"""GPU check of the adapter path (run on a CUDA machine; CI has none):

1. the tiny DiT in fp16 on CUDA agrees with the same weights in fp32 on the CPU;
2. the server, on a loopback port, answers binary FP16 requests of video-sized rows, and the
   client-side time per request is compared with the model's own compute_ms.

    python3 tools/teacher_server/gpu_check.py [--side 64] [--rows 16] [--calls 30]
"""
import argparse
import json
import logging
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
import torch

import adapter_wan
from server import create_app
from werkzeug.serving import make_server


def request_body(x, t, branch, cond):
    specs, blobs = [], []
    for name, arr, dt in (("x_t", x.astype("<f2"), "FP16"), ("t", t.astype("<f4"), "FP32"), ("cond", cond.astype("<f4"), "FP32")):
        raw = arr.tobytes()
        specs.append({"name": name, "shape": list(arr.shape), "datatype": dt, "parameters": {"binary_data_size": len(raw)}})
        blobs.append(raw)
    raw = b"".join(len(s).to_bytes(4, "little") + s.encode() for s in branch)
    specs.append({"name": "branch", "shape": [len(branch)], "datatype": "BYTES", "parameters": {"binary_data_size": len(raw)}})
    blobs.append(raw)
    header = json.dumps({"inputs": specs, "outputs": [{"name": "velocity", "parameters": {"binary_data": True, "datatype": "FP16"}}]}).encode()
    return header + b"".join(blobs), len(header)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--side", type=int, default=64)
    p.add_argument("--rows", type=int, default=16)
    p.add_argument("--calls", type=int, default=30)
    a = p.parse_args()
    assert torch.cuda.is_available(), "no CUDA device"
    print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
    gpu = adapter_wan.make_tiny_model(frame_side=a.side, device="cuda")
    cpu = adapter_wan.make_tiny_model(frame_side=a.side, device="cpu")
    rng = np.random.default_rng(0)
    d = gpu.state_shape[0]
    x = rng.standard_normal((a.rows, d)).astype(np.float32)
    t = np.linspace(0.05, 0.95, a.rows).astype(np.float32)
    cond = rng.standard_normal((a.rows, 3)).astype(np.float32)
    branch = (["cond", "neg"] * a.rows)[:a.rows]
    want = cpu.predict(x, t, branch, cond, {})
    got = gpu.predict(x, t, branch, cond, {})
    err = float(np.abs(got - want).max())
    print("fp16 CUDA vs fp32 CPU: max |diff| %.2e over %d values (|v| max %.2f)" % (err, want.size, float(np.abs(want).max())))
    assert err < 2e-2, "GPU and CPU disagree"

    faults = type("F", (), {"delay": 0, "fail_first": 0, "malformed_every": 0, "wrong_shape": False})()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(gpu, faults), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/v2/models/tiny-wan/infer" % server.server_port
    body, hl = request_body(x, t, branch, cond)

    def call():
        req = urllib.request.Request(url, data=body, headers={"Inference-Header-Content-Length": str(hl)}, method="POST")
        with urllib.request.urlopen(req) as r:
            data = r.read()
            n = int(r.headers["Inference-Header-Content-Length"])
        meta = json.loads(data[:n])
        out = np.frombuffer(data[n:], dtype="<f2").astype(np.float32).reshape(meta["outputs"][0]["shape"])
        return out, meta["parameters"]["compute_ms"]

    out, _ = call()  # warm-up (CUDA kernels, connection)
    assert float(np.abs(out - got).max()) < 2e-3, "server answer differs from the direct call"
    started, compute = time.perf_counter(), 0.0
    for _ in range(a.calls):
        _, ms = call()
        compute += ms
    wall = time.perf_counter() - started
    mb = 2 * a.rows * d * 2 / 1e6
    print("server on CUDA: %d rows of %d latents per request, %.1f req/s, %.1f MB/s fp16, "
          "%.2f ms per call of which model %.2f ms" % (a.rows, d, a.calls / wall, mb * a.calls / wall,
                                                      wall / a.calls * 1000, compute / a.calls))
    server.shutdown()
    print("gpu check ok")


if __name__ == "__main__":
    main()
