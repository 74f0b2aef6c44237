"""Hidden checks for contrastive.py: SimCLR's loss against the judge's own, the augmentation's
contract (random, reproducible, label-preserving, the input untouched)."""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.authoring.helpers import randint

from ._digits import digits_split, recogniser

F64, F32 = torch.float64, torch.float32
# float64: a (2N)×(2N) similarity matrix of unit vectors and a log-sum-exp per row: ~1e-15 of
# rounding; 1e-12 admits every correct order of operations.
TOL64 = dict(rtol=1e-12, atol=1e-12)
# float32 (eps 1.2e-7) through normalisation, a matrix product, /τ and log-sum-exp.
TOL32 = dict(rtol=1e-5, atol=1e-5)


def nt_xent(z1, z2, temperature=0.5):
    """The judge's NT-Xent: unit vectors, cosine similarities / τ, self excluded, CE to the partner."""
    z = torch.cat([z1, z2])
    z = z / z.norm(dim=1, keepdim=True)
    sim = z @ z.T / temperature
    n2 = len(z)
    sim = sim - torch.diag(torch.full((n2,), float("inf"), dtype=sim.dtype, device=sim.device))
    partner = (torch.arange(n2) + n2 // 2) % n2
    return -(sim.log_softmax(1)[torch.arange(n2), partner.to(sim.device)]).mean()


def _pairs(g, device, dtype=F64, n=None):
    n = n or randint(g, 4, 8)
    d = randint(g, 5, 10)
    z1 = 2 * torch.randn(n, d, generator=g, dtype=F64)
    z2 = z1 + torch.randn(n, d, generator=g, dtype=F64)  # partners look alike, as two views would
    return z1.to(dtype=dtype, device=device), z2.to(dtype=dtype, device=device)


@check("contrastive.nt_xent_loss", points=8)
def nt_xent_float64(ctx):
    """Matches the contract's loss in float64, at the default temperature and at a random one;
    inputs of any norm (the loss L2-normalises)."""
    g = ctx.generator()
    z1, z2 = _pairs(g, ctx.device)
    assert_close(ctx.call("contrastive.nt_xent_loss", z1, z2), nt_xent(z1, z2), what="nt_xent_loss(z1, z2)", **TOL64)
    t = 0.05 + 0.9 * float(torch.rand((), generator=g))
    assert_close(ctx.call("contrastive.nt_xent_loss", z1, z2, temperature=t), nt_xent(z1, z2, t),
                 what=f"nt_xent_loss with temperature={t:.3f}", **TOL64)


@check("contrastive.nt_xent_loss", points=4)
def nt_xent_gradients(ctx):
    """The gradients with respect to z1 and z2 match autograd's on the contract's loss."""
    g = ctx.generator()
    z1, z2 = _pairs(g, ctx.device)
    got = ctx.run("grad", target="contrastive.nt_xent_loss", args=[z1, z2], wrt=[0, 1])
    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    want = torch.autograd.grad(nt_xent(a, b), [a, b])
    for name, gg, w in zip(("z1", "z2"), got["grads"], want):
        expect(gg is not None, f"no gradient reaches {name}")
        assert_close(gg, w, what=f"gradient with respect to {name}", **TOL64)


@check("contrastive.nt_xent_loss", points=4)
def nt_xent_float32_and_single_pair(ctx):
    """float32 stays float32; one pair (N = 1) has only its partner as a candidate: loss 0."""
    g = ctx.generator()
    z1, z2 = _pairs(g, ctx.device, F32)
    got = ctx.call("contrastive.nt_xent_loss", z1, z2)
    expect(isinstance(got, torch.Tensor) and got.numel() == 1, "nt_xent_loss should return a scalar tensor")
    assert_equal(str(got.dtype), str(F32), what="dtype of the loss")
    assert_close(got.reshape(()), nt_xent(z1.double(), z2.double()).float(), what="float32 nt_xent_loss", **TOL32)
    one1, one2 = _pairs(g, ctx.device, F64, n=1)
    assert_close(ctx.call("contrastive.nt_xent_loss", one1, one2).reshape(()), torch.zeros((), dtype=F64),
                 what="nt_xent_loss of a single pair (the partner is the only candidate)", rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ augment_digits


def _aug(ctx, x, seeds, global_seeds=None):
    outs = ctx.run("seeded_call", target="contrastive.augment_digits", seeds=seeds, args=[x],
                   global_seeds=global_seeds)
    for o in outs:
        expect(isinstance(o, torch.Tensor), f"augment_digits returned {type(o).__name__}, not a tensor")
        assert_equal(tuple(o.shape), tuple(x.shape), what="shape of the views")
        assert_equal(str(o.dtype), str(x.dtype), what="dtype of the views")
        expect(bool(torch.isfinite(o).all()), "augment_digits gave non-finite pixels")
    return [o.cpu() for o in outs]


@check("contrastive.augment_digits", points=4)
def augment_changes_views_not_input(ctx):
    """Views differ from the images (float32 and float64) and from each other, per image even
    within a batch of copies of one image; the input is not modified."""
    g = ctx.generator()
    x = digits_split()[2][:64]
    for dtype in (F32, F64):
        xx = x.to(dtype=dtype, device=ctx.device)
        res = ctx.run("call", target="contrastive.augment_digits", args=[xx], return_args=True)
        assert_close(res["args"][0], xx, rtol=0, atol=0, what="images after augment_digits (must not change)")
        (v,) = _aug(ctx, xx, [randint(g, 0, 2**30)])
        moved = (v - xx.cpu()).abs().mean().item()
        expect(moved > 0.01, f"the views are (nearly) the images themselves: mean change {moved:.4f} per pixel")
    copies = x[:1].expand(16, 1, 8, 8).contiguous().to(ctx.device)
    (v,) = _aug(ctx, copies, [randint(g, 0, 2**30)])
    distinct = len({tuple(t.flatten().tolist()) for t in v})
    expect(distinct > 8, f"16 copies of one image gave only {distinct} different views: draw each image's "
                         "augmentation on its own")


@check("contrastive.augment_digits", points=4)
def augment_uses_generator(ctx):
    """The same generator seed gives the same views whatever the global RNG; another seed differs."""
    g = ctx.generator()
    x = digits_split()[2][:32].to(ctx.device)
    s = randint(g, 0, 2**30)
    a, b, c = _aug(ctx, x, [s, s, s + 1], global_seeds=[4, 5, 6])
    expect(torch.equal(a, b), "two calls with generators seeded alike gave different views: draw every random "
                              "number from `generator`")
    expect(not torch.equal(a, c), "two different generator seeds gave the same views")


# The judge's recogniser (_digits.recogniser: an RBF support-vector classifier fitted on the clean
# training split and on the judge's own views of it, rotated, scaled, shifted, noisy, partly
# erased) recognises, out of three views of each of the 450 test images: 0.82–0.85 of the
# reference's, 0.91 of views without rotation, scaling or erasing, 0.75–0.80 of views at ±30° and
# ±30 %; but 0.57–0.59 where half the views are mirrored (a 2, 3, 5 or 7 mirrored is no digit),
# 0.41 for zooms onto 45–75 % of the side, 0.36 for quarter turns, 0.10 for inverted images.
# The bar sits between: 0.7. Its false-failure rate for the reference: even counting the three
# views of an image as one draw (450 draws), the accuracy's standard deviation is at most
# sqrt(0.25 / 450) = 0.024, and 0.83 − 0.70 is more than 5 of them: below 1e-6 (Hoeffding:
# 2·exp(−2·450·0.13²) ≈ 5e-7).
LABEL_KEPT = 0.7
VIEWS = 3


@check("contrastive.augment_digits", points=8)
def augment_preserves_labels(ctx):
    """The judge's recogniser of digits (trained here on clean digits and on rotated, scaled,
    shifted, noisy and erased ones) recognises ≥ 0.7 of three views of each test image: views
    may be strong, but a mirrored digit or a zoom onto one stroke is no longer the digit."""
    g = ctx.generator()
    _, _, xte, yte = digits_split()
    views = _aug(ctx, xte.to(ctx.device), [randint(g, 0, 2**30) for _ in range(VIEWS)])
    x = torch.cat(views).reshape(-1, 64).double().numpy()  # the judge's work after the student's call
    acc = float((torch.as_tensor(recogniser().predict(x)) == torch.cat([yte] * VIEWS)).double().mean())
    expect(acc >= LABEL_KEPT, f"a recogniser of digits (trained on clean, rotated, scaled, shifted, noisy and erased "
                              f"digits) recognises only {acc:.3f} of the views (≥ {LABEL_KEPT} expected; about 0.83 for "
                              "views that keep their digit): the augmentation changes what digit is shown (a flip, "
                              "a crop too tight, a turn too far?)")
