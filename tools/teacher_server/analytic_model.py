"""The analytic teacher in NumPy: the server's self-test model.

It reads the teacher state that `trajprobe teacher export` writes (a safetensors file: the bank's
states in float64, standardised audio features, the working space, identity ranges, every knob)
and computes the same posterior mean as trajprobe's in-process `AnalyticTeacher`
(Sources/TrajectoryProbe/Teachers/AnalyticTeacher.swift, AnalyticTeacher.md), operation for
operation, in the same precision:

    x0_hat = sum_i pi_i z_i,
    log pi_i = a/s^2 <x_t, z_i> - a^2/(2 s^2) |z_i|^2 + log w_i(c),   a = 1 - s,

with the audio kernel -|q - f_i|^2 / (2 h^2) on the `cond` branch, the identity restriction (or the
masked-reference kernel) on every branch but `uncond`, and `neg` resolved by the drop mode. A
probe through RemoteTeacher against this server stores the same measurements as the in-process
teacher within 1e-5 (the Swift end-to-end test checks it).

Also serves the working space as two models, `<name>-encode` (frames -> states) and
`<name>-decode` (states -> frames): a real teacher's VAE takes their place.
"""
import hashlib
import json
import struct

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # Swift's Float.ulpOfOne


def read_safetensors(path):
    """Minimal safetensors reader (F32, F64, F16, I64): returns (tensors dict, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (%d bytes)" % (path, len(raw)))
    (n,) = struct.unpack_from("<Q", raw, 0)
    if 8 + n > len(raw):
        raise ValueError("%s: header of %d bytes runs past the end of the file" % (path, n))
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8"}
    payload = memoryview(raw)[8 + n:]
    out = {}
    for name, spec in header.items():
        begin, end = spec["data_offsets"]
        if spec["dtype"] not in dtypes:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, spec["dtype"]))
        if end > len(payload):
            raise ValueError("%s: tensor %s is truncated" % (path, name))
        out[name] = np.frombuffer(payload[begin:end], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"])
    return out, meta


class AnalyticTeacher:
    def __init__(self, path):
        t, meta = read_safetensors(path)
        if meta.get("format") != "trajprobe-analytic-teacher-1":
            raise ValueError("%s: not a trajprobe analytic teacher export (format %r)" % (path, meta.get("format")))
        self.name = meta.get("name", "analytic")
        self.states64 = np.ascontiguousarray(t["bank_states"], dtype=np.float64)
        self.states32 = self.states64.astype(np.float32)
        self.norms64 = np.einsum("ij,ij->i", self.states64, self.states64)
        self.norms32 = self.norms64.astype(np.float32)
        self.max_norm = float(meta["max_norm"])
        self.features = np.ascontiguousarray(t["bank_features"], dtype=np.float32)
        self.feature_mean = t["feature_mean"].astype(np.float64)
        self.feature_std = t["feature_std"].astype(np.float64)
        self.space_mean = t["space_mean"].astype(np.float32)
        self.basis = t["space_basis"].astype(np.float32) if "space_basis" in t else None
        self.pixels = t["bank_pixels"].astype(np.float32) if "bank_pixels" in t else None
        self.pixels64 = self.pixels.astype(np.float64) if self.pixels is not None else None
        self.prior_cache = {}
        ids = meta["identities"].split("\n") if meta.get("identities") else []
        self.identity_ranges = {i: (int(s), int(e)) for i, s, e in zip(ids, t["identity_start"], t["identity_end"])}
        self.kappa = float(meta["kappa"])
        self.audio_bandwidth = float(meta["audio_bandwidth"])
        self.drop_mode = meta["drop_mode"]
        self.precision = meta["precision"]
        self.tolerance = float(meta["float32_logit_tolerance"])
        self.identity_prior = meta["identity_prior"]
        self.reference_bandwidth = float(meta.get("reference_bandwidth", "nan"))
        self.frame_shape = [int(v) for v in meta["frame_shape"].split(",")]
        self.frame_size = int(np.prod(self.frame_shape))
        self.count, self.dim = self.states64.shape
        self.feature_count = self.features.shape[1]

    # --- the branch priors -------------------------------------------------------------------
    def resolved(self, branch):
        if branch == "neg":
            return "uncond" if self.drop_mode == "text+audio" else "text"
        return branch

    def visual_prior(self, reference, keep_mask):
        """-|m (r - x_i)|^2 / (2 h^2) with the |m r|^2 row constant dropped: float64, then float32.

        Cached per (reference row, mask): the probe sends a clip's reference with every pass, and
        the prior (one float64 product over the bank's pixels) is the costliest part of a call,
        as it is for the Swift teacher, which computes it once per clip."""
        rows, d = reference.shape
        mask = np.asarray(keep_mask, dtype=np.float32).reshape(-1)
        mask_key = hashlib.blake2b(mask.tobytes(), digest_size=16).digest()
        keys = [mask_key + hashlib.blake2b(reference[r].tobytes(), digest_size=16).digest() for r in range(rows)]
        missing = [r for r in range(rows) if keys[r] not in self.prior_cache]
        if missing:
            channels = d // mask.size
            m = np.repeat(mask, channels)
            masked = (reference[missing].astype(np.float32) * m[None, :]).astype(np.float64)
            pixels = self.pixels64
            out = masked @ pixels.T
            sq = (pixels * pixels * m[None, :].astype(np.float64)).sum(axis=1)
            inv = 1.0 / (2.0 * self.reference_bandwidth * self.reference_bandwidth)
            prior = ((2 * out - sq[None, :]) * inv).astype(np.float32)
            if len(self.prior_cache) > 200000:
                self.prior_cache.clear()
            for i, r in enumerate(missing):
                self.prior_cache[keys[r]] = prior[i]
        return np.stack([self.prior_cache[k] for k in keys])

    def estimated_float32_error(self, x, sigmas):
        n = np.sqrt(np.einsum("ij,ij->i", x.astype(np.float64), x.astype(np.float64)))
        s = sigmas.astype(np.float64)
        return float(np.max(FLOAT32_EPS * (1 - s) * n * self.max_norm / (s * s)))

    def posterior(self, x_t, sigmas, branches, cond, identity=None, reference=None, keep_mask=None):
        """x0 for rows that may each ask for another branch; returns [B, dim] float32."""
        x_t = np.asarray(x_t, dtype=np.float32).reshape(len(sigmas), -1)
        if x_t.shape[1] != self.dim:
            raise ValueError("x_t rows have %d values, the bank's states %d" % (x_t.shape[1], self.dim))
        sigmas = np.asarray(sigmas, dtype=np.float64)
        if np.any(~(sigmas > 0)) or np.any(sigmas > 1):
            raise ValueError("t must lie in (0, 1]")
        kinds = [self.resolved(b) for b in branches]
        if self.precision == "float64":
            use64 = True
        elif self.precision == "float32":
            use64 = False
        else:
            use64 = self.estimated_float32_error(x_t, sigmas) > self.tolerance
        T = np.float64 if use64 else np.float32
        states = self.states64 if use64 else self.states32
        norms = self.norms64 if use64 else self.norms32
        out = np.zeros((len(sigmas), self.dim), dtype=np.float32)
        visual = None
        if self.identity_prior == "masked_reference":
            if reference is None or keep_mask is None:
                raise ValueError("this teacher needs the inputs reference and keep_mask")
            visual = self.visual_prior(np.asarray(reference, dtype=np.float32).reshape(len(sigmas), -1), keep_mask)
        # Rows with the same branch kind and bank range form one kernel evaluation (two matrix
        # products), as in Swift's KernelPlan.
        groups = {}
        for r in range(len(sigmas)):
            kind = kinds[r]
            lo, hi = 0, self.count
            if self.identity_prior == "identity" and kind != "uncond":
                ident = identity[r] if identity is not None else None
                if ident not in self.identity_ranges:
                    raise ValueError("identity %r has no frames in the bank" % (ident,))
                lo, hi = self.identity_ranges[ident]
            groups.setdefault((kind, lo, hi), []).append(r)
        for (kind, lo, hi), rows in groups.items():
            rows = np.asarray(rows)
            s = sigmas[rows]
            a = 1.0 - s
            z = states[lo:hi]
            g = x_t[rows].astype(T) @ z.T
            v = (a / (s * s)).astype(T)[:, None] * g - (a * a / (2 * s * s)).astype(T)[:, None] * norms[lo:hi][None, :]
            if kind == "cond":
                q = ((np.asarray(cond, dtype=np.float32)[rows].astype(np.float64) - self.feature_mean) / self.feature_std).astype(np.float32)
                diff = q[:, None, :] - self.features[None, lo:hi, :]
                d2 = np.einsum("rij,rij->ri", diff, diff, dtype=np.float32)
                inv = 1.0 / (2.0 * self.audio_bandwidth * self.audio_bandwidth)
                v = v + (-(d2.astype(np.float64)) * inv).astype(T)
            if visual is not None:
                v = v + visual[rows, lo:hi].astype(T)
            v = v.astype(T)
            e = np.exp(v - v.max(axis=1, keepdims=True))
            w = e * (T(1) / e.sum(axis=1, keepdims=True, dtype=T))
            out[rows] = (w @ z).astype(np.float32)
        return out

    # --- the working space (the stand-in for a VAE) -----------------------------------------
    def encode(self, frames):
        frames = np.asarray(frames, dtype=np.float32).reshape(-1, self.frame_size)
        centred = np.float32(self.kappa) * (frames - self.space_mean[None, :])
        return centred if self.basis is None else centred @ self.basis

    def decode(self, states):
        states = np.asarray(states, dtype=np.float32).reshape(-1, self.dim)
        out = states if self.basis is None else states @ self.basis.T
        return out * np.float32(1.0 / self.kappa) + self.space_mean[None, :]


def make_analytic_model(path):
    """The server's Model for an exported analytic teacher."""
    from server import Model

    teacher = AnalyticTeacher(path)
    extra = []
    if teacher.identity_prior == "identity":
        extra.append({"name": "identity", "datatype": "BYTES", "shape": [-1]})
    else:
        extra.append({"name": "reference", "datatype": "FP32", "shape": [-1, teacher.frame_size]})
        extra.append({"name": "keep_mask", "datatype": "FP32", "shape": [1, teacher.frame_size // teacher.frame_shape[-1]]})

    def predict(x_t, t, branch, cond, extras):
        return teacher.posterior(x_t, t, branch, cond, identity=extras.get("identity"),
                                 reference=extras.get("reference"), keep_mask=extras.get("keep_mask"))

    return Model(teacher.name, predict, "x0", [teacher.dim], teacher.feature_count,
                 branches=["cond", "neg", "text", "uncond"], extra_inputs=extra,
                 encode=teacher.encode, decode=teacher.decode, frame_shape=teacher.frame_shape, time_datatype="FP64")
