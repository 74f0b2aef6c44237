"""Public check of ``train_dann`` on a public task: moons rotated by 35° with fixed random states.
The grader draws its own angle (30°–40°) and its own moons, and also probes the weights.

With ``leedl check ch06 --plots DIR`` this check also saves the decision boundary on the source
and the target moons.
"""

import math

import torch

from leedl_grader.authoring.checks import Partial, check, expect


def _moons(random_state, angle=0.0):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=1000, noise=0.1, random_state=random_state)
    a = math.radians(angle)
    r = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    return (torch.tensor(x) @ r.T).float(), torch.tensor(y, dtype=torch.int64)


@check("transfer.train_dann", points=1, timeout=300, cpu_limit=60, kind="training")
def public_train_dann_accuracy(ctx):
    """train_dann(seed=0) on the public task: target accuracy; full points at ≥ 0.75."""
    xs, ys = _moons(0)
    xt, _ = _moons(1, 35.0)
    xe, ye = _moons(2, 35.0)
    model = ctx.train("transfer.train_dann", xs, ys, xt, seed=0)
    side = torch.linspace(-2.5, 3.0, 120)
    yy, xx = torch.meshgrid(side, side, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], 1)
    with ctx.load_model(model, "transfer.DANN") as net:
        out, grid_out = net(xe, 0.0), net(grid, 0.0)
    expect(isinstance(out, (tuple, list)) and len(out) == 2 and tuple(out[0].shape) == (1000, 2),
           "DANN.forward(x, 0.0) should return (class logits (N, 2), domain logits)")
    acc = float((out[0].argmax(1) == ye).double().mean())
    prob = torch.softmax(grid_out[0].double(), 1)[:, 1].reshape(len(side), len(side)).float()
    ctx.artifact({"boundary": {"axis": side, "prob": prob,
                                           "points": {"source (labelled)": [xs, ys], "target, rotated 35°": [xe, ye]},
                                           "title": f"train_dann(seed=0): target accuracy {acc:.3f}"}})
    frac = min(max((acc - 0.55) / (0.75 - 0.55), 0.0), 1.0)  # the grader's band: none at 0.55, full at 0.75
    return Partial(frac, f"accuracy {acc:.4f} on the rotated target moons (full points at ≥ 0.75)")
