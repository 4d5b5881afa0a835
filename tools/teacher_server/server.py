#!/usr/bin/env python3
"""Reference teacher server for trajprobe: the Open Inference Protocol (KServe v2) REST subset
that `RemoteTeacher` speaks (see protocol.py), wrapping any callable

    predict(x_t: ndarray [B, *S] float32, t: ndarray [B] float32, branch: list[str],
            cond: ndarray [B, D] float32) -> ndarray [B, *S]

Run the self-test model (the analytic teacher in NumPy, reading a bank exported by trajprobe):

    .venv/bin/python tools/teacher_server/server.py --model analytic --bank bank.safetensors --port 8000

or your own model (see adapter_wan.py for a diffusers/Wan-style skeleton):

    .venv/bin/python tools/teacher_server/server.py --model my_module:make_model --port 8000

The server prints `listening on HOST:PORT` once it accepts connections (port 0 picks a free one).
Fault injection for tests: --fail-first N (HTTP 500 for the first N infer calls), --delay S,
--malformed-every K (every K-th infer answers broken JSON), --wrong-shape.
"""
import argparse
import importlib
import sys
import threading
import time

import numpy as np
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from protocol import ProtocolError, build_response, parse_request


class Model:
    """What the server needs of a model: name, prediction kind, shapes, and predict()."""

    def __init__(self, name, predict, prediction, state_shape, cond_dim, branches=("cond", "neg")):
        self.name, self.predict, self.prediction = name, predict, prediction
        self.state_shape, self.cond_dim, self.branches = list(state_shape), int(cond_dim), list(branches)

    def metadata(self):
        return {
            "name": self.name,
            "versions": ["1"],
            "platform": "trajprobe-teacher",
            "inputs": [
                {"name": "x_t", "datatype": "FP32", "shape": [-1] + self.state_shape},
                {"name": "t", "datatype": "FP32", "shape": [-1]},
                {"name": "branch", "datatype": "BYTES", "shape": [-1]},
                {"name": "cond", "datatype": "FP32", "shape": [-1, self.cond_dim]},
            ],
            "outputs": [{"name": self.prediction, "datatype": "FP32", "shape": [-1] + self.state_shape}],
            "parameters": {"prediction": self.prediction, "branches": self.branches},
        }


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

    @app.get("/v2/models/<name>")
    @app.get("/v2/models/<name>/versions/<version>")
    def model_metadata(name, version=None):
        if name != model.name:
            return error(404, "unknown model %s (this server has %s)" % (name, model.name))
        return jsonify(model.metadata())

    @app.get("/v2/models/<name>/ready")
    def model_ready(name):
        if name != model.name:
            return error(404, "unknown model %s" % name)
        return jsonify({"name": name, "ready": True})

    @app.post("/v2/models/<name>/infer")
    @app.post("/v2/models/<name>/versions/<version>/infer")
    def infer(name, version=None):
        if name != model.name:
            return error(404, "unknown model %s" % name)
        with lock:
            state["infer_calls"] += 1
            call = state["infer_calls"]
        if faults.delay > 0:
            time.sleep(faults.delay)
        if call <= faults.fail_first:
            return error(500, "injected failure %d of %d" % (call, faults.fail_first))
        if faults.malformed_every and call % faults.malformed_every == 0:
            return Response(b'{"model_name": "x", "outputs": [', status=200, mimetype="application/json")
        try:
            req, inputs, requested = parse_request(request.get_data(), request.headers.get("Inference-Header-Content-Length"))
            for key in ("x_t", "t", "branch", "cond"):
                if key not in inputs:
                    raise ProtocolError("missing input %s" % key)
            x_t = np.asarray(inputs["x_t"], dtype=np.float32)
            batch = x_t.shape[0]
            if list(x_t.shape[1:]) != model.state_shape:
                raise ProtocolError("x_t shape %s, model expects [B] + %s" % (list(x_t.shape), model.state_shape))
            t = np.asarray(inputs["t"], dtype=np.float32).reshape(-1)
            cond = np.asarray(inputs["cond"], dtype=np.float32)
            branch = list(inputs["branch"])
            if t.size != batch or len(branch) != batch or cond.shape != (batch, model.cond_dim):
                raise ProtocolError("batch sizes disagree: x_t %d, t %d, branch %d, cond %s (D=%d)"
                                    % (batch, t.size, len(branch), list(cond.shape), model.cond_dim))
            unknown = sorted(set(branch) - set(model.branches))
            if unknown:
                raise ProtocolError("unknown branch %s (model has %s)" % (unknown, model.branches))
        except ProtocolError as e:
            return error(400, str(e))
        try:
            out = np.asarray(model.predict(x_t, t, branch, cond), dtype=np.float32)
        except Exception as e:  # the model itself failed: a server error, retried by clients
            return error(500, "model failed: %s" % e)
        if faults.wrong_shape:
            out = out.reshape(batch, -1)[:, :-1]
        try:
            body, header_length = build_response(model.name, req.get("id"), {model.prediction: out}, requested)
        except ProtocolError as e:
            return error(400, str(e))
        resp = Response(body, status=200, mimetype="application/octet-stream" if header_length else "application/json")
        if header_length is not None:
            resp.headers["Inference-Header-Content-Length"] = str(header_length)
        return resp

    return app


def load_model(spec, args):
    if spec == "analytic":
        from analytic_model import make_analytic_model
        return make_analytic_model(args.bank)
    module_name, _, factory = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, factory or "make_model")()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="analytic", help="'analytic' or module:factory returning a Model")
    p.add_argument("--bank", help="bank file for the analytic model (trajprobe teacher export-bank)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--malformed-every", type=int, default=0)
    p.add_argument("--wrong-shape", action="store_true")
    args = p.parse_args(argv)
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
