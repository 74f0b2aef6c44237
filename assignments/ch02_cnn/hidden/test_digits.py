"""Hidden checks for digits.py: the model's interface, and test accuracy of ``train_digits``.

The student's ``train_digits`` runs in the student's process (one CPU thread, a time limit);
the judge builds the test split itself, sends its images (and a perturbed copy) to the
returned model there, and computes the accuracy from the logits that come back.
"""

import torch

from leedl_grader.checks import Partial, check, expect
from leedl_grader.compare import assert_equal

from ._util import F32, randint

CONV_OPS = {"aten::convolution", "aten::im2col", "aten::unfold", "aten::as_strided"}
POOL_OPS = {"aten::max_pool2d", "aten::max_pool2d_with_indices", "aten::avg_pool2d", "aten::adaptive_max_pool2d",
            "aten::_adaptive_avg_pool2d", "aten::amax", "aten::max"}
LINEAR_OPS = {"aten::addmm", "aten::mm", "aten::matmul", "aten::linear", "aten::bmm"}


@check("digits.DigitCNN", points=1)
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


@check("digits.DigitCNN", points=1)
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


def digits_test_split():
    """The contract's split: train_test_split(test_size=0.25, random_state=0, stratify=y), pixels / 16."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    _, X, _, y = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return torch.tensor(X / 16.0, dtype=F32).reshape(-1, 1, 8, 8), torch.tensor(y, dtype=torch.int64)


def perturb(x, g):
    """A label-preserving copy: per-image contrast ±10 % and pixel noise of σ = 0.05, clipped to
    [0, 1]. A model that learned digits barely notices; a memorised test split does not help."""
    scale = 1 + 0.1 * (2 * torch.rand(len(x), 1, 1, 1, generator=g) - 1)
    return (x * scale + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def confusion(pred, y, k=10):
    m = torch.zeros(k, k, dtype=torch.int64)
    m.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    return m


def _emit_plots(ctx, **data):
    """Hand plain data to the engine for ``leedl check --plots`` (see leedl_grader.plots)."""
    artifact = getattr(ctx, "artifact", None)
    if callable(artifact):
        artifact("digits", data)


@check("digits.train_digits", points=4, timeout=TIME_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def digits_test_accuracy(ctx):
    """Test-split accuracy (and on a perturbed copy): full points at ≥ 0.96, none at ≤ 0.80."""
    g = ctx.generator()
    seed = randint(g, 0, 2)  # the contract promises the threshold for seeds 0, 1 and 2
    x, y = digits_test_split()
    xp = perturb(x, g)
    got = ctx.run("train_predict", target="digits.train_digits", kwargs={"seed": seed, "device": str(ctx.device)},
                  inputs=[x.to(ctx.device), xp.to(ctx.device)], filters=True)
    accs = []
    for name, out in zip(("test split", "perturbed test split"), got["outputs"]):
        expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (len(y), 10),
               f"the trained model's output on the {name} should be ({len(y)}, 10) logits, got "
               f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        expect(bool(torch.isfinite(out).all()), f"the trained model gives non-finite logits on the {name}")
        accs.append(float((out.cpu().argmax(1) == y).double().mean()))
    pred = got["outputs"][0].cpu().argmax(1)
    _emit_plots(ctx, filters=got.get("filters"), confusion=confusion(pred, y), accuracy=accs[0])
    acc = min(accs)
    frac = min(max((acc - ZERO) / (FULL - ZERO), 0.0), 1.0)
    msg = (f"train_digits(seed={seed}): accuracy {accs[0]:.4f} on the test split, {accs[1]:.4f} on a perturbed "
           f"copy; graded on the lower, full points at ≥ {FULL}, none at ≤ {ZERO}")
    return Partial(frac, msg)
