"""torch's compiler stack (``torch._dynamo``), imported when something needs it, not before.

torch marks some of its functions "never compile this" with ``torch._disable_dynamo``, and that
mark imports ``torch._dynamo`` on the function's first call: about a second, more than half of
``import torch`` itself. Every ``Optimizer`` pays it in its constructor (``add_param_group``), every
dispatch mode on its first op. Yet until ``torch._dynamo`` is imported (``torch.compile`` imports it
before it compiles anything) no frame is being compiled, and there is nothing to disable.

:func:`install` gives each such function of the classes leedl uses a first call that runs it
plainly while ``torch._dynamo`` is not loaded, and that puts torch's own mark in place as soon
as it is: the same behaviour, without the second. (Built-in optimizers' ``step`` still imports
it: torch's ``_use_grad_for_differentiable`` does so unconditionally.)
"""

from __future__ import annotations

import sys

import torch

_INNER = torch._disable_dynamo(lambda: None).__code__  # the code of every function torch marks
_MARK = "__dynamo_disable"  # where torch caches the mark on the wrapped function


def _deferred(fn, recursive: bool = True):
    def call(*args, **kwargs):
        if "torch._dynamo" not in sys.modules:
            return fn(*args, **kwargs)
        # Imported, or being imported on another thread: this import waits until it is complete.
        import torch._dynamo as dynamo

        if not hasattr(dynamo, "disable"):  # being imported on this very thread: not compiling yet
            return fn(*args, **kwargs)
        mark = dynamo.disable(fn, recursive, wrapping=False)  # what torch's first call would do
        setattr(fn, _MARK, mark)
        return mark(*args, **kwargs)

    return call


def defer(cls: type) -> int:
    """Defer the mark of every marked method of ``cls`` and its bases; how many were deferred."""
    n = 0
    for klass in cls.__mro__:
        for attr in vars(klass).values():
            attr = getattr(attr, "__func__", attr)
            fn = getattr(attr, "__wrapped__", None)
            if getattr(attr, "__code__", None) is _INNER and fn is not None and getattr(fn, _MARK, None) is None:
                # torch calls the deferred function with (*args, **kwargs) and no recursive flag of
                # its own: the closure's is the one torch would use.
                recursive = next((c.cell_contents for name, c in zip(attr.__code__.co_freevars, attr.__closure__)
                                  if name == "recursive"), True)
                setattr(fn, _MARK, _deferred(fn, recursive))
                n += 1
    return n


def install() -> None:
    """For the optimizers a chapter's code builds and the op tracer the sandbox runs them under."""
    from .drivers import OpTracer

    defer(torch.optim.Optimizer)
    defer(OpTracer)
