"""Calibration for chapter 2's graded speed and training (not a test).

    python benchmarks/ch02_conv.py [--repeats 7] [--no-train]

Prints, on one thread:
  * the time of each conv2d variant on the graded speed shape (hidden/test_conv.py: SPEED_SHAPE)
    as a median ratio to the reference conv2d, the yardstick of the ``conv_speed`` check:
    unfold + matmul (the reference), Tensor.unfold + einsum, as_strided + tensordot, and a Python
    loop over output positions (the reference conv2d_naive); and the reference's ratio to F.conv2d;
  * the band the check uses, and whether every loop-free variant clears it by 3x and the loop
    exceeds it by 5x;
  * the reference train_digits's wall time and test accuracy for seeds 0, 1 and 2.

Ratios here are measured in one process; the grader's ratio also carries the request's round
trip and the op tracer, which add about 0.5 to a loop-free ratio and make a loop slower still.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leedl_grader.course import chapters as courses  # noqa: E402


def unfold_einsum(x, weight, bias=None, stride=1, padding=0):
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    xp = x.new_zeros(N, C, H + 2 * padding, W + 2 * padding)
    xp[:, :, padding : padding + H, padding : padding + W] = x
    patches = xp.unfold(2, kh, stride).unfold(3, kw, stride)  # (N, C, out_h, out_w, kh, kw)
    out = torch.einsum("nchwuv,ocuv->nohw", patches, weight)
    return out if bias is None else out + bias.reshape(1, O, 1, 1)


def as_strided_tensordot(x, weight, bias=None, stride=1, padding=0):
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    out_h = (H + 2 * padding - kh) // stride + 1
    out_w = (W + 2 * padding - kw) // stride + 1
    xp = x.new_zeros(N, C, H + 2 * padding, W + 2 * padding)
    xp[:, :, padding : padding + H, padding : padding + W] = x
    sn, sc, sh, sw = xp.stride()
    patches = xp.as_strided((N, C, out_h, out_w, kh, kw), (sn, sc, sh * stride, sw * stride, sh, sw))
    out = torch.tensordot(patches, weight, dims=([1, 4, 5], [1, 2, 3])).permute(0, 3, 1, 2)
    return out if bias is None else out + bias.reshape(1, O, 1, 1)


def _time(fn, args, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn(*args)
    return time.perf_counter() - t0


def median_ratio(fn, yardstick, args, repeats, min_time=0.02):
    """Interleaved rounds, as the grader times: median of (fn time / yardstick time)."""
    _time(fn, args, 1)
    _time(yardstick, args, 1)
    n = 1
    while _time(yardstick, args, n) < min_time and n < 1 << 16:
        n *= 2
    first = _time(fn, args, 1)
    if first > 100 * _time(yardstick, args, n) / n:  # a loop: one call is enough to see it
        return first / (_time(yardstick, args, n) / n)
    return statistics.median(_time(fn, args, n) / _time(yardstick, args, n) for _ in range(repeats))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-train", action="store_true")
    opts = ap.parse_args()
    torch.set_num_threads(1)
    chapter = courses.resolve_chapter(ROOT, "ch02")
    ref = courses.load_reference(ROOT, chapter)
    courses.load_suite(chapter, "hidden")
    hidden = courses.suite_module(chapter, "hidden", "test_conv")
    shape, band = hidden.SPEED_SHAPE, hidden.SPEED_BAND

    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape["x"], generator=g)
    w = torch.randn(*shape["weight"], generator=g)
    b = torch.randn(shape["weight"][0], generator=g)
    args = (x, w, b, shape["stride"], shape["padding"])
    want = F.conv2d(*args)
    variants = {
        "unfold + matmul (reference)": ref.conv.conv2d,
        "Tensor.unfold + einsum": unfold_einsum,
        "as_strided + tensordot": as_strided_tensordot,
        "loop over output positions": ref.conv.conv2d_naive,
    }
    print(f"conv2d speed: x {shape['x']}, weight {shape['weight']}, stride {shape['stride']}, "
          f"padding {shape['padding']}, float32, one thread; yardstick = reference conv2d")
    ratios = {}
    for name, fn in variants.items():
        assert torch.allclose(fn(*args), want, atol=1e-4, rtol=1e-4), name
        ratios[name] = median_ratio(fn, ref.conv.conv2d, args, opts.repeats)
        print(f"  {name:32s} ratio {ratios[name]:7.2f}")
    to_torch = median_ratio(ref.conv.conv2d, F.conv2d, args, opts.repeats)
    print(f"  reference / F.conv2d             ratio {to_torch:7.2f}")
    free = max(v for k, v in ratios.items() if not k.startswith("loop"))
    loop = ratios["loop over output positions"]
    print(f"band: full speed points at ratio <= {band:g}; slowest loop-free {free:.2f} "
          f"(margin {band / free:.1f}x, need >= 3), loop {loop:.1f} (margin {loop / band:.1f}x, need >= 5)")

    if opts.no_train:
        return
    hd = courses.suite_module(chapter, "hidden", "test_digits")
    xtr, ytr, xt, yt = hd.digits_split()
    print("train_digits (reference), one thread:")
    for seed in (0, 1, 2):
        t0 = time.perf_counter()
        model = ref.digits.train_digits(xtr, ytr, seed)
        dt = time.perf_counter() - t0
        with torch.no_grad():
            acc = float((model(xt).argmax(1) == yt).double().mean())
            accp = float((model(hd.perturb(xt, torch.Generator().manual_seed(seed))).argmax(1) == yt).double().mean())
        print(f"  seed {seed}: {dt:5.1f} s, test accuracy {acc:.4f}, perturbed copy {accp:.4f} "
              f"(full points at {hd.FULL}, limit {hd.TIME_LIMIT:g} s)")


if __name__ == "__main__":
    main()
