"""Hidden check of ``train_contrastive_encoder``: a linear probe on the frozen features.

The student's function trains in a sandbox of its own on the digits training split without
labels. Only the returned encoder's class name and weights come back; a fresh sandbox that
never trained rebuilds that class (it must be defined in contrastive.py and build with no
arguments), loads the weights and computes features. The probe itself runs here: a logistic
regression fitted on 50 labelled training images the judge picks (five per class), scored on
the test split, whose labels never leave the judge. No redrawn-weights probe: random features
already score about 0.85 with this probe, so chance is not far below the bar.
"""

import torch

from leedl_grader.authoring.checks import Partial, check, expect

from ._digits import digits_split

# Probe accuracy for full points / for none; linear in between. The contract's 0.90 proved
# unreliable for a reference that trains in seconds (mean probe accuracy 0.912–0.925 over seeds
# 0–2 with 20 epochs): 0.89 keeps a margin of five standard errors. Raw pixels score about 0.86,
# so credit starts at 0.85: features no better than the pixels earn little.
FULL, ZERO = 0.89, 0.85
TIME_LIMIT = 60.0  # CPU seconds on one thread; the reference takes about 8
WALL_LIMIT = 300.0  # wall seconds: only against hangs, generous for a busy machine
FEATURES = 32
PER_CLASS = 5  # labelled images per class for the probe
# One pick of 50 labelled images moves the probe's accuracy by about ±0.02; the grade averages
# PICKS picks (each five per class, drawn from the run's seed), which leaves about ±0.0045.
PICKS = 20


def pick_labelled(y, g):
    """PER_CLASS indices of each class, drawn with the generator ``g``."""
    idx = []
    for c in range(10):
        members = torch.nonzero(y == c)[:, 0]
        idx.append(members[torch.randperm(len(members), generator=g)[:PER_CLASS]])
    return torch.cat(idx)


def probe_accuracy(f_train, y_train, f_test, y_test, g):
    """Mean test accuracy of a logistic regression on PICKS picks of 50 labelled features; and
    the confusion matrix of the last pick (for plots)."""
    from sklearn.linear_model import LogisticRegression

    accs, conf = [], None
    for _ in range(PICKS):
        idx = pick_labelled(y_train, g)
        clf = LogisticRegression(max_iter=3000).fit(f_train[idx].double().numpy(), y_train[idx].numpy())
        pred = torch.as_tensor(clf.predict(f_test.double().numpy()))
        accs.append(float((pred == y_test).double().mean()))
        conf = torch.zeros(10, 10, dtype=torch.int64).index_put_((y_test, pred), torch.ones_like(y_test),
                                                                   accumulate=True)
    return sum(accs) / len(accs), conf


def encoder_features(net, x, what):
    out = net.predict(x)
    expect(tuple(out.shape) == (len(x), FEATURES), f"the encoder maps the {what} to {tuple(out.shape)}; expected "
                                                   f"({len(x)}, {FEATURES}) features")
    expect(bool(torch.isfinite(out).all()), f"the encoder gives non-finite features on the {what}")
    return out.cpu()


def loaded_encoder(ctx, model):
    """The returned encoder rebuilt in a fresh sandbox: its class must come from contrastive.py."""
    expect(model.class_name.startswith("contrastive.") and model.class_name.count(".") == 1,
           f"train_contrastive_encoder returned a {model.class_name.rpartition('.')[2] or 'value'}; return an "
           "instance of a class defined in contrastive.py that builds with no arguments (DigitEncoder, say): the "
           "grader rebuilds it and loads its weights")
    return ctx.load_model(model, model.class_name)


@check("contrastive.train_contrastive_encoder", points=24, timeout=WALL_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def contrastive_linear_probe(ctx):
    """A linear probe on 50 labelled images (five per class, 20 picks averaged): full points at
    ≥ 0.89 test accuracy, none at ≤ 0.85 (raw pixels: about 0.86)."""
    g = ctx.generator()
    seed = int(torch.randint(0, 3, (), generator=g))  # the contract promises the threshold for seeds 0, 1 and 2
    xtr, ytr, xte, yte = digits_split()
    dev = ctx.device
    model = ctx.train("contrastive.train_contrastive_encoder", xtr.to(dev), seed=seed, device=str(dev))
    with loaded_encoder(ctx, model) as net:
        f_train = encoder_features(net, xtr.to(dev), "training images")
        f_test = encoder_features(net, xte.to(dev), "test images")
    acc, conf = probe_accuracy(f_train, ytr, f_test, yte, g)
    ctx.artifact({"confusion": conf, "accuracy": acc})
    frac = min(max((acc - ZERO) / (FULL - ZERO), 0.0), 1.0)
    return Partial(frac, f"train_contrastive_encoder(seed={seed}): linear-probe accuracy {acc:.4f} (mean of "
                         f"{PICKS} picks of 50 labelled images); full points at ≥ {FULL}, none at ≤ {ZERO}")
