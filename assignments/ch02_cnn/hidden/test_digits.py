"""Hidden checks for digits.py: the model's interface, and test accuracy of ``train_digits``.

The judge builds the digits split itself and passes the training half to the student's
``train_digits`` in a sandbox of its own (one CPU thread, a time limit), which hands back only the
model's class and weights. A fresh sandbox that never saw training builds a new ``DigitCNN()``,
loads those weights and answers forward calls on the test images (and a perturbed copy); the
labels never leave the judge, which computes the accuracy. The same weights redrawn by the judge
must fall to about chance: the behaviour has to live in the weights.
"""

import torch

from leedl_grader.authoring.checks import Partial, check, expect
from leedl_grader.authoring.compare import assert_equal

from ._util import F32, randint

CONV_OPS = {"aten::convolution", "aten::im2col", "aten::unfold", "aten::as_strided"}
POOL_OPS = {"aten::max_pool2d", "aten::max_pool2d_with_indices", "aten::avg_pool2d", "aten::adaptive_max_pool2d",
            "aten::_adaptive_avg_pool2d", "aten::amax", "aten::max"}
LINEAR_OPS = {"aten::addmm", "aten::mm", "aten::matmul", "aten::linear", "aten::bmm"}


@check("digits.DigitCNN", points=2)
def digitcnn_output_shape(ctx):
    """DigitCNN() maps (N, 1, 8, 8) float32 to (N, 10) float32 logits, N = 1 included."""
    g = ctx.generator()
    inputs = [torch.rand(n, 1, 8, 8, generator=g, dtype=F32).to(ctx.device) for n in (1, randint(g, 5, 9))]
    got = ctx.run("module_probe", target="digits.DigitCNN", inputs=inputs, device=str(ctx.device))
    for x, out in zip(inputs, got["outputs"]):
        expect(isinstance(out, torch.Tensor), f"DigitCNN()(x) returned {type(out).__name__}, expected a tensor")
        assert_equal(tuple(out.shape), (x.shape[0], 10), what=f"output shape for a batch of {x.shape[0]}")
        assert_equal(str(out.dtype), str(F32), what="output dtype")
        expect(bool(torch.isfinite(out).all()), "DigitCNN gives non-finite logits on inputs in [0, 1]")


@check("digits.DigitCNN", points=2)
def digitcnn_has_conv_pool_linear(ctx):
    """The network has at least one convolution, one pooling and one fully connected layer."""
    g = ctx.generator()
    x = torch.rand(3, 1, 8, 8, generator=g, dtype=F32).to(ctx.device)
    got = ctx.run("module_probe", target="digits.DigitCNN", inputs=[x], device=str(ctx.device))
    kinds, ops = set(got["kinds"]), set(got["ops"])
    wanted = (("a convolution", "conv", CONV_OPS), ("a pooling layer", "pool", POOL_OPS),
              ("a fully connected layer", "linear", LINEAR_OPS))
    missing = [name for name, kind, found in wanted if kind not in kinds and not (ops & found)]
    expect(not missing, f"DigitCNN has no {' and no '.join(missing)} (chapter 2: convolution, pooling, "
                        "then fully connected layers)")


# ------------------------------------------------------------------------------- train_digits

FULL, ZERO = 0.96, 0.80  # accuracy for full points / for none; linear in between
TIME_LIMIT = 120.0  # seconds on one CPU thread; the reference takes about 7


def digits_split():
    """The contract's split: train_test_split(test_size=0.25, random_state=0, stratify=y), pixels / 16,
    as (x_train, y_train, x_test, y_test); images (N, 1, 8, 8) float32, labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)

    def images(a):
        return torch.tensor(a / 16.0, dtype=F32).reshape(-1, 1, 8, 8)

    return images(xtr), torch.tensor(ytr, dtype=torch.int64), images(xte), torch.tensor(yte, dtype=torch.int64)


def perturb(x, g):
    """A label-preserving copy: per-image contrast ±10 % and pixel noise of σ = 0.05, clipped to
    [0, 1]. A model that learned digits barely notices; a memorised test split does not help."""
    scale = 1 + 0.1 * (2 * torch.rand(len(x), 1, 1, 1, generator=g) - 1)
    return (x * scale + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def confusion(pred, y, k=10):
    m = torch.zeros(k, k, dtype=torch.int64)
    m.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    return m


def _emit_plots(ctx, filters, confusion, accuracy):
    """Hand plain data to the engine for ``leedl check --plots`` (see leedl_grader.plots)."""
    ctx.artifact({"images": {"filters": {"panels": filters, "title": "first-layer filters"}},
                            "confusion": confusion, "accuracy": accuracy})


# Weights redrawn by the judge (each tensor from a normal law with its own mean and spread) leave a
# learned model at about chance (0.1; the reference measures 0.05–0.2): one that still scores at
# least this is computing its answers some other way than with its weights, and scores 0.
REINIT_MAX = 0.5


def accuracy(out, y, what):
    expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (len(y), 10),
           f"the trained model's output on the {what} should be ({len(y)}, 10) logits, got "
           f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    expect(bool(torch.isfinite(out).all()), f"the trained model gives non-finite logits on the {what}")
    return float((out.cpu().argmax(1) == y).double().mean())


@check("digits.train_digits", points=16, timeout=TIME_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def digits_test_accuracy(ctx):
    """Test-split accuracy (and on a perturbed copy): full points at ≥ 0.96, none at ≤ 0.80."""
    g = ctx.generator()
    seed = randint(g, 0, 2)  # the contract promises the threshold for seeds 0, 1 and 2
    xtr, ytr, x, y = digits_split()
    xp = perturb(x, g)
    dev = ctx.device
    model = ctx.train("digits.train_digits", xtr.to(dev), ytr.to(dev), seed=seed, device=str(dev))
    with ctx.load_model(model, "digits.DigitCNN") as net:
        outs = [net.predict(x.to(dev)), net.predict(xp.to(dev))]
    accs = [accuracy(out, y, what) for out, what in zip(outs, ("test split", "perturbed test split"))]
    with ctx.load_model(model.reinitialised(ctx.generator("reinit")), "digits.DigitCNN") as probe:
        redrawn = accuracy(probe.predict(x.to(dev)), y, "test split")
    expect(redrawn < REINIT_MAX,
           f"the returned DigitCNN keeps {redrawn:.2f} accuracy when the grader redraws its weights: what it "
           "computes does not come from its trained weights, so it scores 0")
    pred = outs[0].cpu().argmax(1)
    _emit_plots(ctx, filters=model.first_filters(), confusion=confusion(pred, y), accuracy=accs[0])
    acc = min(accs)
    frac = min(max((acc - ZERO) / (FULL - ZERO), 0.0), 1.0)
    msg = (f"train_digits(seed={seed}): accuracy {accs[0]:.4f} on the test split, {accs[1]:.4f} on a perturbed "
           f"copy; graded on the lower, full points at ≥ {FULL}, none at ≤ {ZERO}")
    return Partial(frac, msg)
