"""Drivers for ``train_*`` exercises and for models: train or build inside the student's process,
return the weights and plain facts about the model.

Also home to ``strided_call``: calls with non-contiguous inputs, which the wire cannot carry
(every tensor arrives contiguous), so the view is made here, on the student's side.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook  # torch's global step hook
from torch.utils._python_dispatch import TorchDispatchMode

from . import _clone, driver, op_names, synchronize

# --- trained models: train in one sandbox, judge in a fresh one (leedl_grader.authoring.trained) --

_MODELS: dict[str, nn.Module] = {}  # models rebuilt in this (scoring) sandbox, by handle


def _type_path(obj) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _describe(model) -> list:
    """An nn.Sequential's layers as (type path, constructor settings), for a judge-side rebuild."""
    if not isinstance(model, nn.Sequential):
        return []
    out = []
    for m in model:
        kw = {}
        for k in ("in_features", "out_features", "normalized_shape", "eps", "elementwise_affine", "num_features",
                  "momentum", "affine", "track_running_stats", "negative_slope", "p"):
            v = getattr(m, k, None)
            if isinstance(v, (int, float, bool, tuple)):
                kw[k] = list(v) if isinstance(v, tuple) else v
        if isinstance(m, nn.Linear):
            kw["bias"] = m.bias is not None
        out.append([_type_path(m), kw])
    return out


class _Snapshots:
    """The parameters every ``every`` training steps (any ``torch.optim`` class: a global step hook),
    thinned to at most ``2·wanted`` by doubling ``every``; for training curves, never for marks."""

    def __init__(self, wanted: int):
        self.wanted, self.every, self.step = max(int(wanted), 1), 1, 0
        self.taken: list[tuple[int, dict]] = []  # (step, {id(param): copy})

    def __call__(self, opt, args, kwargs):
        self.step += 1
        if self.step % self.every:
            return
        params = {id(p): p.detach().to("cpu").clone() for g in opt.param_groups for p in g["params"]}
        self.taken.append((self.step, params))
        if len(self.taken) > 2 * self.wanted:
            self.every *= 2
            self.taken = [s for s in self.taken if s[0] % self.every == 0]

    def named(self, model, final: dict) -> list:
        """``[[step, state_dict], ...]``: the final state with the parameters of each snapshot."""
        names = {id(p): n for n, p in model.named_parameters()}
        out = []
        for step, params in self.taken:
            sd = dict(final)
            sd.update({names[i]: v for i, v in params.items() if i in names})
            out.append([step, sd])
        return out


@driver("train_export")
def train_export(fn, args=(), kwargs=None, package="", snapshots=0):
    """Call the training function with the data it is given; return the model as plain data: its
    class (module without the package, qualified name), its ``state_dict`` and, for an
    nn.Sequential, its layers. Nothing else of this process reaches the judge. With
    ``snapshots`` > 0, also about that many copies of the weights taken during training at evenly
    spaced training steps (for a training curve the judge measures itself)."""
    snaps = _Snapshots(snapshots) if snapshots else None
    hook = register_optimizer_step_post_hook(snaps) if snaps else None
    try:
        model = fn(*args, **(kwargs or {}))
    finally:
        if hook is not None:
            hook.remove()
    synchronize()
    if not isinstance(model, nn.Module):
        raise TypeError(f"the training function returned {type(model).__name__}, not a torch.nn.Module")
    path = _type_path(model)
    if package and path.startswith(package + "."):
        path = path[len(package) + 1:]
    sd = {str(k): v.detach().to("cpu").clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    reply = {"class": path, "state_dict": sd, "layers": _describe(model)}
    if snaps is not None:
        reply["snapshots"] = snaps.named(model, sd)
    return reply


@driver("model_load")
def model_load(cls, state_dict=None, init_kwargs=None, device="cpu", handle="model"):
    """Build the chapter's class anew in this fresh sandbox and load the judge's weights into it."""
    model = cls(**(init_kwargs or {}))
    if not isinstance(model, nn.Module):
        raise TypeError(f"{cls.__name__}() is not a torch.nn.Module")
    try:
        model.load_state_dict(state_dict or {}, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"the trained weights do not fit a new {cls.__name__}(): {str(exc)[:400]}") from None
    _MODELS[handle] = model.to(device).eval()
    return None


@driver("model_call")
def model_call(cls, handle="model", method="forward", args=(), kwargs=None):
    """A forward call (no gradient) of a model loaded by ``model_load``."""
    if method.startswith("_") and method != "__call__":
        raise ValueError(f"method {method!r} cannot be called")
    model = _MODELS[handle]
    with torch.no_grad():
        out = (model if method == "forward" else getattr(model, method))(*args, **(kwargs or {}))
    synchronize()
    return {"out": _clone(out)}


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


def build_module(spec) -> nn.Module:
    """A module tree from plain data: a dict (named children), a list (an ``nn.Sequential``) or
    ``[layer_name, *args]`` for a layer of ``torch.nn`` (``["Linear", 3, 4]``, ``["ReLU"]``)."""
    if isinstance(spec, dict):
        module = nn.Module()
        for name, sub in spec.items():
            module.add_module(name, build_module(sub))
        return module
    if spec and isinstance(spec[0], str):
        return getattr(nn, spec[0])(*spec[1:])
    return nn.Sequential(*(build_module(s) for s in spec))


@driver("module_apply")
def module_apply(fn, module=None, args=(), kwargs=None, frozen=(), seed=0):
    """Build ``module`` (see :func:`build_module`; parameters named in ``frozen`` start with
    ``requires_grad=False``) and call ``fn(module, *args, **kwargs)``. Returns the output, every
    parameter's ``requires_grad`` and the parameters' values afterwards, so the judge can see what
    the call changed."""
    torch.manual_seed(int(seed))
    model = build_module(module)
    for name, p in model.named_parameters():
        p.requires_grad_(name not in set(frozen))
    out = fn(model, *args, **(kwargs or {}))
    return {"out": out if out is None or isinstance(out, (bool, int, float, str)) else type(out).__name__,
            "requires_grad": {n: bool(p.requires_grad) for n, p in model.named_parameters()},
            "params": {n: p.detach().clone() for n, p in model.named_parameters()}}


@driver("module_calls")
def module_calls(cls, init_kwargs=None, seed=0, device="cpu", calls=()):
    """Build ``cls(**init_kwargs)`` once (torch seeded with ``seed``) and make each call of
    ``calls`` on it: ``{"args", "kwargs"}`` calls the module itself; with ``"chain": [names]`` the
    first argument goes through those submodules in turn instead. With ``"grad_output"`` the
    reply also holds the gradients (against it, for the output ``"output"`` picks) with respect to
    the first argument and to every named parameter. Returns the submodules' names and a result
    per call; the judge compares calls with each other (a forward pass against its parts)."""
    torch.manual_seed(int(seed))
    model = cls(**(init_kwargs or {})).to(device)
    params = dict(model.named_parameters())
    results = []
    for c in calls:
        args = [_clone(a) for a in c.get("args", ())]
        go = c.get("grad_output")
        if go is not None:
            args[0] = args[0].detach().requires_grad_(True)
        if c.get("chain"):
            out = args[0]
            for name in c["chain"]:
                out = model.get_submodule(name)(out)
        else:
            out = model(*args, **(c.get("kwargs") or {}))
        reply = {"out": _clone(out) if not isinstance(out, torch.Tensor) else out.detach().clone()}
        if go is not None:
            picked = out if c.get("output") is None else out[c["output"]]
            grads = torch.autograd.grad(picked, [args[0], *params.values()], grad_outputs=go, allow_unused=True)
            reply["grad_input"] = None if grads[0] is None else grads[0].detach()
            reply["param_grads"] = {n: None if g is None else g.detach() for n, g in zip(params, grads[1:])}
        results.append(reply)
    synchronize()
    return {"children": [n for n, _ in model.named_children()], "calls": results}
