"""Numerical comparison with diffs a student can act on.

``assert_close`` walks nested plain data (tensors, numbers, lists, tuples, dicts) and raises
:class:`CheckFailed` at the first difference, naming where it is (``steps[3].params[1]``), the
shapes and dtypes, the max absolute and relative error, the index of the worst element and the
tolerance used.
"""

from __future__ import annotations

import math

import torch

from .checks import CheckFailed


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def tensor_diff(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float) -> str | None:
    """None when close; else a one-paragraph description of the difference."""
    got = got.detach().cpu()
    want = want.detach().cpu()
    if got.shape != want.shape:
        return f"shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {str(got.dtype).replace('torch.', '')}, expected {str(want.dtype).replace('torch.', '')}"
    if got.numel() == 0:
        return None
    if got.dtype == torch.bool or not (got.is_floating_point() or got.is_complex()):
        bad = got != want
        if not bool(bad.any()):
            return None
        idx = tuple(int(i) for i in bad.nonzero()[0])
        n = int(bad.sum())
        return (
            f"{n} of {got.numel()} values differ (exact match required); first at index {list(idx)}: "
            f"got {got[idx].item()}, expected {want[idx].item()}"
        )
    g, w = got.to(torch.float64), want.to(torch.float64)
    nan_mismatch = torch.isnan(g) != torch.isnan(w)
    if bool(nan_mismatch.any()):
        idx = tuple(int(i) for i in nan_mismatch.nonzero()[0])
        return (f"NaN where a number was expected (or the reverse) at index {list(idx)}: "
                f"got {g[idx].item()}, expected {w[idx].item()}")
    both_nan = torch.isnan(g) & torch.isnan(w)
    inf_same = torch.isinf(w) & (g == w)
    err = (g - w).abs()
    err = torch.where(both_nan | inf_same, torch.zeros_like(err), err)
    err = torch.nan_to_num(err, nan=math.inf)
    allowed = atol + rtol * w.abs()
    allowed = torch.where(torch.isinf(w), torch.zeros_like(allowed), allowed)
    bad = err > allowed
    if not bool(bad.any()):
        return None
    excess = torch.where(bad, err - allowed, torch.zeros_like(err))
    flat = int(excess.flatten().argmax())
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), g.shape)) if g.dim() else ()
    rel = err / w.abs().clamp_min(1e-300)
    return (
        f"{int(bad.sum())} of {g.numel()} values out of tolerance; max abs error {_fmt(err.max().item())}, "
        f"max rel error {_fmt(rel[~both_nan].max().item()) if bool((~both_nan).any()) else 'n/a'}; "
        f"worst at index {list(idx)}: got {g[idx].item():.10g}, expected {w[idx].item():.10g} "
        f"(tolerance: atol={_fmt(atol)}, rtol={_fmt(rtol)}; shape {tuple(g.shape)}, "
        f"dtype {str(got.dtype).replace('torch.', '')})"
    )


def first_difference(got, want, *, rtol: float, atol: float, path: str = "") -> str | None:
    """Where nested ``got`` first differs from ``want``, as a message; None if close."""
    where = path or "output"
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{where}: expected a tensor, got {_type(got)}"
        d = tensor_diff(got, want, rtol, atol)
        return f"{where}: {d}" if d else None
    if isinstance(want, bool) or want is None or isinstance(want, str):
        if got != want or type(got) is not type(want):
            return f"{where}: got {_short(got)}, expected {_short(want)}"
        return None
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"{where}: expected a number, got {_type(got)}"
        if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, float) and rtol == 0 and atol == 0:
            return f"{where}: expected an int, got a float ({got!r})"
        if math.isnan(want) and math.isnan(got):
            return None
        if got == want:
            return None
        if not (abs(got - want) <= atol + rtol * abs(want)):
            return (
                f"{where}: got {got!r}, expected {want!r} (abs error {_fmt(abs(got - want))}; "
                f"tolerance: atol={_fmt(atol)}, rtol={_fmt(rtol)})"
            )
        return None
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{where}: expected a sequence of {len(want)}, got {_type(got)}"
        if len(got) != len(want):
            return f"{where}: length {len(got)}, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            d = first_difference(g, w, rtol=rtol, atol=atol, path=f"{where}[{i}]")
            if d:
                return d
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{where}: expected a mapping, got {_type(got)}"
        missing = [k for k in want if k not in got]
        if missing:
            return f"{where}: missing key {missing[0]!r}"
        for k in want:
            d = first_difference(got[k], want[k], rtol=rtol, atol=atol, path=f"{where}.{k}" if path else str(k))
            if d:
                return d
        return None
    raise TypeError(f"cannot compare expected value of type {type(want).__name__}")


def assert_close(got, want, *, rtol: float, atol: float, what: str = "") -> None:
    """Raise CheckFailed with a numerical diff unless ``got`` matches ``want`` within tolerance."""
    d = first_difference(got, want, rtol=rtol, atol=atol, path=what)
    if d:
        raise CheckFailed(d)


def assert_equal(got, want, *, what: str = "") -> None:
    assert_close(got, want, rtol=0.0, atol=0.0, what=what)


def _type(x) -> str:
    return "None" if x is None else type(x).__name__


def _short(x) -> str:
    s = repr(x)
    return s if len(s) <= 80 else s[:77] + "..."
