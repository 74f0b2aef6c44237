"""Drivers for modules and for functions that take a callable: built in the student's process
from plain data the judge sends, never from code.

- ``module_grad``: build a module class, load given weights, run ``forward`` and backward; the
  judge runs the same driver on a trusted module (the reference, or a torch layer whose weights
  it mapped) and compares outputs and gradients.
- ``module_call``: build a module class with given weights (every name must exist), call it;
  tuple outputs (an attention layer's output and weights), non-contiguous inputs, gradients
  with respect to inputs and the given parameters, the inputs as left after the call.
- ``table_call``: a callable defined by a table (``key -> value``) is passed to the student's
  function, which calls it as it likes; the judge knows the table and computes the expected
  answer itself (for example by exhaustive search).
"""

from __future__ import annotations

import torch

from . import _clone, driver, synchronize


def build_module(cls, init_args=(), init_kwargs=None, state=None, dtype=None, device="cpu", seed=0, strict=True):
    """``cls(*init_args, **init_kwargs)`` (torch seeded with ``seed``) on ``device``, cast to
    ``dtype``, with ``state`` (name -> tensor) loaded. A name the module lacks, or lacks in
    ``state``, is an error that names it."""
    torch.manual_seed(int(seed))
    module = cls(*init_args, **(init_kwargs or {}))
    if dtype is not None:
        module = module.to(getattr(torch, dtype))
    module = module.to(device)
    if state is not None:
        have = set(module.state_dict())
        missing = sorted(set(state) - have)
        if strict and missing:
            raise AttributeError(f"{cls.__name__} has no parameter or buffer named {', '.join(missing[:4])}"
                                 f"{' ...' if len(missing) > 4 else ''} (the submodule names are fixed)")
        module.load_state_dict(state, strict=strict)
    return module


@driver("module_grad")
def module_grad(cls, init_args=(), init_kwargs=None, state=None, dtype=None, device="cpu", args=(), kwargs=None,
                wrt=(0,), grad_output=None, params=True, train=False, seed=0):
    """Build the module (see :func:`build_module`), run ``forward(*args, **kwargs)``; with
    ``grad_output`` given (or None for ones), return the gradients of the output with respect to
    the positional arguments ``wrt`` and, with ``params``, to every named parameter.
    Returns ``{"out", "grads", "param_grads": {name: tensor or None}}``."""
    module = build_module(cls, init_args, init_kwargs, state, dtype, device, seed)
    module.train(bool(train))
    args = [_clone(a) for a in args]
    for i in wrt:
        args[i] = args[i].detach().clone().requires_grad_(True)
    out = module(*args, **(kwargs or {}))
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{cls.__name__}.forward returned {type(out).__name__}, expected a tensor")
    named = [(n, p) for n, p in module.named_parameters()] if params else []
    inputs = [args[i] for i in wrt] + [p for _, p in named]
    go = torch.ones_like(out) if grad_output is None else grad_output
    grads = torch.autograd.grad(out, inputs, grad_outputs=go, allow_unused=True) if inputs else ()
    grads = [None if g is None else g.detach() for g in grads]
    synchronize()
    return {"out": out.detach(), "grads": grads[: len(wrt)],
            "param_grads": {n: g for (n, _), g in zip(named, grads[len(wrt):])}}


@driver("module_forward")
def module_forward(cls, init_args=(), init_kwargs=None, state=None, dtype=None, device="cpu", inputs=(), seed=0):
    """Build the module in eval mode and return ``[module(*x) for x in inputs]`` without gradients
    (each ``x`` a list of positional arguments)."""
    module = build_module(cls, init_args, init_kwargs, state, dtype, device, seed)
    module.eval()
    with torch.no_grad():
        outs = [module(*x) for x in inputs]
    synchronize()
    return {"outputs": outs}


def _key(x) -> str:
    return ",".join(str(int(v)) for v in x.flatten().tolist())


@driver("table_call")
def table_call(fn, table, default=None, args=(), kwargs=None, keep_calls=False):
    """Call ``fn(step, *args, **kwargs)`` where ``step(x)`` looks up ``table``.

    ``table`` maps keys (the integer tensor ``x`` flattened and joined by commas: "10,3,4") to
    values (tensors); a key not in the table gets ``default`` (or raises a KeyError when there is
    none). Each call returns a fresh copy, so the student cannot alter the table. With
    ``keep_calls`` the reply lists the keys asked for, in order (a diagnostic: the student's
    process reports it, so no mark may rest on it)."""
    calls: list[str] = []

    def step(x):
        key = _key(torch.as_tensor(x))
        calls.append(key)
        if key in table:
            return table[key].clone()
        if default is None:
            raise KeyError(f"the step function is not defined for the sequence [{key}]")
        return default.clone()

    out = fn(step, *args, **(kwargs or {}))
    synchronize()
    return {"out": _clone(out), "calls": calls if keep_calls else None}


def build_loaded(cls, init=None, state=None, dtype=None, device=None):
    """``cls(**init)`` with the weights in ``state``, in eval mode, for ``module_call``.

    ``dtype`` and ``device`` default to those of the first floating tensor in ``state``. Every
    key of ``state`` must exist in the module, with its shape (a missing or misnamed submodule is
    the student's error); parameters or buffers the module has beyond ``state`` are left alone."""
    like = next((v for v in (state or {}).values() if isinstance(v, torch.Tensor) and v.is_floating_point()), None)
    if dtype is None and like is not None:
        dtype = str(like.dtype).removeprefix("torch.")
    if device is None:
        device = str(like.device) if like is not None else "cpu"
    module = cls(**(init or {}))
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{getattr(cls, '__name__', cls)}(...) is not an nn.Module")
    module = module.to(device=device, dtype=getattr(torch, dtype) if isinstance(dtype, str) else dtype)
    if state:
        own = module.state_dict()
        unknown = sorted(set(state) - set(own))
        if unknown:
            raise KeyError(f"the module has no parameter named {', '.join(unknown)} (the submodule names are fixed)")
        for name, value in state.items():
            if tuple(own[name].shape) != tuple(value.shape):
                raise ValueError(f"parameter {name} has shape {tuple(own[name].shape)}, expected {tuple(value.shape)}")
        module.load_state_dict(state, strict=False)
    return module.eval()


@driver("module_call")
def module_call(cls, init=None, state=None, dtype=None, device=None, args=(), kwargs=None, wrt=(),
                param_grads=False, grad_output=None, noncontiguous=(), return_args=False):
    """Build the module (:func:`build_loaded`) and call its ``forward`` with ``args``/``kwargs``;
    the output may be a tuple of tensors (an attention layer's output and weights).

    ``wrt``: positions of ``args`` to differentiate with respect to; ``param_grads``: also the
    gradients of the parameters named in ``state``. ``grad_output``: one upstream gradient per
    output tensor (None entries: that output is not seeded); default: ones for the first output.
    ``noncontiguous``: positions of ``args`` passed as non-contiguous views of the same values.
    ``return_args``: also return the arguments as they are after the call."""
    from .training import _noncontiguous

    model = build_loaded(cls, init, state, dtype, device)
    kwargs = kwargs or {}
    args = [_clone(a) for a in args]
    originals = list(args)
    for i in noncontiguous:
        args[i] = _noncontiguous(args[i])
    for i in wrt:
        args[i] = args[i].detach().requires_grad_(True)
    params = [(n, p) for n, p in model.named_parameters() if n in (state or {})] if param_grads else []
    out = model(*args, **kwargs)
    reply = {"out": _detach(out), "grads": None, "param_grads": None,
             "args": [a.detach() if isinstance(a, torch.Tensor) else a for a in originals] if return_args else None}
    if wrt or params:
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        gos = grad_output if isinstance(grad_output, (list, tuple)) else [grad_output]
        if grad_output is None:
            gos = [torch.ones_like(outs[0])]
        picked = [(o, g) for o, g in zip(outs, gos) if g is not None]
        inputs = [args[i] for i in wrt] + [p for _, p in params]
        grads = torch.autograd.grad([o for o, _ in picked], inputs, grad_outputs=[g for _, g in picked],
                                    allow_unused=True)
        grads = [None if g is None else g.detach() for g in grads]
        reply["grads"] = grads[: len(wrt)]
        reply["param_grads"] = {n: g for (n, _), g in zip(params, grads[len(wrt):])} if params else None
    synchronize()
    return reply


def _detach(out):
    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, (tuple, list)):
        return type(out)(_detach(o) for o in out)
    return _clone(out)
