"""This chapter's drivers: optimizer trajectories, and functions that take a loss function.

Loaded by the engine into every student process of the chapter (before it forks them) and into
the judge before the checks: both sides of a comparison (the student's object in the student's
process, the reference or the PyTorch routine in the judge) run the very same code here, fed with
the same plain data. Checks import the helpers (``from .drivers import make_loss``; hidden ones
``from ..public.drivers import make_loss``) and address the drivers by name.
"""

from __future__ import annotations

import torch

from leedl_grader import codec
from leedl_grader.drivers import clone, driver, synchronize

# --- optimizers --------------------------------------------------------------------------------


def _build(cls, groups, defaults, params):
    """``cls(param_groups, **defaults)`` over the given parameter tensors."""
    pgs, k = [], 0
    for g in groups:
        n = len(g["params"])
        pg = {key: v for key, v in g.items() if key != "params"}
        pg["params"] = params[k : k + n]
        pgs.append(pg)
        k += n
    return cls(pgs, **(defaults or {}))


@driver("optimizer_trajectory")
def optimizer_trajectory(cls, groups, grads, defaults=None, reload_at=None, closure=False):
    """Run an optimizer class on fixed gradients; return the parameters after every step.

    Args:
        cls: an optimizer class (the student's, the reference's or ``torch.optim.X``).
        groups: list of param groups ``{"params": [tensor, ...], **hyper}``; the tensors are the
            initial values (copied into fresh leaf tensors that require grad).
        grads: ``grads[step][i]`` is the gradient of the i-th parameter (groups flattened, in
            order) at that step, or None to leave ``.grad`` None.
        defaults: constructor keyword arguments (``lr=...``) besides the param groups.
        reload_at: an int or a list of ints; before those steps the optimizer's ``state_dict()``
            goes through the wire (so it must be plain data) and is loaded into a NEW instance
            built over the same parameters.
        closure: if true, gradients are set inside a closure passed to ``step(closure)``
            instead of before the call.

    Returns ``{"params": [[tensor per param] per step], "grads": [[tensor|None ...] per step],
    "losses": [...]}``: ``grads`` are the ``.grad`` tensors as the step left them (an optimizer
    must not modify them), ``losses`` what ``step`` returned.
    """
    params = [t.detach().clone().requires_grad_(True) for g in groups for t in g["params"]]
    opt = _build(cls, groups, defaults, params)
    reloads = set([reload_at] if isinstance(reload_at, int) else (reload_at or []))
    out_params, out_grads, losses = [], [], []
    for k, step_grads in enumerate(grads):
        if len(step_grads) != len(params):
            raise ValueError("one gradient (or None) per parameter and step")
        if k in reloads:
            sd = codec.decode(codec.encode(opt.state_dict()))
            opt = _build(cls, groups, defaults, params)
            opt.load_state_dict(sd)

        def set_grads(step_grads=step_grads, k=k):
            for p, g in zip(params, step_grads):
                p.grad = None if g is None else g.detach().clone()
            return torch.tensor(float(k + 1), dtype=torch.float64)

        if closure:
            for p in params:
                p.grad = None
            loss = opt.step(set_grads)
        else:
            set_grads()
            loss = opt.step()
        losses.append(None if loss is None else float(loss))
        out_params.append([p.detach().clone() for p in params])
        out_grads.append([None if p.grad is None else p.grad.detach().clone() for p in params])
    synchronize()
    return {"params": out_params, "grads": out_grads, "losses": losses}


# --- losses described by plain data -----------------------------------------------------------


def make_loss(spec):
    """Build ``loss_fn(theta) -> scalar`` from plain data, on theta's dtype and device.

    Kinds:
        ``{"kind": "quadratic", "A": (n, n), "b": (n,)}``: ½θᵀAθ + bᵀθ.
        ``{"kind": "linear", "b": (n,)}``: bᵀθ (zero Hessian, no second-order graph at all).
        ``{"kind": "rosenbrock", "a": float}``: Σ a(θ_{i+1} − θ_i²)² + (1 − θ_i)².
        ``{"kind": "quartic", "c": (n,), "A": (n, n), "b": (n,)}``: Σ c_iθ_i⁴ + ½θᵀAθ + bᵀθ
            (with A singular the Hessian at θ = 0 is degenerate).
        ``{"kind": "mlp", "X": (k, d), "y": (k,), "hidden": h}``: mean squared error of a tanh
            MLP d → h → 1 whose weights are the flat vector θ = [W1 (h·d), b1 (h), w2 (h), b2 (1)].
    """
    kind = spec["kind"]

    def cast(t, theta):
        return t.to(dtype=theta.dtype, device=theta.device)

    if kind == "quadratic":
        return lambda th: 0.5 * th @ (cast(spec["A"], th) @ th) + cast(spec["b"], th) @ th
    if kind == "linear":
        return lambda th: cast(spec["b"], th) @ th
    if kind == "rosenbrock":
        a = float(spec.get("a", 100.0))
        return lambda th: (a * (th[1:] - th[:-1] ** 2) ** 2 + (1 - th[:-1]) ** 2).sum()
    if kind == "quartic":

        def quartic(th):
            A, b, c = cast(spec["A"], th), cast(spec["b"], th), cast(spec["c"], th)
            return (c * th**4).sum() + 0.5 * th @ (A @ th) + b @ th

        return quartic
    if kind == "mlp":
        h = int(spec["hidden"])

        def mlp(th):
            X, y = cast(spec["X"], th), cast(spec["y"], th)
            d = X.shape[1]
            i = 0
            W1 = th[i : i + h * d].reshape(h, d)
            i += h * d
            b1 = th[i : i + h]
            i += h
            w2 = th[i : i + h]
            i += h
            b2 = th[i]
            pred = torch.tanh(X @ W1.T + b1) @ w2 + b2
            return ((pred - y) ** 2).mean()

        return mlp
    raise ValueError(f"unknown loss kind {kind!r}")


def mlp_size(d: int, hidden: int) -> int:
    return hidden * d + 2 * hidden + 1


@driver("loss_call")
def loss_call(fn, loss, args=(), kwargs=None, wrt=None, return_args=False):
    """Call ``fn(make_loss(loss), *args, **kwargs)``.

    ``wrt``: positions in ``args`` of tensors to differentiate the (scalar) output with respect
    to; their gradients come back in ``"grads"`` (None where the output does not depend on
    them, or has no graph at all). ``return_args``: also return ``args`` after the call, so the
    judge can tell whether they were modified in place.
    """
    kwargs = kwargs or {}
    loss_fn = make_loss(loss)
    args = list(args)
    if wrt:
        for i in wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
    originals = [a for a in args]
    out = fn(loss_fn, *args, **kwargs)
    grads = None
    if wrt:
        inputs = [args[i] for i in wrt]
        if isinstance(out, torch.Tensor) and out.requires_grad:
            grads = list(torch.autograd.grad(out, inputs, allow_unused=True))
            grads = [None if g is None else g.detach() for g in grads]
        else:
            grads = [None for _ in inputs]
    synchronize()
    return {
        "out": out.detach() if isinstance(out, torch.Tensor) else clone(out),
        "grads": grads,
        "args": [a.detach() if isinstance(a, torch.Tensor) else a for a in originals] if return_args else None,
    }
