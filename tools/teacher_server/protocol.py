"""Open Inference Protocol (KServe v2) REST subset spoken by trajprobe's RemoteTeacher.

Endpoints:
  GET  /v2/health/live, /v2/health/ready         -> 200 {"live"|"ready": true}
  GET  /v2                                         -> server metadata
  GET  /v2/models/{name}[/versions/{v}]            -> model metadata (inputs, outputs, parameters)
  GET  /v2/models/{name}/ready                     -> 200 {"name", "ready": true}
  POST /v2/models/{name}[/versions/{v}]/infer      -> inference, JSON or binary tensor extension

Tensors (inputs):  x_t FP32|FP16 [B, *state_shape]; t FP32 [B]; branch BYTES [B] ("cond", "neg",
or a two-scale branch "text" = p(t, no audio)); cond FP32 [B, D] (the clip's conditioning, one row
per state); optional inputs a model declares in its metadata: reference FP32 [B, R] (the
mouth-masked reference frame, pixels in [0, 1], HWC), keep_mask FP32 [1, H*W] (1 = shown, 0 =
mouth), identity / reference_path / audio_path BYTES [B]. Output: "x0" or "velocity" (as the model declares) [B, *state_shape], FP32 or FP16
as requested with the output parameter "datatype" (extension), else FP32. Responses carry
"parameters": {"compute_ms": ...}, the model's own time, so clients can measure their overhead.
Models with a VAE also serve `<name>-encode` (frames [B, R] -> states) and `<name>-decode`
(states -> frames), named in the model metadata's parameters `encoder` and `decoder`.

Binary tensor extension: the request body is a JSON header of `Inference-Header-Content-Length`
bytes followed by the raw little-endian tensors, in input order, each input carrying
`"parameters": {"binary_data_size": N}` instead of "data". Outputs requested with
`"parameters": {"binary_data": true}` come back the same way.
"""
import json
import struct

import numpy as np

DTYPES = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64}


class ProtocolError(Exception):
    """A client error: answered with HTTP 400 and {"error": message}."""


def _decode_bytes_tensor(raw, count):
    """BYTES tensors in binary form: each element is a 4-byte little-endian length + bytes."""
    out, off = [], 0
    for _ in range(count):
        if off + 4 > len(raw):
            raise ProtocolError("BYTES tensor truncated")
        (n,) = struct.unpack_from("<I", raw, off)
        off += 4
        out.append(raw[off:off + n].decode("utf-8"))
        off += n
    return out


def _encode_bytes_tensor(items):
    return b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in items)


def parse_request(body, header_length):
    """Returns (inputs: dict name -> np.ndarray | list[str], outputs: list of output request dicts)."""
    if header_length is not None:
        try:
            header_length = int(header_length)
        except ValueError:
            raise ProtocolError("Inference-Header-Content-Length is not an integer")
        if header_length < 0 or header_length > len(body):
            raise ProtocolError("Inference-Header-Content-Length %d exceeds the body (%d bytes)" % (header_length, len(body)))
        header, binary = body[:header_length], body[header_length:]
    else:
        header, binary = body, b""
    try:
        req = json.loads(header)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError("malformed JSON: %s" % e)
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list):
        raise ProtocolError("request has no 'inputs' list")
    inputs, offset = {}, 0
    for spec in req["inputs"]:
        try:
            name, shape, dtype = spec["name"], [int(s) for s in spec["shape"]], spec["datatype"]
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("input needs name, shape and datatype: %r" % (spec,))
        count = int(np.prod(shape)) if shape else 1
        params = spec.get("parameters") or {}
        if "binary_data_size" in params:
            size = int(params["binary_data_size"])
            raw = binary[offset:offset + size]
            if len(raw) != size:
                raise ProtocolError("input %s: binary data truncated (%d of %d bytes)" % (name, len(raw), size))
            offset += size
            if dtype == "BYTES":
                inputs[name] = _decode_bytes_tensor(raw, count)
                continue
            if dtype not in DTYPES:
                raise ProtocolError("input %s: unsupported datatype %s" % (name, dtype))
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<"))
            if arr.size != count:
                raise ProtocolError("input %s: %d values for shape %s" % (name, arr.size, shape))
            inputs[name] = arr.reshape(shape)
        else:
            data = spec.get("data")
            if data is None:
                raise ProtocolError("input %s has neither data nor binary_data_size" % name)
            if dtype == "BYTES":
                flat = list(np.array(data, dtype=object).ravel())
                if len(flat) != count:
                    raise ProtocolError("input %s: %d values for shape %s" % (name, len(flat), shape))
                inputs[name] = [str(s) for s in flat]
                continue
            if dtype not in DTYPES:
                raise ProtocolError("input %s: unsupported datatype %s" % (name, dtype))
            arr = np.asarray(data, dtype=DTYPES[dtype]).ravel()
            if arr.size != count:
                raise ProtocolError("input %s: %d values for shape %s" % (name, arr.size, shape))
            inputs[name] = arr.reshape(shape)
    if offset != len(binary):
        raise ProtocolError("%d trailing bytes after the binary inputs" % (len(binary) - offset))
    return req, inputs, req.get("outputs") or []


def build_response(model_name, request_id, outputs, requested, parameters=None):
    """outputs: dict name -> np.ndarray. Returns (body bytes, header length or None)."""
    wanted = {o.get("name"): (o.get("parameters") or {}) for o in requested} if requested else {}
    binary_parts, out_specs = [], []
    any_binary = False
    for name, arr in outputs.items():
        params = wanted.get(name, {})
        dtype = params.get("datatype", "FP32")
        if dtype not in ("FP32", "FP16"):
            raise ProtocolError("output %s: unsupported datatype %s" % (name, dtype))
        a = np.ascontiguousarray(arr, dtype=DTYPES[dtype])
        spec = {"name": name, "shape": list(a.shape), "datatype": dtype}
        if params.get("binary_data"):
            raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
            spec["parameters"] = {"binary_data_size": len(raw)}
            binary_parts.append(raw)
            any_binary = True
        else:
            spec["data"] = a.astype(np.float64).ravel().tolist()
        out_specs.append(spec)
    resp = {"model_name": model_name, "outputs": out_specs}
    if parameters:
        resp["parameters"] = parameters
    if request_id is not None:
        resp["id"] = request_id
    header = json.dumps(resp, separators=(",", ":")).encode()
    if any_binary:
        return header + b"".join(binary_parts), len(header)
    return header, None
