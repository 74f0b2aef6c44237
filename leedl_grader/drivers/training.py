"""Drivers for ``train_*`` exercises and for models: train or build inside the student's process,
return predictions and plain facts about the model.

Also home to ``strided_call``: calls with non-contiguous inputs, which the wire cannot carry
(every tensor arrives contiguous), so the view is made here, on the student's side.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from . import _clone, driver, op_names, synchronize


def _first_filters(model) -> torch.Tensor | None:
    """The first 4-D parameter (a convolution's filters, (O, C, kh, kw)), for plots."""
    for p in model.parameters() if isinstance(model, nn.Module) else ():
        if p.dim() == 4:
            return p.detach().to("cpu", torch.float32).clone()
    return None


@driver("train_predict")
def train_predict(fn, kwargs=None, inputs=(), batch_size=4096, filters=False):
    """Call the training function, then the returned model on each tensor in ``inputs``.

    The judge computes the metric itself from the returned outputs. With ``filters`` the reply
    also carries the model's first 4-D parameter (first-layer filters, for plots; None if none).
    """
    model = fn(**(kwargs or {}))
    if hasattr(model, "eval"):
        model.eval()
    outs = []
    with torch.no_grad():
        for x in inputs:
            parts = [model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
            outs.append(torch.cat(parts) if parts else x.new_empty(0))
    synchronize()
    reply = {"outputs": outs}
    if filters:
        reply["filters"] = _first_filters(model)
    return reply


class _OpRecorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(op_names(func)[0])
        return func(*args, **(kwargs or {}))


_KINDS = (
    ("conv", (nn.modules.conv._ConvNd,)),
    ("pool", (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd,
              nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._LPPoolNd)),
    ("linear", (nn.Linear, nn.LazyLinear, nn.Bilinear)),
)


@driver("module_probe")
def module_probe(cls, init_kwargs=None, inputs=(), device="cpu", seed=0):
    """Build ``cls(**init_kwargs)`` (torch seeded with ``seed``), run it in eval mode on each of
    ``inputs``; return the outputs, the kinds of its submodules (``conv``/``pool``/``linear`` for
    torch's layers) and the aten ops its forward passes dispatched."""
    torch.manual_seed(int(seed))
    model = cls(**(init_kwargs or {})).to(device)
    model.eval()
    kinds = sorted({k for m in model.modules() for k, types in _KINDS if isinstance(m, types)})
    rec = _OpRecorder()
    outs = []
    with torch.no_grad(), rec:
        for x in inputs:
            outs.append(model(x))
    synchronize()
    return {"outputs": outs, "kinds": kinds, "ops": sorted(rec.ops),
            "num_parameters": sum(int(p.numel()) for p in model.parameters())}


def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values stored with the last two axes swapped: a non-contiguous view."""
    if t.dim() < 2:
        return t.repeat_interleave(2)[::2]  # a strided view of a 1-D tensor
    return t.transpose(-1, -2).contiguous().transpose(-1, -2)


@driver("strided_call")
def strided_call(fn, args=(), kwargs=None, noncontiguous=(0,), wrt=(), grad_output=None):
    """``fn(*args, **kwargs)`` with the positional tensors ``noncontiguous`` turned into
    non-contiguous views of the same values. With ``wrt``, also the gradients of the output
    (against ``grad_output``, default ones) with respect to those positional arguments.
    Reports whether the views were really non-contiguous (``"views"``) so a check can rely on it."""
    kwargs = kwargs or {}
    args = [_clone(a) for a in args]
    for i in noncontiguous:
        args[i] = _noncontiguous(args[i])
    for i in wrt:
        args[i] = args[i].detach().requires_grad_(True)  # a leaf that keeps the strides
    views = [not args[i].is_contiguous() for i in noncontiguous]
    out = fn(*args, **kwargs)
    grads = None
    if wrt:
        go = torch.ones_like(out) if grad_output is None else grad_output
        grads = torch.autograd.grad(out, [args[i] for i in wrt], grad_outputs=go, allow_unused=True)
        grads = [None if g is None else g.detach() for g in grads]
    synchronize()
    return {"out": out.detach() if isinstance(out, torch.Tensor) else _clone(out), "grads": grads, "views": views}
