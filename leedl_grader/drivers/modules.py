"""Drivers for modules and for functions that take a callable: built in the student's process
from plain data the judge sends, never from code.

- ``module_grad``: build a module class, load given weights, run ``forward`` and backward; the
  judge runs the same driver on a trusted module (the reference, or a torch layer whose weights
  it mapped) and compares outputs and gradients.
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
