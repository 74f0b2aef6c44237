"""Public check for digits.py. train_digits trains for seconds: the public check scores seed 0 on the
test split; the grader also scores other seeds and a perturbed copy."""

import torch

from leedl_grader.authoring.checks import Partial, check, expect
from leedl_grader.authoring.compare import assert_equal


@check("digits.DigitCNN", points=0.5)
def public_digitcnn_shape(ctx):
    """DigitCNN() maps (4, 1, 8, 8) to (4, 10)."""
    x = torch.rand(4, 1, 8, 8, generator=ctx.generator())
    got = ctx.run("module_probe", target="digits.DigitCNN", inputs=[x])
    out = got["outputs"][0]
    expect(isinstance(out, torch.Tensor), f"DigitCNN()(x) returned {type(out).__name__}, expected a tensor")
    assert_equal(tuple(out.shape), (4, 10), what="output shape")


@check("digits.train_digits", points=0.5, timeout=120, cpu_limit=120, kind="training")
def public_train_digits_accuracy(ctx):
    """train_digits(x_train, y_train, seed=0): accuracy on the contract's test split; full points at ≥ 0.96.

    As in grading, the training split goes in as arguments, and a new DigitCNN() built in a fresh
    sandbox with the returned weights is what gets scored. With ``leedl check ch02 --plots DIR``
    this check also saves the first-layer filters and the confusion matrix of the trained model.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, x, ytr, y = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)
    xtr = torch.tensor(xtr / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    x = torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    ytr, y = torch.tensor(ytr, dtype=torch.int64), torch.tensor(y, dtype=torch.int64)
    model = ctx.train("digits.train_digits", xtr.to(ctx.device), ytr.to(ctx.device), seed=0, device=str(ctx.device))
    with ctx.load_model(model, "digits.DigitCNN") as net:
        out = net.predict(x.to(ctx.device))
    expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (len(y), 10),
           f"the trained model should give ({len(y)}, 10) logits on the test split")
    pred = out.cpu().argmax(1)
    acc = float((pred == y).double().mean())
    # The grader's probe: weights redrawn (same shapes) must leave about chance (0.1).
    with ctx.load_model(model.reinitialised(ctx.generator("reinit")), "digits.DigitCNN") as probe:
        redrawn = probe.predict(x.to(ctx.device))
    expect(float((redrawn.cpu().argmax(1) == y).double().mean()) < 0.5,
           "the returned DigitCNN keeps its accuracy when its weights are redrawn: what it computes does not "
           "come from its trained weights, so it scores 0")
    conf = torch.zeros(10, 10, dtype=torch.int64).index_put_((y, pred), torch.ones_like(y), accumulate=True)
    ctx.artifact({"images": {"filters": {"panels": model.first_filters(), "title": "first-layer filters"}},
                            "confusion": conf, "accuracy": acc})
    frac = min(max((acc - 0.80) / (0.96 - 0.80), 0.0), 1.0)  # the grader's band: none at 0.80, full at 0.96
    return Partial(frac, f"test accuracy {acc:.4f} (full points at ≥ 0.96)")
