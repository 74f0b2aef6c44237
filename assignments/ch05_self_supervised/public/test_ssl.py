"""Public checks for chapter 5: one quick check per exercise. The grader runs many more
(statistical tests of the 80/10/10 rule, gradients, float32, label-preserving views, its own
picks of labelled images for the probe)."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import Partial, check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal

F64 = torch.float64


@check("masking.mask_tokens", points=0.5)
def public_mask_tokens_rules(ctx):
    """Special positions are never chosen; labels are −100 or the original id; mask_prob=0 changes nothing."""
    ids = torch.randint(5, 30, (4, 20), generator=ctx.generator())
    special = torch.zeros(4, 20, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    new, labels = ctx.run("seeded_call", target="masking.mask_tokens", seeds=[0], args=[ids, 1, 30, special],
                          kwargs={"mask_prob": 0.5})[0]
    chosen = labels != -100
    expect(not bool((chosen & special).any()), "a special position was chosen")
    assert_equal(labels[chosen], ids[chosen], what="labels at the chosen positions")
    assert_equal(new[~chosen], ids[~chosen], what="ids at the positions that were not chosen")
    new0, labels0 = ctx.run("seeded_call", target="masking.mask_tokens", seeds=[0], args=[ids, 1, 30, special],
                            kwargs={"mask_prob": 0.0})[0]
    assert_equal(new0, ids, what="ids with mask_prob=0")
    expect(bool((labels0 == -100).all()), "labels with mask_prob=0 should all be -100")


@check("masking.mlm_loss", points=0.5)
def public_mlm_loss(ctx):
    """Matches F.cross_entropy(ignore_index=-100)."""
    g = ctx.generator()
    logits = torch.randn(2, 5, 7, generator=g, dtype=F64)
    labels = torch.tensor([[-100, 3, -100, -100, 1], [6, -100, -100, -100, -100]])
    want = F.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1), ignore_index=-100)
    assert_close(ctx.call("masking.mlm_loss", logits, labels), want, rtol=1e-12, atol=1e-12, what="mlm_loss")


@check("contrastive.nt_xent_loss", points=0.5)
def public_nt_xent(ctx):
    """Two orthogonal pairs at temperature 1: each row's partner has similarity 1 against two candidates at 0."""
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)
    got = ctx.call("contrastive.nt_xent_loss", z1, z1.clone(), temperature=1.0)
    e = torch.exp(torch.tensor(1.0, dtype=F64))
    assert_close(got, -torch.log(e / (e + 2)), rtol=1e-12, atol=1e-12, what="nt_xent_loss")


@check("contrastive.augment_digits", points=0.5)
def public_augment_digits(ctx):
    """Same shape and dtype; the views differ from the images; a seeded generator reproduces them."""
    x = torch.rand(8, 1, 8, 8, generator=ctx.generator())
    a, b = ctx.run("seeded_call", target="contrastive.augment_digits", seeds=[3, 3], args=[x])
    assert_equal(tuple(a.shape), (8, 1, 8, 8), what="shape of the views")
    assert_equal(str(a.dtype), str(x.dtype), what="dtype of the views")
    expect(not torch.equal(a, x), "the views are the images themselves")
    expect(torch.equal(a, b), "the same generator seed gave different views")


PUBLIC_IMAGES = 300  # a quarter of the split: the public check costs a quarter of a full training


@check("contrastive.train_contrastive_encoder", points=1, timeout=300, cpu_limit=60, kind="training")
def public_contrastive_encoder_interface(ctx):
    """train_contrastive_encoder(first 300 training images, seed=0) returns an encoder of this
    file's classes that the grader can rebuild, mapping (N, 1, 8, 8) to finite (N, 32) features.

    It trains on a quarter of the data to stay quick, so the probe accuracy printed is below what
    the full split gives; the grader trains on the whole split and scores the probe (full points
    at ≥ 0.89). With ``leedl check ch05 --plots DIR`` it saves the probe's confusion matrix."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)
    xtr = torch.tensor(xtr / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    xte = torch.tensor(xte / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    model = ctx.train("contrastive.train_contrastive_encoder", xtr[:PUBLIC_IMAGES], seed=0)
    expect(model.class_name.startswith("contrastive."),
           f"train_contrastive_encoder returned a {model.class_name.rpartition('.')[2]}: return an instance of a "
           "class defined in contrastive.py that builds with no arguments (the grader rebuilds it)")
    with ctx.load_model(model, model.class_name) as net:
        ftr, fte = net.predict(xtr), net.predict(xte)
    expect(tuple(fte.shape) == (len(xte), 32), f"the encoder gives {tuple(fte.shape)}; expected (N, 32) features")
    expect(bool(torch.isfinite(ftr).all() and torch.isfinite(fte).all()), "the encoder gives non-finite features")
    idx = [i for c in range(10) for i in [j for j in range(len(ytr)) if ytr[j] == c][:5]]
    clf = LogisticRegression(max_iter=3000).fit(ftr[idx].double().numpy(), ytr[idx])
    pred = torch.as_tensor(clf.predict(fte.double().numpy()))
    y = torch.as_tensor(yte)
    acc = float((pred == y).double().mean())
    conf = torch.zeros(10, 10, dtype=torch.int64).index_put_((y, pred), torch.ones_like(y), accumulate=True)
    ctx.artifact({"confusion": conf, "accuracy": acc})
    return Partial(1.0, f"the encoder rebuilds and gives (N, 32) features; probe accuracy {acc:.3f} after training "
                        f"on {PUBLIC_IMAGES} images (the grader trains on all of them: full points at ≥ 0.89)")
