#!/usr/bin/env python3
"""The adapter's tensor plumbing on a tiny random PyTorch module (adapter_wan.TinyVideoDiT).

    .venv/bin/python tools/teacher_server/test_adapter.py            # CPU, or CUDA when present
    TRAJPROBE_ADAPTER_DEVICE=cpu .venv/bin/python tools/teacher_server/test_adapter.py

Skipped, with the reason printed, where torch is not installed (CI does not install it).
"""
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch  # noqa: F401
except ImportError:
    torch = None

import numpy as np


@unittest.skipIf(torch is None, "torch is not installed (tools/make_venv.sh --torch)")
class AdapterPlumbingTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import adapter_wan
        from server import create_app

        cls.device = os.environ.get("TRAJPROBE_ADAPTER_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
        cls.model = adapter_wan.make_tiny_model(frame_side=16, device=cls.device)
        cls.tol = 2e-3 if cls.device == "cuda" else 1e-6  # fp16 on the GPU
        rng = np.random.default_rng(0)
        cls.b = 6
        cls.x = rng.standard_normal((cls.b, cls.model.state_shape[0])).astype(np.float32)
        cls.t = np.linspace(0.1, 0.9, cls.b).astype(np.float32)
        cls.cond = rng.standard_normal((cls.b, 3)).astype(np.float32)
        faults = type("F", (), {"delay": 0, "fail_first": 0, "malformed_every": 0, "wrong_shape": False})()
        cls.client = create_app(cls.model, faults).test_client()

    def predict(self, x, t, branch, cond):
        return self.model.predict(x, t, list(branch), cond, {})

    def test_shapes_and_values(self):
        out = self.predict(self.x, self.t, ["cond", "neg", "text", "uncond", "cond", "neg"], self.cond)
        self.assertEqual(out.shape, self.x.shape)
        self.assertEqual(out.dtype, np.float32)
        self.assertTrue(np.all(np.isfinite(out)))
        self.assertGreater(float(np.abs(out).max()), 1e-3)

    def test_rows_are_independent_of_their_batch(self):
        branches = ["cond", "neg", "cond", "uncond", "text", "cond"]
        together = self.predict(self.x, self.t, branches, self.cond)
        for r in range(self.b):
            alone = self.predict(self.x[r:r + 1], self.t[r:r + 1], [branches[r]], self.cond[r:r + 1])
            np.testing.assert_allclose(alone[0], together[r], atol=self.tol)

    def test_branches_get_their_conditioning(self):
        same = ["cond"] * self.b
        cond = self.predict(self.x, self.t, same, self.cond)
        neg = self.predict(self.x, self.t, ["neg"] * self.b, self.cond)
        text = self.predict(self.x, self.t, ["text"] * self.b, self.cond)
        uncond = self.predict(self.x, self.t, ["uncond"] * self.b, self.cond)
        # Drop mode audio-only: the negative branch is p(text, no audio).
        np.testing.assert_allclose(neg, text, atol=self.tol)
        self.assertGreater(float(np.abs(cond - neg).max()), 1e-3)
        self.assertGreater(float(np.abs(text - uncond).max()), 1e-3)
        # The audio enters only the cond branch.
        other = self.predict(self.x, self.t, ["text"] * self.b, self.cond + 1)
        np.testing.assert_allclose(other, text, atol=self.tol)

    def test_codec_round_trip_shapes(self):
        frames = np.random.default_rng(1).random((3, 16 * 16 * 3)).astype(np.float32)
        z = self.model.encode(frames)
        self.assertEqual(z.shape, (3, self.model.state_shape[0]))
        back = self.model.decode(z)
        self.assertEqual(back.shape, frames.shape)
        self.assertTrue(np.all(np.isfinite(back)))

    def infer(self, binary, datatype="FP32"):
        branches = ["cond", "neg", "cond", "neg", "text", "uncond"]
        inputs = [("x_t", "FP32", self.x), ("t", "FP32", self.t), ("cond", "FP32", self.cond)]
        specs, blobs = [], []
        for name, dt, arr in inputs:
            spec = {"name": name, "shape": list(arr.shape), "datatype": dt}
            if binary:
                raw = arr.astype("<f4").tobytes()
                spec["parameters"] = {"binary_data_size": len(raw)}
                blobs.append(raw)
            else:
                spec["data"] = arr.ravel().tolist()
            specs.append(spec)
        spec = {"name": "branch", "shape": [self.b], "datatype": "BYTES"}
        if binary:
            raw = b"".join(struct.pack("<I", len(s)) + s.encode() for s in branches)
            spec["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            spec["data"] = branches
        specs.append(spec)
        header = json.dumps({"inputs": specs, "outputs": [{"name": "velocity", "parameters": {"binary_data": binary, "datatype": datatype}}]}).encode()
        headers = {"Inference-Header-Content-Length": str(len(header))} if binary else {}
        resp = self.client.post("/v2/models/tiny-wan/infer", data=header + b"".join(blobs), headers=headers)
        self.assertEqual(resp.status_code, 200, resp.data[:200])
        body = resp.data
        n = int(resp.headers.get("Inference-Header-Content-Length", len(body)))
        meta = json.loads(body[:n])
        out = meta["outputs"][0]
        if binary:
            arr = np.frombuffer(body[n:], dtype="<f2" if datatype == "FP16" else "<f4").astype(np.float32)
        else:
            arr = np.asarray(out["data"], dtype=np.float32)
        return arr.reshape(out["shape"]), self.predict(self.x, self.t, branches, self.cond), meta

    def test_server_round_trip_binary_json_and_fp16(self):
        got, want, meta = self.infer(binary=True)
        np.testing.assert_allclose(got, want, atol=self.tol)
        self.assertIn("compute_ms", meta["parameters"])
        got, want, _ = self.infer(binary=False)
        np.testing.assert_allclose(got, want, atol=self.tol)
        got, want, _ = self.infer(binary=True, datatype="FP16")
        np.testing.assert_allclose(got, want, atol=2e-3)

    def test_metadata_declares_velocity_and_codec(self):
        meta = self.client.get("/v2/models/tiny-wan").get_json()
        self.assertEqual(meta["outputs"][0]["name"], "velocity")
        self.assertEqual(meta["parameters"]["encoder"], "tiny-wan-encode")
        enc = self.client.get("/v2/models/tiny-wan-encode").get_json()
        self.assertEqual(enc["inputs"][0]["shape"], [-1, 16 * 16 * 3])


if __name__ == "__main__":
    if torch is None:
        print("SKIP adapter plumbing tests: torch is not installed (tools/make_venv.sh --torch installs it)")
    else:
        print("adapter plumbing tests on %s (torch %s)" % (
            os.environ.get("TRAJPROBE_ADAPTER_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"), torch.__version__))
    unittest.main(verbosity=2)
