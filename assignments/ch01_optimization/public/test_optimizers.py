"""Public checks for optimizers.py (notes 1.2, 1.3): each optimizer against torch.optim."""

import torch

from leedl_grader.authoring.checks import check
from leedl_grader.authoring.compare import assert_close
from leedl_grader.drivers import run_local

F64 = torch.float64
CASES = {  # exercise -> (torch class, hyper-parameters for both)
    "SGD": (torch.optim.SGD, {"lr": 0.1}),
    "Momentum": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.8}),
    "Adagrad": (torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10}),
    "RMSProp": (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}),
    "Adam": (torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8}),
}


def _make(name):
    cls, hyper = CASES[name]

    def fn(ctx):
        g = ctx.generator(name)
        params = [torch.randn(s, generator=g, dtype=F64).to(ctx.device) for s in [(3,), (2, 2)]]
        grads = [[torch.randn(p.shape, generator=g, dtype=F64).to(ctx.device) for p in params] for _ in range(5)]
        spec = {"groups": [{"params": params}], "grads": grads, "defaults": hyper}
        got = ctx.run("optimizer_trajectory", target=f"optimizers.{name}", **spec)
        want = run_local("optimizer_trajectory", cls, **spec)
        # float64, 5 steps of a few operations: rounding stays far below 1e-12
        assert_close(got["params"], want["params"], rtol=1e-12, atol=1e-12, what="parameters after step")

    fn.__name__ = f"public_{name.lower()}_matches_torch"
    fn.__doc__ = f"{name} matches {cls.__name__} over 5 steps (float64, one param group)."
    return check(f"optimizers.{name}", points=0.5)(fn)


public_sgd_matches_torch = _make("SGD")
public_momentum_matches_torch = _make("Momentum")
public_adagrad_matches_torch = _make("Adagrad")
public_rmsprop_matches_torch = _make("RMSProp")
public_adam_matches_torch = _make("Adam")
