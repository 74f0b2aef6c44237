"""Plain data across the judge/student boundary and in files (results, public data), without pickle.

A message is a JSON header followed by raw tensor bytes. Decoding only ever builds None, bools,
ints, floats, strings, lists, tuples, dicts with string keys and dense tensors of an allowed
dtype, whatever bytes arrive: the student's process cannot make the judge run code, and a tensor
subclass cannot cross (the judge rebuilds every tensor from bytes with ``numpy.frombuffer``).

Whatever arrives costs the judge little: a frame is at most ``MAX_MESSAGE`` bytes (refused from
its length prefix, before anything is allocated), its header at most ``MAX_HEADER`` bytes with
at most ``MAX_ITEMS`` JSON values nested at most ``MAX_JSON_DEPTH`` deep, all three measured by
a linear scan of the bytes before the header is parsed. So decoding costs the frame once, each
tensor's bytes once more, and at most a few hundred bytes per header value (tens of MiB in all);
anything else is a :class:`WireError`, never an exception of the judge's own.
"""

from __future__ import annotations

import json
import math
import re
import struct

import numpy as np
import torch

MAX_MESSAGE = 256 * 1024 * 1024  # bytes: a bigger frame is refused before it is allocated
MAX_HEADER = 4 * 1024 * 1024  # bytes of JSON structure (tensors travel apart, as raw bytes)
MAX_ITEMS = 250_000  # JSON values of a header (a Python list of ~80 000 floats)
MAX_DEPTH = 64  # nesting of the plain data itself
MAX_JSON_DEPTH = 3 * (MAX_DEPTH + 1) + 2  # each level of plain data is at most 3 of JSON ({"dict": [[k, v]]})
MAX_DIMS = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_DTYPES = {
    "float64": (torch.float64, np.float64),
    "float32": (torch.float32, np.float32),
    "float16": (torch.float16, np.float16),
    "int64": (torch.int64, np.int64),
    "int32": (torch.int32, np.int32),
    "int16": (torch.int16, np.int16),
    "int8": (torch.int8, np.int8),
    "uint8": (torch.uint8, np.uint8),
    "bool": (torch.bool, np.bool_),
    "complex128": (torch.complex128, np.complex128),
}
_NAME_OF = {torch_dtype: name for name, (torch_dtype, _) in _DTYPES.items()}


class WireError(ValueError):
    """A message that is not well-formed plain data."""


def dtype_name(dtype: torch.dtype) -> str:
    try:
        return _NAME_OF[dtype]
    except KeyError:
        raise WireError(f"tensors of dtype {dtype} cannot be sent") from None


def dtype_from_name(name: str) -> torch.dtype:
    try:
        return _DTYPES[name][0]
    except KeyError:
        raise WireError(f"unknown dtype {name!r}") from None


def _float(x: float):
    if math.isfinite(x):
        return x
    return {"f": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def encode(obj) -> bytes:
    blobs: list[bytes] = []

    def enc(x, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("structure nested too deeply")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return {"i": str(int(x))}  # exact, whatever its size
        if isinstance(x, float):
            return {"d": _float(float(x))}
        if isinstance(x, (np.integer,)):
            return {"i": str(int(x))}
        if isinstance(x, (np.floating,)):
            return {"d": _float(float(x))}
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        if isinstance(x, torch.Tensor):
            t = torch.Tensor.detach(x)
            head = {
                "dtype": dtype_name(t.dtype),
                "shape": list(t.shape),
                "device": str(t.device),
            }
            if t.device.type == "meta":
                return {"meta": head}
            t = t.cpu().contiguous()
            if t.dtype is torch.float16:
                raw = t.view(torch.int16).numpy().tobytes()
            else:
                raw = t.numpy().tobytes()
            head["blob"] = len(blobs)
            blobs.append(raw)
            return {"tensor": head}
        if isinstance(x, torch.dtype):
            return {"dtype": dtype_name(x)}
        if isinstance(x, torch.device):
            return {"device": str(x)}
        if isinstance(x, tuple):
            return {"tuple": [enc(v, depth + 1) for v in x]}
        if isinstance(x, list):
            return [enc(v, depth + 1) for v in x]
        if isinstance(x, dict):
            items = []
            for k, v in x.items():
                if not isinstance(k, (str, int)):
                    raise WireError(f"dict keys must be str or int, not {type(k).__name__}")
                items.append([enc(k, depth + 1), enc(v, depth + 1)])
            return {"dict": items}
        raise WireError(f"cannot send a value of type {type(x).__name__}")

    header = json.dumps(enc(obj), allow_nan=False).encode()
    sizes = [len(b) for b in blobs]
    meta = json.dumps(sizes).encode()
    return b"".join([struct.pack("<QQ", len(header), len(meta)), header, meta, *blobs])


def _structure(header: bytes) -> tuple[int, int]:
    """(JSON values, nesting depth) of a header, from one linear pass over its bytes.

    String literals are blanked first, so brackets inside strings do not count; the counts are
    upper bounds of what ``json.loads`` would build."""
    bare = np.frombuffer(_STRING.sub(b'""', header), dtype=np.uint8)
    if bare.size == 0:
        return 0, 0
    opens = (bare == ord("[")) | (bare == ord("{"))
    closes = (bare == ord("]")) | (bare == ord("}"))
    depth = int(np.cumsum(opens.astype(np.int32) - closes.astype(np.int32)).max())
    items = int(opens.sum() + (bare == ord(",")).sum() + (bare == ord(":")).sum()) + 1
    return items, depth


def decode(data: bytes | bytearray | memoryview, *, device: str | torch.device | None = None):
    """Decode a message; tensors are placed on ``device`` (default: where they came from).

    Anything malformed, too large, too many or too deep raises :class:`WireError`."""
    if len(data) < 16:
        raise WireError("truncated message")
    hlen, mlen = struct.unpack_from("<QQ", data, 0)
    if 16 + hlen + mlen > len(data):
        raise WireError("truncated message")
    if hlen + mlen > MAX_HEADER:
        raise WireError(f"header of {hlen + mlen} bytes (at most {MAX_HEADER} allowed)")
    head_bytes = bytes(data[16 : 16 + hlen])
    items, depth = _structure(head_bytes)
    if items > MAX_ITEMS:
        raise WireError(f"too many values ({items}; at most {MAX_ITEMS})")
    if depth > MAX_JSON_DEPTH:
        raise WireError("structure nested too deeply")
    try:
        header = json.loads(head_bytes)
        sizes = json.loads(bytes(data[16 + hlen : 16 + hlen + mlen]))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WireError(f"malformed header: {str(exc)[:200]}") from None
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise WireError("malformed blob table")
    offsets, pos = [], 16 + hlen + mlen
    for s in sizes:
        offsets.append((pos, pos + s))
        pos += s
    if pos != len(data):
        raise WireError("blob table does not match the message size")
    try:
        return _decode_value(header, data, offsets, device)
    except WireError:
        raise
    except (ValueError, TypeError, OverflowError, RuntimeError, RecursionError, MemoryError) as exc:
        raise WireError(f"malformed value ({type(exc).__name__})") from None


def _decode_value(header, data, offsets, device):
    def tensor(head):
        if not isinstance(head, dict):
            raise WireError("malformed tensor")
        dt = head.get("dtype")
        if dt not in _DTYPES:
            raise WireError(f"unknown dtype {dt!r}")
        shape = head.get("shape")
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(type(s) is int and 0 <= s < 1 << 48 for s in shape)):
            raise WireError("malformed shape")
        numel = math.prod(shape)
        if numel >= 1 << 56:
            raise WireError("malformed shape")
        torch_dtype, np_dtype = _DTYPES[dt]
        where = device if device is not None else head.get("device", "cpu")
        if "blob" not in head:  # a meta tensor: shape and dtype only
            return torch.empty(shape, dtype=torch_dtype, device="meta")
        b = head["blob"]
        if not isinstance(b, int) or not 0 <= b < len(offsets):
            raise WireError("bad blob reference")
        lo, hi = offsets[b]
        if hi - lo != numel * np.dtype(np_dtype).itemsize:
            raise WireError("tensor size does not match its shape")
        if np_dtype is np.float16:
            arr = np.frombuffer(data, dtype=np.int16, count=numel, offset=lo).copy()
            t = torch.from_numpy(arr).view(torch.float16)
        else:
            arr = np.frombuffer(data, dtype=np_dtype, count=numel, offset=lo).copy()
            t = torch.from_numpy(arr)
        t = t.reshape(shape)
        return t if str(where) == "cpu" else t.to(where)

    def dec(x, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("structure nested too deeply")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, list):
            return [dec(v, depth + 1) for v in x]
        if isinstance(x, dict) and len(x) == 1:
            (tag, v), = x.items()
            if tag == "i" and isinstance(v, str):
                if len(v) > 400:
                    raise WireError("integer too large")
                return int(v)
            if tag == "d":
                if isinstance(v, dict) and v.get("f") in _FLOATS and len(v) == 1:
                    return _FLOATS[v["f"]]
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return float(v)
            if tag == "tensor":
                return tensor(v)
            if tag == "meta":
                return tensor(v)
            if tag == "dtype" and isinstance(v, str):
                return dtype_from_name(v)
            if tag == "device" and isinstance(v, str) and len(v) < 64:
                return torch.device(v)
            if tag == "tuple" and isinstance(v, list):
                return tuple(dec(e, depth + 1) for e in v)
            if tag == "dict" and isinstance(v, list):
                out = {}
                for pair in v:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise WireError("malformed dict")
                    k = dec(pair[0], depth + 1)
                    if not isinstance(k, (str, int)):
                        raise WireError("malformed dict key")
                    out[k] = dec(pair[1], depth + 1)
                return out
        raise WireError("malformed value")

    return dec(header)


# --- readable JSON form, for data files shipped beside public tests ---------------------------


def to_json(obj):
    """A JSON-able form of plain data; floats keep every bit (Python's repr round-trips)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        return {"__tensor__": dtype_name(t.dtype), "shape": list(t.shape), "data": t.flatten().tolist()}
    if isinstance(obj, tuple):
        return {"__tuple__": [to_json(v) for v in obj]}
    if isinstance(obj, list):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    raise WireError(f"cannot store a value of type {type(obj).__name__}")


def from_json(obj):
    if isinstance(obj, list):
        return [from_json(v) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            dtype = dtype_from_name(obj["__tensor__"])
            return torch.tensor(obj["data"], dtype=dtype).reshape(obj["shape"])
        if "__tuple__" in obj:
            return tuple(from_json(v) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        return {k: from_json(v) for k, v in obj.items()}
    return obj
