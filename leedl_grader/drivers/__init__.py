"""Drivers: small trusted routines that exercise a student's object inside the student's process.

A driver receives the resolved target (a function or class from the submission) and plain-data
keyword arguments, and returns plain data. The judge runs the very same driver on the reference
(or on the PyTorch routine an exercise re-implements) in its own process and compares the two
results; a student who tampers with a driver in their own process only changes their own data.

Drivers are registered with :func:`driver` and addressed by name from ``ctx.run(name, ...)``.
"""

from __future__ import annotations

import sys
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

DRIVERS: dict[str, Callable] = {}


def driver(name: str):
    """Register ``fn`` as the driver ``name``. A chapter's driver may not take the name of
    another module's driver (the engine's, or another chapter's loaded in the same process)."""

    def wrap(fn):
        old = DRIVERS.get(name)
        if old is not None and old.__module__ != fn.__module__:
            raise ValueError(f"driver {name!r} of {fn.__module__} is already defined by {old.__module__}")
        DRIVERS[name] = fn
        return fn

    return wrap


def clone(x):
    """A copy of plain data with every tensor detached and cloned."""
    return _clone(x)


def _clone(x):
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, list):
        return [_clone(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_clone(v) for v in x)
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    return x


def synchronize(device=None) -> None:
    """Wait for queued GPU work, so that timings and results are complete."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


@driver("call")
def call(fn, args=(), kwargs=None, return_args=False):
    """Call ``fn(*args, **kwargs)``; optionally also return the arguments afterwards, so the judge
    can tell whether the function modified its inputs in place."""
    kwargs = kwargs or {}
    out = fn(*args, **kwargs)
    synchronize()
    return {"out": out, "args": list(args) if return_args else None}


@driver("grad")
def grad(fn, args=(), kwargs=None, wrt=(0,), grad_output=None, seed_out=None):
    """Output and gradients of ``fn`` with respect to the positional arguments ``wrt``.

    ``grad_output`` is the upstream gradient (a tensor shaped like the output, or a list for
    tuple outputs, where ``seed_out`` picks which outputs it applies to). Inputs are cloned
    first so the caller's tensors are never modified.
    """
    kwargs = kwargs or {}
    args = [_clone(a) for a in args]
    for i in wrt:
        args[i] = args[i].detach().clone().requires_grad_(True)
    out = fn(*args, **kwargs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    picked = [outs[i] for i in (seed_out if seed_out is not None else range(len(outs)))]
    gos = grad_output if isinstance(grad_output, (list, tuple)) else [grad_output]
    gos = [torch.ones_like(o) if g is None else g for o, g in zip(picked, gos)]
    inputs = [args[i] for i in wrt]
    grads = torch.autograd.grad(picked, inputs, grad_outputs=gos, allow_unused=True)
    synchronize()
    return {
        "out": _clone(out) if not isinstance(out, torch.Tensor) else out.detach(),
        "grads": [None if g is None else g.detach() for g in grads],
    }


@driver("grad_flow")
def grad_flow(fn, args=(), kwargs=None, wrt=(0,)):
    """Call ``fn`` with the positional arguments ``wrt`` as leaves that require grad; return the
    output and, per output tensor, whether autograd tracks it (a target must not be tracked)."""
    args = [_clone(a) for a in args]
    for i in wrt:
        args[i] = args[i].detach().clone().requires_grad_(True)
    out = fn(*args, **(kwargs or {}))
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    synchronize()
    return {"out": _clone(out), "requires_grad": [isinstance(o, torch.Tensor) and o.requires_grad for o in outs]}


@driver("seeded_call")
def seeded_call(fn, seeds, args=(), kwargs=None, global_seeds=None, generator_kw="generator"):
    """Call ``fn(*args, **kwargs, generator=torch.Generator().manual_seed(s))`` once per seed.

    A generator cannot cross the wire, so it is built here. ``global_seeds`` (one per call)
    re-seed the global RNG before each call: a function that draws from the global RNG instead
    of its generator then gives different results for the same generator seed. A seed of None
    passes ``generator=None``.
    """
    kwargs = dict(kwargs or {})
    outs = []
    for i, s in enumerate(seeds):
        if global_seeds is not None:
            torch.manual_seed(int(global_seeds[i]))
        gen = None if s is None else torch.Generator().manual_seed(int(s))
        outs.append(fn(*args, **{**kwargs, generator_kw: gen}))
    synchronize()
    return outs


@driver("probe")
def probe(module):
    """Import a file of the submission (resolving the target does it); list its public names."""
    return sorted(n for n in vars(module) if not n.startswith("_"))


# --- timing: staged inputs, outputs checked by the judge ------------------------------------------
_STAGED: dict = {}


def leaves(out) -> list:
    """The tensors of an output (nested tuples and lists flattened, in order); None for anything else."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in leaves(o)]
    return [out if isinstance(out, torch.Tensor) else None]


def digest(out, weights) -> float | None:
    """Σ out·w over the output's tensors, in float64, with weights the judge drew: a number that
    only the right outputs give. None when the output does not have the yardstick's shapes."""
    got = leaves(out)
    if len(got) != len(weights):
        return None
    total = 0.0
    for t, w in zip(got, weights):
        if t is None or tuple(t.shape) != tuple(w.shape):
            return None
        total += float((t.detach().to(device=w.device, dtype=torch.float64) * w).sum())
    return total


@driver("stage")
def stage(fn, inputs=(), weights=(), build=None):
    """Keep input sets (``[args, kwargs]``) and the judge's digest weights for the next timed
    request. Nothing is called: the function sees each input for the first time when timed.
    With ``build``, ``fn`` is a module class: it is built here, untimed
    (``modules.build_module(fn, **build)``), and its forward is what the next request times."""
    _STAGED["inputs"], _STAGED["weights"] = list(inputs), list(weights)
    if build is not None:
        from .modules import build_module

        _STAGED["fn"] = build_module(fn, **build)
    synchronize()  # the inputs' copies to the GPU finish here, untimed
    return len(_STAGED["inputs"])


@driver("time_staged")
def time_staged(fn):
    """Call ``fn`` once on each staged input set (each used once, then dropped) and return one
    digest per call. The judge times this request from outside and checks every digest against
    the yardstick's outputs: a call skipped, cached or wrong shows."""
    inputs, weights = _STAGED.pop("inputs", []), _STAGED.pop("weights", [])
    fn = _STAGED.pop("fn", fn)
    out = []
    for (args, kwargs), w in zip(inputs, weights):
        out.append(digest(fn(*args, **kwargs), w))
    synchronize()
    return out


def run_local(name: str, target, **spec):
    """Run a driver in this process (the judge, on a trusted target)."""
    if name not in DRIVERS:
        load_all()
    return DRIVERS[name](target, **spec)


def op_names(func) -> tuple[str, ...]:
    """``("aten::softplus", "aten::softplus.default")`` for a dispatched op overload."""
    schema = getattr(func, "_schema", None)
    if schema is None:
        return (str(func),)
    return schema.name, f"{schema.name}.{schema.overload_name or 'default'}"


class OpTracer(TorchDispatchMode):
    """Records every dispatched aten op in ``forbidden`` while active, and where the student
    called it. It never raises: a student's ``try``/``except`` cannot swallow a hit, and the
    worker turns the record into a ``forbidden`` reply after the call. With an empty list it
    only adds the same per-op cost, so that a yardstick can be timed on equal terms."""

    def __init__(self, forbidden=(), package_dir: str = ""):
        super().__init__()
        self.forbidden = frozenset(forbidden)
        self.package_dir = package_dir
        self.hits: list[tuple[str, str]] = []  # (op, "file.py:line")

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.forbidden:
            names = op_names(func)
            if any(n in self.forbidden for n in names) and all(h[0] != names[0] for h in self.hits):
                self.hits.append((names[0], self._where()))
        return func(*args, **(kwargs or {}))

    def _where(self) -> str:
        if not self.package_dir:
            return ""
        f = sys._getframe(1)
        while f is not None:
            name = f.f_code.co_filename
            if name.startswith(self.package_dir):
                return f"{name.rsplit('/', 1)[-1]}:{f.f_lineno}"
            f = f.f_back
        return ""


def load_all() -> None:
    """Import every driver module of the engine (done before the worker forks, so nothing is
    imported later). A chapter's own drivers come from its ``public/drivers.py``
    (:func:`leedl_grader.course.chapters.load_drivers`)."""
    from . import modules, training  # noqa: F401
