#!/usr/bin/env python3
"""Loads the trainer configs `trajprobe schedule --target …` writes with each trainer's own
loader and reads the values back the way the trainer's code reads them.

Usage: check_profiles.py DIR
DIR holds, per case, `<case>.json` (what was meant: exact t_list, per-step guidance w in the
uncond form, transition, shift, window, target) and the written `<case>.yaml` and `<case>.py`.
Prints one line per case and exits 1 on the first mismatch.

Loaders (read in the trainers' public repositories; none of their code is copied here):
- lipforcing / fastgen: Python attrs configs turned into an OmegaConf DictConfig; a YAML or
  override merges into it. Checked with OmegaConf in struct mode over the schema of the keys
  written (lipforcing/configs/config.py, fastgen/configs/config.py: BaseModelConfig,
  SampleTConfig, SyncWindowCFGConfig), so a key the trainer does not have fails the merge.
- self-forcing: `OmegaConf.load(config_path)` merged over configs/default_config.yaml (train.py).
- causvid: `OmegaConf.load(args.config_path)` (causvid/train_distillation.py).
- fastvideo: `yaml.safe_load` (fastvideo/train/utils/config.py: load_run_config).
"""

import ast
import json
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf


def fail(case, problem):
    print(f"FAIL {case}: {problem}")
    sys.exit(1)


def shifted(u, s):
    """t = s u / (1 + (s - 1) u): the flow-matching shift every one of these trainers applies."""
    return s * u / (1 + (s - 1) * u)


def warped_times(steps, s):
    """`timesteps[1000 - k]` of FlowMatchScheduler(shift=s, sigma_min=0, extra_one_step=True)
    with 1000 training steps and a 0 appended (Self-Forcing model/base.py, CausVid causvid/dmd.py,
    FastVideo dmd2.py `_get_denoising_step_list`): sigmas = linspace(1, 0, 1001)[:-1], shifted,
    times 1000."""
    sigmas = np.linspace(1.0, 0.0, 1001)[:-1]
    timesteps = np.concatenate([shifted(sigmas, s) * 1000, [0.0]])
    return np.array([timesteps[1000 - int(k)] for k in steps]) / 1000


def check_times(case, got, meant, shift, warped):
    """`got` (times in [0, 1] the trainer evaluates) against trajprobe's exact `meant` (without
    the final 0). Bounds: an integer k on the 0..1000 scale is within 0.5 of 1000 u (warped) or
    of 1000 t (direct), so |Δt| ≤ 0.0005 · dt/du (warped) or 0.0005; the first step is pure
    noise, written 1000 (t = 1) where trajprobe's t_0 is max_t."""
    if len(got) != len(meant):
        fail(case, f"{len(got)} steps, meant {len(meant)}")
    for i, (g, t) in enumerate(zip(got, meant)):
        if i == 0:
            if abs(g - 1.0) > 1e-9:
                fail(case, f"first step at t={g}, expected the pure-noise 1.0")
            continue
        u = t / (shift - (shift - 1) * t)
        bound = 0.0005 * (shift / (1 + (shift - 1) * u) ** 2 if warped else 1.0) + 1e-9
        if abs(g - t) > bound:
            fail(case, f"step {i}: trainer time {g:.6f} vs meant {t:.6f} (bound {bound:.6f})")


def check_guidance(case, combine, w):
    """The trainer's CFG combination with its scale equals neg + w (cond - neg)."""
    rng = np.random.default_rng(7)
    cond, neg = rng.normal(size=64), rng.normal(size=64)
    got = combine(cond, neg)
    want = neg + w * (cond - neg)
    if not np.allclose(got, want, rtol=0, atol=1e-12 * (1 + abs(w)) * 8):
        fail(case, f"CFG combination differs from neg + {w} (cond - neg)")


def python_tree(text, prefix):
    """`prefix.a.b = literal` lines into a nested dict (every key and nesting they carry)."""
    tree = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        node = ast.parse(line).body[0]
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            raise ValueError(f"not an assignment: {line}")
        path = []
        t = node.targets[0]
        while isinstance(t, ast.Attribute):
            path.append(t.attr)
            t = t.value
        path.append(t.id)
        path.reverse()
        if ".".join(path[: len(prefix.split("."))]) != prefix:
            raise ValueError(f"line outside {prefix}: {line}")
        keys = path[len(prefix.split(".")):]
        value = eval(compile(ast.Expression(node.value), "<line>", "eval"), {"dict": dict, "float": float})
        d = tree
        for k in keys[:-1]:
            d = d.setdefault(k, {})
        d[keys[-1]] = value
    return tree


def same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    return a == b


def fastgen_schema(with_sync_window):
    """The attrs defaults of the keys a FastGen-style config has (config.py), as a struct DictConfig."""
    model = {
        "guidance_scale": None,
        "student_sample_steps": 1,
        "student_sample_type": "sde",
        "sample_t_cfg": {"time_dist_type": "uniform", "train_p_mean": -1.1, "train_p_std": 2.0, "shift": 5.0,
                         "min_t": 0.002, "max_t": 80.0, "t_list": None, "log_t_df": 0.01},
    }
    if with_sync_window:
        model["sync_window_cfg"] = {"enabled": False, "t_lo": 0.0, "t_hi": 1.0, "reverse": False}
    cfg = OmegaConf.create({"model": model})
    OmegaConf.set_struct(cfg, True)
    return cfg


def check_fastgen_like(case, meant, yaml_path, py_text):
    target = meant["target"]
    loaded = OmegaConf.load(yaml_path)
    try:
        cfg = OmegaConf.merge(fastgen_schema(target == "lipforcing"), loaded)
    except Exception as e:  # a key the trainer's config classes do not have
        fail(case, f"does not merge into the {target} config schema: {e}")
    # The Python form runs as the experiment configs' create_config() lines do.
    config = fastgen_schema(target == "lipforcing")
    try:
        exec(py_text, {"config": config})
    except Exception as e:
        fail(case, f"python lines do not apply to the {target} config: {e}")
    if OmegaConf.to_container(config) != OmegaConf.to_container(cfg):
        fail(case, "python lines and YAML set different values")
    m = cfg.model
    t_list = list(m.sample_t_cfg.t_list)
    if len(t_list) != m.student_sample_steps + 1 or t_list[-1] != 0:
        fail(case, f"t_list {t_list} does not fit student_sample_steps {m.student_sample_steps}")
    if any(abs(a - b) > 0.0005 + 1e-12 for a, b in zip(t_list, meant["t_list"])):
        fail(case, f"t_list {t_list} vs meant {meant['t_list']}")
    if m.sample_t_cfg.shift != meant["shift"] or m.sample_t_cfg.time_dist_type != "shifted":
        fail(case, "sample_t_cfg shift / time_dist_type")
    if m.student_sample_type != ("sde" if meant["transition"] == "renoise" else "ode"):
        fail(case, f"student_sample_type {m.student_sample_type} for transition {meant['transition']}")
    w = meant["w"]
    g = m.guidance_scale
    check_guidance(case, lambda c, n: c + (g - 1) * (c - n), w)      # dmd2.py _apply_classifier_free_guidance
    if target == "lipforcing":
        sw = m.sync_window_cfg
        if not sw.enabled or abs(sw.t_lo - meant["t_lo"]) > 0.0005 or abs(sw.t_hi - meant["t_hi"]) > 0.0005:
            fail(case, f"sync window [{sw.t_lo}, {sw.t_hi}] vs [{meant['t_lo']}, {meant['t_hi']}]")
        # SW-DMD gating as dmd2.py does it: w inside [t_lo, t_hi], 1 outside.
        for t in (sw.t_lo - 0.01, sw.t_lo, sw.t_hi, sw.t_hi + 0.01):
            scale = g if (sw.t_lo <= t <= sw.t_hi) != sw.reverse else 1.0
            want = w if meant["t_lo"] - 1e-9 <= t <= meant["t_hi"] + 1e-9 else 1.0
            if abs(scale - want) > 1e-12:
                fail(case, f"sync window gives scale {scale} at t={t}, meant {want}")
    return f"t_list {t_list}, guidance_scale {g}, {m.student_sample_type}"


def main():
    directory = Path(sys.argv[1])
    cases = sorted(directory.glob("*.json"))
    if not cases:
        fail(str(directory), "no cases")
    for meta in cases:
        case = meta.stem
        meant = json.loads(meta.read_text())
        target = meant["target"]
        yaml_path = directory / f"{case}.yaml"
        py_text = (directory / f"{case}.py").read_text()
        exact = meant["t_list"][:-1]
        s = meant["shift"]
        w = meant["w"]
        if not same(python_tree(py_text, "config"), yaml.safe_load(yaml_path.read_text())):
            fail(case, "the python lines do not carry the YAML's keys, nesting and values")

        if target in ("lipforcing", "fastgen"):
            summary = check_fastgen_like(case, meant, yaml_path, py_text)
        elif target == "self-forcing":
            base = OmegaConf.create({"warp_denoising_step": False, "model_kwargs": {"timestep_shift": 8.0}})
            args = OmegaConf.merge(base, OmegaConf.load(yaml_path))
            steps = [int(k) for k in args.denoising_step_list]                 # torch.tensor(..., dtype=long)
            if not args.warp_denoising_step or 0 in steps:
                fail(case, "warp_denoising_step must be true and the list without 0")
            check_times(case, warped_times(steps, args.model_kwargs.timestep_shift), exact, s, warped=True)
            if args.timestep_shift != s:
                fail(case, f"timestep_shift {args.timestep_shift}")
            g = args.guidance_scale                                             # real_guidance_scale
            check_guidance(case, lambda c, n: c + (c - n) * g, w)
            summary = f"denoising_step_list {steps}, guidance_scale {g}"
        elif target == "causvid":
            args = OmegaConf.load(yaml_path)
            steps = [int(k) for k in args.denoising_step_list]
            if steps[-1] != 0:                                                  # causal_inference.py asserts it
                fail(case, "denoising_step_list must end in 0")
            steps = steps[:-1]
            times = warped_times(steps, 8.0) if args.warp_denoising_step else np.array(steps) / 1000
            check_times(case, times, exact, s, warped=False)
            g = args.real_guidance_scale
            check_guidance(case, lambda c, n: c + (c - n) * g, w)
            summary = f"denoising_step_list {steps + [0]}, real_guidance_scale {g}"
        elif target == "fastvideo":
            raw = yaml.safe_load(yaml_path.read_text())
            method = raw["method"]
            steps = [int(k) for k in method.get("dmd_denoising_steps")]
            warp = bool(method.get("warp_denoising_step") or False)
            shift = float(raw["pipeline"]["flow_shift"])
            times = warped_times(steps, shift) if warp else np.array(steps) / 1000
            check_times(case, times, exact, s, warped=warp)
            g = float(method["real_score_guidance_scale"])                      # get_optional_float
            check_guidance(case, lambda c, n: n + (c - n) * g, w)
            if method.get("student_sample_type", "sde") != ("sde" if meant["transition"] == "renoise" else "ode"):
                fail(case, "student_sample_type")
            summary = f"dmd_denoising_steps {steps}, real_score_guidance_scale {g}"
        else:
            fail(case, f"unknown target {target}")
        print(f"ok {case}: {summary}")


if __name__ == "__main__":
    main()
