"""Hidden checks for optimizers.py (notes 1.2 momentum, 1.3 adaptive learning rates).

Every check runs the same driver (``optimizer_trajectory``) on the student's class in the
student's process and on ``torch.optim.X`` in the judge, on identical parameters and gradients,
and compares the parameters after every step (and, where noted, the ``.grad`` tensors, which an
optimizer must leave alone).
"""

import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close
from leedl_grader.drivers import run_local
from leedl_grader.authoring.helpers import F32, F64, randn, uniform

# name -> (torch class, constructor defaults that make torch behave like the exercise's defaults)
TORCH = {
    "SGD": (torch.optim.SGD, {}),
    "Momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "Adagrad": (torch.optim.Adagrad, {}),
    "RMSProp": (torch.optim.RMSprop, {}),
    "Adam": (torch.optim.Adam, {}),
}
SHAPES = [(3,), (2, 3), ()]  # a vector, a matrix and a 0-d parameter
STEPS = 8

# float64: the same few operations per step in a possibly different order; 8 steps of rounding
# errors ~1e-16 on O(1) numbers stay below 1e-14, so 1e-12 is loose and any real bug is far above.
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7): a few ulps per step on O(1) parameters, over 8 steps.
TOL32 = dict(rtol=1e-5, atol=2e-6)


def _tensor(g, shape, dtype, device, scale=1.0):
    return randn(g, shape, dtype=dtype, device=device, scale=scale)


def _hyper(name, g, lr=None):
    """Random hyper-parameters of one group (all of them, so per-group values are exercised)."""
    h = {"lr": lr if lr is not None else uniform(g, 0.01, 0.2)}
    if name == "Momentum":
        h["momentum"] = uniform(g, 0.5, 0.95)
    if name == "Adagrad":
        h["eps"] = uniform(g, 1e-10, 1e-6)
    if name == "RMSProp":
        h["alpha"], h["eps"] = uniform(g, 0.8, 0.99), uniform(g, 1e-8, 1e-6)
    if name == "Adam":
        h["betas"], h["eps"] = (uniform(g, 0.7, 0.95), uniform(g, 0.9, 0.999)), uniform(g, 1e-8, 1e-6)
    return h


def _grads(g, params, pattern=None, scale=1.0):
    """grads[step][i]: a random tensor shaped like param i, or None where pattern says so."""
    out = []
    for k in range(STEPS):
        row = []
        for i, p in enumerate(params):
            has = pattern is None or pattern(k, i)
            row.append(_tensor(g, p.shape, p.dtype, p.device, scale) if has else None)
        out.append(row)
    return out


def _compare(ctx, name, spec, tol, what, torch_defaults=None, grads_too=False):
    cls, extra = TORCH[name]
    got = ctx.run("optimizer_trajectory", target=f"optimizers.{name}", **spec)
    ours = torch_defaults if torch_defaults is not None else spec.get("defaults") or {}
    want_spec = dict(spec, defaults={**extra, **ours})
    want = run_local("optimizer_trajectory", cls, **want_spec)
    assert_close(got["params"], want["params"], what=f"{what}: parameters after step", **tol)
    if grads_too:
        assert_close(got["grads"], want["grads"], what=f"{what}: .grad after step (must be left unchanged)", **tol)


def _one_group(ctx, name, g, dtype, grad_scale=1.0):
    params = [_tensor(g, s, dtype, ctx.device) for s in SHAPES]
    return params, _grads(g, params, scale=grad_scale)


# ---- the properties, one check each per optimizer (points sum to 6, 8, 8, 8, 10) -------------


def _matches_torch_float64(ctx, name):
    g = ctx.generator(name)
    params, grads = _one_group(ctx, name, g, F64)
    spec = {"groups": [{"params": params}], "grads": grads, "defaults": _hyper(name, g)}
    _compare(ctx, name, spec, TOL64, f"{name}, float64, one group", grads_too=True)


def _default_hyper_float32(ctx, name):
    g = ctx.generator(name)
    params, grads = _one_group(ctx, name, g, F32)
    # SGD and Momentum have no default lr; the others are built with their defaults only
    defaults = {"lr": uniform(g, 0.01, 0.2)} if name in ("SGD", "Momentum") else {}
    spec = {"groups": [{"params": params}], "grads": grads, "defaults": defaults}
    _compare(ctx, name, spec, TOL32, f"{name}, float32, default hyper-parameters")


def _two_groups(ctx, name):
    g = ctx.generator(name)
    p1 = [_tensor(g, s, F64, ctx.device) for s in SHAPES[:2]]
    p2 = [_tensor(g, s, F64, ctx.device) for s in SHAPES[1:]]
    groups = [{"params": p1, **_hyper(name, g)}, {"params": p2, **_hyper(name, g)}]
    # constructor defaults unlike either group: a group must use its own values
    defaults = _hyper(name, g, lr=uniform(g, 0.5, 0.9))
    if "eps" in defaults:
        groups[0]["eps"], groups[1]["eps"], defaults["eps"] = uniform(g, 0.05, 0.2), uniform(g, 0.3, 0.6), 1e-12
    spec = {"groups": groups, "grads": _grads(g, p1 + p2), "defaults": defaults}
    _compare(ctx, name, spec, TOL64, f"{name}, two param groups with their own hyper-parameters")


def _pattern(k, i):
    # param 0: never a gradient (placed first, so stopping at it would skip the rest);
    # param 1: none at steps 0-1; param 2: always; param 3: none at steps 3-4
    return (False, k >= 2, True, not 3 <= k <= 4)[i]


def _params_without_grad(ctx, name):
    g = ctx.generator(name)
    params = [_tensor(g, s, F64, ctx.device) for s in [(2,), (3,), (2, 2), (4,)]]
    spec = {"groups": [{"params": params}], "grads": _grads(g, params, _pattern), "defaults": _hyper(name, g)}
    _compare(ctx, name, spec, TOL64, f"{name}, some parameters without .grad at some steps")


def _state_dict_roundtrip(ctx, name):
    g = ctx.generator(name)
    p1 = [_tensor(g, s, F64, ctx.device) for s in SHAPES]
    p2 = [_tensor(g, (2,), F64, ctx.device)]
    groups = [{"params": p1, **_hyper(name, g)}, {"params": p2, **_hyper(name, g)}]
    spec = {"groups": groups, "grads": _grads(g, p1 + p2), "defaults": _hyper(name, g),
            "reload_at": [3, 5]}
    _compare(ctx, name, spec, TOL64, f"{name}, state_dict() loaded into a new optimizer before steps 3 and 5")


def _closure(ctx, name):
    g = ctx.generator(name)
    params, grads = _one_group(ctx, name, g, F64)
    spec = {"groups": [{"params": params}], "grads": grads, "defaults": _hyper(name, g), "closure": True}
    _compare(ctx, name, spec, TOL64, f"{name}, gradients computed inside step(closure)")


def _large_eps(ctx, name):
    g = ctx.generator(name)
    params, grads = _one_group(ctx, name, g, F64, grad_scale=0.1)  # small gradients: ε dominates
    defaults = _hyper(name, g)
    defaults["eps"] = uniform(g, 0.1, 1.0)
    spec = {"groups": [{"params": params}], "grads": grads, "defaults": defaults}
    _compare(ctx, name, spec, TOL64, f"{name}, large eps")


# --- SGD -------------------------------------------------------------------------------------------


@check("optimizers.SGD", points=1.5)
def sgd_matches_torch_float64(ctx):
    """SGD matches SGD in float64 and leaves .grad unchanged."""
    _matches_torch_float64(ctx, "SGD")


@check("optimizers.SGD", points=1)
def sgd_default_hyperparameters_float32(ctx):
    """SGD with its default hyper-parameters matches torch in float32 (and keeps float32)."""
    _default_hyper_float32(ctx, "SGD")


@check("optimizers.SGD", points=1)
def sgd_two_param_groups(ctx):
    """SGD applies each param group's own hyper-parameters (two groups, float64)."""
    _two_groups(ctx, "SGD")


@check("optimizers.SGD", points=1)
def sgd_params_without_grad(ctx):
    """SGD skips parameters whose .grad is None and leaves their state alone."""
    _params_without_grad(ctx, "SGD")


@check("optimizers.SGD", points=0.5)
def sgd_state_dict_roundtrip(ctx):
    """SGD survives state_dict()/load_state_dict() into a new instance mid-training."""
    _state_dict_roundtrip(ctx, "SGD")


@check("optimizers.SGD", points=1)
def sgd_closure(ctx):
    """SGD.step(closure) calls the closure (which computes the gradients) before updating."""
    _closure(ctx, "SGD")


# --- Momentum --------------------------------------------------------------------------------------


@check("optimizers.Momentum", points=1.5)
def momentum_matches_torch_float64(ctx):
    """Momentum matches SGD in float64 and leaves .grad unchanged."""
    _matches_torch_float64(ctx, "Momentum")


@check("optimizers.Momentum", points=1)
def momentum_default_hyperparameters_float32(ctx):
    """Momentum with its default hyper-parameters matches torch in float32 (and keeps float32)."""
    _default_hyper_float32(ctx, "Momentum")


@check("optimizers.Momentum", points=1.5)
def momentum_two_param_groups(ctx):
    """Momentum applies each param group's own hyper-parameters (two groups, float64)."""
    _two_groups(ctx, "Momentum")


@check("optimizers.Momentum", points=1.5)
def momentum_params_without_grad(ctx):
    """Momentum skips parameters whose .grad is None and leaves their state alone."""
    _params_without_grad(ctx, "Momentum")


@check("optimizers.Momentum", points=1.5)
def momentum_state_dict_roundtrip(ctx):
    """Momentum survives state_dict()/load_state_dict() into a new instance mid-training."""
    _state_dict_roundtrip(ctx, "Momentum")


@check("optimizers.Momentum", points=1)
def momentum_closure(ctx):
    """Momentum.step(closure) calls the closure (which computes the gradients) before updating."""
    _closure(ctx, "Momentum")


# --- Adagrad ---------------------------------------------------------------------------------------


@check("optimizers.Adagrad", points=1.5)
def adagrad_matches_torch_float64(ctx):
    """Adagrad matches Adagrad in float64 and leaves .grad unchanged."""
    _matches_torch_float64(ctx, "Adagrad")


@check("optimizers.Adagrad", points=1)
def adagrad_default_hyperparameters_float32(ctx):
    """Adagrad with its default hyper-parameters matches torch in float32 (and keeps float32)."""
    _default_hyper_float32(ctx, "Adagrad")


@check("optimizers.Adagrad", points=1)
def adagrad_two_param_groups(ctx):
    """Adagrad applies each param group's own hyper-parameters (two groups, float64)."""
    _two_groups(ctx, "Adagrad")


@check("optimizers.Adagrad", points=1)
def adagrad_params_without_grad(ctx):
    """Adagrad skips parameters whose .grad is None and leaves their state alone."""
    _params_without_grad(ctx, "Adagrad")


@check("optimizers.Adagrad", points=1.5)
def adagrad_state_dict_roundtrip(ctx):
    """Adagrad survives state_dict()/load_state_dict() into a new instance mid-training."""
    _state_dict_roundtrip(ctx, "Adagrad")


@check("optimizers.Adagrad", points=0.5)
def adagrad_closure(ctx):
    """Adagrad.step(closure) calls the closure (which computes the gradients) before updating."""
    _closure(ctx, "Adagrad")


@check("optimizers.Adagrad", points=1.5)
def adagrad_large_eps(ctx):
    """Adagrad adds eps where the formula does (after the square root), visible with a large eps."""
    _large_eps(ctx, "Adagrad")


# --- RMSProp ---------------------------------------------------------------------------------------


@check("optimizers.RMSProp", points=1.5)
def rmsprop_matches_torch_float64(ctx):
    """RMSProp matches RMSprop in float64 and leaves .grad unchanged."""
    _matches_torch_float64(ctx, "RMSProp")


@check("optimizers.RMSProp", points=1)
def rmsprop_default_hyperparameters_float32(ctx):
    """RMSProp with its default hyper-parameters matches torch in float32 (and keeps float32)."""
    _default_hyper_float32(ctx, "RMSProp")


@check("optimizers.RMSProp", points=1)
def rmsprop_two_param_groups(ctx):
    """RMSProp applies each param group's own hyper-parameters (two groups, float64)."""
    _two_groups(ctx, "RMSProp")


@check("optimizers.RMSProp", points=1)
def rmsprop_params_without_grad(ctx):
    """RMSProp skips parameters whose .grad is None and leaves their state alone."""
    _params_without_grad(ctx, "RMSProp")


@check("optimizers.RMSProp", points=1.5)
def rmsprop_state_dict_roundtrip(ctx):
    """RMSProp survives state_dict()/load_state_dict() into a new instance mid-training."""
    _state_dict_roundtrip(ctx, "RMSProp")


@check("optimizers.RMSProp", points=0.5)
def rmsprop_closure(ctx):
    """RMSProp.step(closure) calls the closure (which computes the gradients) before updating."""
    _closure(ctx, "RMSProp")


@check("optimizers.RMSProp", points=1.5)
def rmsprop_large_eps(ctx):
    """RMSProp adds eps where the formula does (after the square root), visible with a large eps."""
    _large_eps(ctx, "RMSProp")


# --- Adam ------------------------------------------------------------------------------------------


@check("optimizers.Adam", points=2)
def adam_matches_torch_float64(ctx):
    """Adam matches Adam in float64 and leaves .grad unchanged."""
    _matches_torch_float64(ctx, "Adam")


@check("optimizers.Adam", points=1)
def adam_default_hyperparameters_float32(ctx):
    """Adam with its default hyper-parameters matches torch in float32 (and keeps float32)."""
    _default_hyper_float32(ctx, "Adam")


@check("optimizers.Adam", points=1.5)
def adam_two_param_groups(ctx):
    """Adam applies each param group's own hyper-parameters (two groups, float64)."""
    _two_groups(ctx, "Adam")


@check("optimizers.Adam", points=1.5)
def adam_params_without_grad(ctx):
    """Adam skips parameters whose .grad is None and leaves their state alone."""
    _params_without_grad(ctx, "Adam")


@check("optimizers.Adam", points=1.5)
def adam_state_dict_roundtrip(ctx):
    """Adam survives state_dict()/load_state_dict() into a new instance mid-training."""
    _state_dict_roundtrip(ctx, "Adam")


@check("optimizers.Adam", points=0.5)
def adam_closure(ctx):
    """Adam.step(closure) calls the closure (which computes the gradients) before updating."""
    _closure(ctx, "Adam")


@check("optimizers.Adam", points=2)
def adam_large_eps(ctx):
    """Adam adds eps where the formula does (after the square root), visible with a large eps."""
    _large_eps(ctx, "Adam")
