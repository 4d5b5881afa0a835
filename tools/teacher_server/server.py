#!/usr/bin/env python3
"""Reference teacher server for trajprobe: the Open Inference Protocol (KServe v2) REST subset
that `RemoteTeacher` speaks (see protocol.py), wrapping any callable

    predict(x_t: ndarray [B, *S] float32, t: ndarray [B] float32, branch: list[str],
            cond: ndarray [B, D] float32, extras: dict) -> ndarray [B, *S]

Run the self-test model (the analytic teacher in NumPy, reading a bank exported by trajprobe):

    trajprobe teacher export study.yaml -o teacher.safetensors
    .venv/bin/python tools/teacher_server/server.py --model analytic --state teacher.safetensors --port 8000

or your own model (see adapter_wan.py for a diffusers/Wan-style skeleton):

    .venv/bin/python tools/teacher_server/server.py --model my_module:make_model --port 8000

The server prints `listening on HOST:PORT` once it accepts connections (port 0 picks a free one).
Fault injection for tests: --fail-first N (HTTP 500 for the first N infer calls), --delay S,
--malformed-every K (every K-th infer answers broken JSON), --wrong-shape.
"""
import argparse
import importlib
import logging
import sys
import threading
import time

import numpy as np
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from protocol import ProtocolError, build_response, parse_request


class Model:
    """What the server needs of a model: name, prediction kind, shapes, and predict().

    predict(x_t [B, *S] float32, t [B] float32, branch list[str], cond [B, D] float32,
    extras dict) -> [B, *S]; `extras` holds the optional inputs the model declares in
    `extra_inputs` (for example `reference` [B, R] mouth-masked reference frames, `keep_mask`
    [1, H*W], `identity`, `reference_path`, `audio_path` as BYTES [B]).

    encode(frames [B, H*W*C] in [0, 1]) -> states and decode(states) -> frames, when given, are
    served as the models `<name>-encode` and `<name>-decode` (a real teacher's VAE); without them
    the states are the frames themselves (`state_space: pixels`).
    """

    def __init__(self, name, predict, prediction, state_shape, cond_dim, branches=("cond", "neg"),
                 extra_inputs=(), encode=None, decode=None, frame_shape=None, time_datatype="FP32"):
        if prediction not in ("x0", "velocity"):
            raise ValueError("prediction must be x0 or velocity, not %r" % (prediction,))
        self.name, self.predict, self.prediction = name, predict, prediction
        self.state_shape, self.cond_dim, self.branches = list(state_shape), int(cond_dim), list(branches)
        self.extra_inputs = list(extra_inputs)
        self.time_datatype = time_datatype  # FP64 where rounding t to float32 matters (the analytic self-test)
        self.encode, self.decode = encode, decode
        self.frame_shape = list(frame_shape) if frame_shape else None
        if (encode is None) != (decode is None):
            raise ValueError("give both encode and decode, or neither")

    def metadata(self):
        params = {"prediction": self.prediction, "branches": self.branches,
                  "state_space": "encoded" if self.encode else "pixels"}
        if self.encode:
            params["encoder"], params["decoder"] = self.name + "-encode", self.name + "-decode"
        if self.frame_shape:
            params["frame_shape"] = self.frame_shape
        return {
            "name": self.name,
            "versions": ["1"],
            "platform": "trajprobe-teacher",
            "inputs": [
                {"name": "x_t", "datatype": "FP32", "shape": [-1] + self.state_shape},
                {"name": "t", "datatype": self.time_datatype, "shape": [-1]},
                {"name": "branch", "datatype": "BYTES", "shape": [-1]},
                {"name": "cond", "datatype": "FP32", "shape": [-1, self.cond_dim]},
            ] + self.extra_inputs,
            "outputs": [{"name": self.prediction, "datatype": "FP32", "shape": [-1] + self.state_shape}],
            "parameters": params,
        }

    def codec_metadata(self, which):
        frame = [-1, int(np.prod(self.frame_shape))] if self.frame_shape else [-1, -1]
        state = [-1] + self.state_shape
        src, dst = (("frames", frame), ("states", state)) if which == "encode" else (("states", state), ("frames", frame))
        return {"name": "%s-%s" % (self.name, which), "versions": ["1"], "platform": "trajprobe-codec",
                "inputs": [{"name": src[0], "datatype": "FP32", "shape": src[1]}],
                "outputs": [{"name": dst[0], "datatype": "FP32", "shape": dst[1]}]}


def create_app(model, faults):
    app = Flask("trajprobe-teacher")
    state = {"infer_calls": 0}
    lock = threading.Lock()

    def error(status, message):
        return jsonify({"error": message}), status

    @app.get("/v2/health/live")
    def live():
        return jsonify({"live": True})

    @app.get("/v2/health/ready")
    def ready():
        return jsonify({"ready": True})

    @app.get("/v2")
    def server_metadata():
        return jsonify({"name": "trajprobe-teacher-server", "version": "1", "extensions": ["binary_tensor_data"]})

    codecs = {}
    if model.encode:
        codecs[model.name + "-encode"] = ("encode", model.encode, "frames", "states")
        codecs[model.name + "-decode"] = ("decode", model.decode, "states", "frames")

    @app.get("/v2/models/<name>")
    @app.get("/v2/models/<name>/versions/<version>")
    def model_metadata(name, version=None):
        if name == model.name:
            return jsonify(model.metadata())
        if name in codecs:
            return jsonify(model.codec_metadata(codecs[name][0]))
        return error(404, "unknown model %s (this server has %s)" % (name, ", ".join([model.name] + sorted(codecs))))

    @app.get("/v2/models/<name>/ready")
    def model_ready(name):
        if name != model.name and name not in codecs:
            return error(404, "unknown model %s" % name)
        return jsonify({"name": name, "ready": True})

    def injected_fault():
        """The fault injection of the command line, counted over every infer call."""
        with lock:
            state["infer_calls"] += 1
            call = state["infer_calls"]
        if faults.delay > 0:
            time.sleep(faults.delay)
        if call <= faults.fail_first:
            return error(500, "injected failure %d of %d" % (call, faults.fail_first))
        if faults.malformed_every and call % faults.malformed_every == 0:
            return Response(b'{"model_name": "x", "outputs": [', status=200, mimetype="application/json")
        return None

    def respond(name, req, outputs, requested, compute_s):
        body, header_length = build_response(name, req.get("id"), outputs, requested,
                                             parameters={"compute_ms": round(compute_s * 1000, 4)})
        resp = Response(body, status=200, mimetype="application/octet-stream" if header_length else "application/json")
        if header_length is not None:
            resp.headers["Inference-Header-Content-Length"] = str(header_length)
        return resp

    @app.post("/v2/models/<name>/infer")
    @app.post("/v2/models/<name>/versions/<version>/infer")
    def infer(name, version=None):
        if name != model.name and name not in codecs:
            return error(404, "unknown model %s" % name)
        fault = injected_fault()
        if fault is not None:
            return fault
        try:
            req, inputs, requested = parse_request(request.get_data(), request.headers.get("Inference-Header-Content-Length"))
        except ProtocolError as e:
            return error(400, str(e))
        if name in codecs:
            _, fn, src, dst = codecs[name]
            if src not in inputs:
                return error(400, "missing input %s" % src)
            started = time.perf_counter()
            try:
                out = np.asarray(fn(np.asarray(inputs[src], dtype=np.float32)), dtype=np.float32)
            except Exception as e:
                return error(400, "%s failed: %s" % (name, e))
            return respond(name, req, {dst: out}, requested, time.perf_counter() - started)
        try:
            for key in ("x_t", "t", "branch", "cond"):
                if key not in inputs:
                    raise ProtocolError("missing input %s" % key)
            x_t = np.asarray(inputs["x_t"], dtype=np.float32)
            batch = x_t.shape[0]
            if list(x_t.shape[1:]) != model.state_shape:
                raise ProtocolError("x_t shape %s, model expects [B] + %s" % (list(x_t.shape), model.state_shape))
            t = np.asarray(inputs["t"], dtype=np.float64 if model.time_datatype == "FP64" else np.float32).reshape(-1)
            cond = np.asarray(inputs["cond"], dtype=np.float32)
            branch = list(inputs["branch"])
            if t.size != batch or len(branch) != batch or cond.shape != (batch, model.cond_dim):
                raise ProtocolError("batch sizes disagree: x_t %d, t %d, branch %d, cond %s (D=%d)"
                                    % (batch, t.size, len(branch), list(cond.shape), model.cond_dim))
            unknown = sorted(set(branch) - set(model.branches))
            if unknown:
                raise ProtocolError("unknown branch %s (model has %s)" % (unknown, model.branches))
            extras = {}
            for spec in model.extra_inputs:
                if spec["name"] not in inputs:
                    raise ProtocolError("missing input %s" % spec["name"])
                extras[spec["name"]] = inputs[spec["name"]]
        except ProtocolError as e:
            return error(400, str(e))
        started = time.perf_counter()
        try:
            out = np.asarray(model.predict(x_t, t, branch, cond, extras), dtype=np.float32)
        except Exception as e:  # the model itself failed: a server error, retried by clients
            return error(500, "model failed: %s" % e)
        compute = time.perf_counter() - started
        if faults.wrong_shape:
            out = out.reshape(batch, -1)[:, :-1]
        try:
            return respond(model.name, req, {model.prediction: out}, requested, compute)
        except ProtocolError as e:
            return error(400, str(e))

    return app


def make_echo_model(state_shape):
    """x0 = x_t / 2 on any state shape: next to no compute, so a benchmark sees the transport."""
    return Model("echo", lambda x_t, t, branch, cond, extras: x_t * np.float32(0.5), "x0", state_shape, 3,
                 branches=["cond", "neg", "text", "uncond"])


def load_model(spec, args):
    if spec == "echo":
        return make_echo_model([int(v) for v in args.state_shape.split(",")])
    if spec == "analytic":
        if not args.state:
            raise SystemExit("--model analytic needs --state FILE (write it with `trajprobe teacher export`)")
        from analytic_model import make_analytic_model
        return make_analytic_model(args.state)
    module_name, _, factory = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, factory or "make_model")()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="analytic",
                   help="'analytic' (needs --state), 'echo' (transport benchmark) or module:factory returning a Model")
    p.add_argument("--state", help="teacher state for the analytic model (written by `trajprobe teacher export`)")
    p.add_argument("--state-shape", default="64", help="state shape of --model echo, e.g. 16,5,30,52")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--malformed-every", type=int, default=0)
    p.add_argument("--wrong-shape", action="store_true")
    p.add_argument("--access-log", action="store_true", help="print a line per request (werkzeug's log)")
    args = p.parse_args(argv)
    if not args.access_log:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    model = load_model(args.model, args)
    app = create_app(model, args)
    server = make_server(args.host, args.port, app, threaded=True)
    print("listening on %s:%d" % (args.host, server.server_port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.path.insert(0, __import__("os").path.dirname(__file__))
    main()
