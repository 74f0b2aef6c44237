"""Helpers for check authors, shared by every chapter: inputs drawn from a check's generator,
tolerances by dtype, modules with given weights, and the judge's own gradients.

Every random draw takes the generator of ``ctx.generator(stream)``, so a seed reproduces a grade
and another seed varies the values (never which cases are covered). Values are drawn in float64
and then cast, so a float32 case holds the float64 case's numbers, rounded.
"""

from __future__ import annotations

import importlib
import math

import torch

F64, F32 = torch.float64, torch.float32
DTYPES = {"float64": F64, "float32": F32}


def randn(g: torch.Generator, *shape, dtype=F64, device="cpu", scale: float = 1.0, shift: float = 0.0):
    """``shift + scale · N(0, 1)`` of ``shape`` (sizes, or one tuple: ``()`` for a 0-d tensor),
    drawn in float64, then cast to ``dtype`` on ``device``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        shape = tuple(shape[0])
    return (shift + scale * torch.randn(shape, generator=g, dtype=F64)).to(dtype=dtype, device=device)


def randint(g: torch.Generator, lo: int, hi: int) -> int:
    """An int in [lo, hi] (both ends included)."""
    return int(torch.randint(lo, hi + 1, (), generator=g))


def uniform(g: torch.Generator, lo: float, hi: float) -> float:
    """A float in [lo, hi)."""
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=F64))


def tolerance(dtype, terms: int = 100) -> dict:
    """``rtol`` and ``atol`` for a value computed as sums of about ``terms`` products of O(1)
    numbers, in an order that differs between correct implementations: the rounding error of such
    a sum stays below ``terms · eps`` relative, and 10× that admits every order while a real bug
    (a wrong index, a missing term) is off by far more. float64: 1.1e-13 for 100 terms; float32:
    6e-5."""
    eps = torch.finfo(DTYPES.get(dtype, dtype)).eps / 2  # unit roundoff
    tol = 10 * max(int(terms), 1) * eps
    return {"rtol": tol, "atol": tol}


def noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous view (the last two axes stored swapped)."""
    if t.dim() < 2:
        return t.repeat_interleave(2)[::2]
    return t.transpose(-1, -2).contiguous().transpose(-1, -2)


def randomize(module: torch.nn.Module, g: torch.Generator) -> torch.nn.Module:
    """Every parameter of ``module`` drawn from ``g`` (in place): matrices ~ N(0, 1/fan_in),
    norm scales ~ 1 + N(0, 0.3²), everything else (biases, shifts) ~ N(0, 0.3²). torch's own
    initialisation leaves biases 0 and norm scales 1, under which a missing bias or swapped
    norms cannot show."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g, dtype=F64) / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g, dtype=F64))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=F64))
    return module


def state_of(module: torch.nn.Module, rename=None) -> dict:
    """``{name: tensor}`` copies of a trusted module's weights, to send with ``state=`` to
    ``module_call``/``module_grad`` (the student's module gets exactly these weights);
    ``rename(name)`` maps torch's names to the exercise's (None drops the entry)."""
    out = {}
    for name, t in module.state_dict().items():
        new = rename(name) if rename else name
        if new is not None:
            out[new] = t.detach().clone()
    return out


def judge_grads(fn, args, wrt=(0,), grad_output=None, kwargs=None) -> dict:
    """Output and gradients of a trusted ``fn`` computed here, by the very driver (``grad``) that
    runs the student's function: ``{"out", "grads"}``, compared with ``ctx.run("grad", ...)``."""
    from ..drivers import run_local

    return run_local("grad", fn, args=list(args), kwargs=kwargs, wrt=tuple(wrt), grad_output=grad_output)


def reference_module(ctx, name: str):
    """The reference's module ``name`` (hidden checks; imported on first use)."""
    mod = getattr(ctx.reference, name, None)
    return mod if mod is not None else importlib.import_module(f"{ctx.reference.__name__}.{name}")
