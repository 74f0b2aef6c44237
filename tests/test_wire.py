import math

import numpy as np
import pytest
import torch

from leedl_grader import codec


def roundtrip(x):
    return codec.decode(codec.encode(x))


def test_plain_data_roundtrips_exactly():
    t = torch.randn(3, 4, dtype=torch.float64)
    data = {"a": [1, 2.5, None, True, "s"], "t": (t, t.float(), torch.arange(5)), 3: 2**80,
            "nan": math.nan, "inf": -math.inf, "half": torch.ones(2, dtype=torch.float16)}
    out = roundtrip(data)
    assert out["a"] == [1, 2.5, None, True, "s"]
    assert isinstance(out["t"], tuple)
    assert torch.equal(out["t"][0], t) and out["t"][0].dtype == torch.float64
    assert out["t"][1].dtype == torch.float32 and out["t"][2].dtype == torch.int64
    assert out[3] == 2**80
    assert math.isnan(out["nan"]) and out["inf"] == -math.inf
    assert out["half"].dtype == torch.float16


def test_noncontiguous_and_meta_tensors():
    t = torch.randn(4, 5).t()
    assert torch.equal(roundtrip(t), t)
    m = roundtrip(torch.empty(2, 3, device="meta"))
    assert m.device.type == "meta" and m.shape == (2, 3)


def test_tensor_subclass_arrives_as_plain_tensor():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    x = torch.zeros(3).as_subclass(Liar)
    out = roundtrip(x)
    assert type(out) is torch.Tensor


def test_numpy_values_become_tensors_and_numbers():
    out = roundtrip([np.float32(1.5), np.int64(3), np.arange(3)])
    assert out[0] == 1.5 and out[1] == 3 and torch.equal(out[2], torch.arange(3))


@pytest.mark.parametrize("value", [object(), lambda: 1, {1.5: 2}, {"a": {1, 2}}])
def test_non_plain_values_are_refused(value):
    with pytest.raises(codec.WireError):
        codec.encode(value)


def test_malformed_messages_never_execute_anything():
    good = codec.encode({"x": torch.ones(3)})
    for bad in [b"", good[:-1], good + b"x", b"\0" * 16, good.replace(b"float32", b"object_")]:
        with pytest.raises(codec.WireError):
            codec.decode(bad)


def test_json_form_keeps_every_bit():
    t = torch.randn(5, dtype=torch.float64)
    import json

    back = codec.from_json(json.loads(json.dumps(codec.to_json({"t": t, "x": (0.1, math.inf)}))))
    assert torch.equal(back["t"], t) and back["x"] == (0.1, math.inf)


def _frame(header: bytes, blobs: bytes = b"", sizes: bytes = b"[]") -> bytes:
    import struct

    return struct.pack("<QQ", len(header), len(sizes)) + header + sizes + blobs


HOSTILE_HEADERS = {
    "deep": b"[" * 200_000 + b"]" * 200_000,
    "deep tags": b'{"tuple": ' * 5000 + b"[]" + b"}" * 5000,
    "wide": b"[" + b"{}," * 1_000_000 + b"{}]",
    "too long": b'"' + b"x" * (codec.MAX_HEADER + 10) + b'"',
    "huge int": b"[" + b"9" * 100_000 + b"]",
    "bad float tag": b'{"d": {"f": 1}}',
    "bad device": b'{"device": "no such device"}',
    "huge shape": b'{"meta": {"dtype": "float32", "shape": [281474976710655, 281474976710655]}}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HEADERS))
def test_hostile_headers_are_refused_cheaply(name):
    """Refused (a WireError, which the judge turns into the student's `crashed`), never an error
    of the judge's own, and decoding never costs more than the frame twice plus 64 MiB."""
    import tracemalloc

    frame = _frame(HOSTILE_HEADERS[name])
    tracemalloc.start()
    try:
        with pytest.raises(codec.WireError):
            codec.decode(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(frame) + (64 << 20), (name, peak)


def test_brackets_inside_strings_are_text_not_structure():
    assert codec.decode(_frame(b'["' + b"[" * 100_000 + b'"]')) == ["[" * 100_000]


def test_the_largest_allowed_header_costs_a_bounded_amount():
    import tracemalloc

    n = codec.MAX_ITEMS // 4 - 10  # {"d": 1.5}, : 4 values each; the most floats a header may hold
    frame = codec.encode([float(i) for i in range(n)])
    tracemalloc.start()
    try:
        assert len(codec.decode(frame)) == n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak


def test_tensor_bytes_are_copied_once():
    import tracemalloc

    t = torch.randn(4 << 20)  # 16 MiB
    frame = bytearray(codec.encode({"t": t}))
    tracemalloc.start()
    try:
        back = codec.decode(frame)["t"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert torch.equal(back, t) and peak < 1.2 * len(frame)


def test_an_oversized_frame_is_refused_from_its_length_alone():
    import socket
    import struct

    from leedl_grader.sandbox.protocol import recv_frame

    a, b = socket.socketpair()
    try:
        a.sendall(struct.pack("<Q", codec.MAX_MESSAGE + 1))
        with pytest.raises(codec.WireError):
            recv_frame(b, deadline=None)
    finally:
        a.close()
        b.close()
