"""scikit-learn's digits, split as the contract says; built in the judge only."""

import torch


def digits_split():
    """train_test_split(test_size=0.25, random_state=0, stratify=y), pixels / 16, as
    (x_train, y_train, x_test, y_test); images (N, 1, 8, 8) float32, labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)

    def images(a):
        return torch.tensor(a / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)

    return images(xtr), torch.tensor(ytr, dtype=torch.int64), images(xte), torch.tensor(yte, dtype=torch.int64)


def judge_views(images, generator, degrees, scale, erase=0.3):
    """The judge's own label-preserving views of (N, 1, 8, 8) digits: a rotation within ±``degrees``,
    a scaling within ×(1 ± ``scale``), a shift of at most one pixel, noise of 0.05 and, for a share
    ``erase`` of the images, a 3×3 patch erased. Used only to teach the judge's recogniser what a
    view that still shows its digit looks like."""
    import math

    import torch.nn.functional as F

    n = len(images)
    f64 = torch.float64
    angle = (torch.rand(n, generator=generator, dtype=f64) - 0.5) * 2 * math.radians(degrees)
    zoom = 1 - scale + 2 * scale * torch.rand(n, generator=generator, dtype=f64)
    shift = torch.randint(-1, 2, (n, 2), generator=generator).to(f64) * (2 / 8)  # ±1 px in [-1, 1] units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    x = images.to(f64)
    views = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    views = views + 0.05 * torch.randn(views.shape, generator=generator, dtype=f64)
    top, left = torch.randint(0, 6, (2, n), generator=generator)
    rows = torch.arange(8)
    inside_r = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + 3)  # (N, 8)
    inside_c = (rows[None, :] >= left[:, None]) & (rows[None, :] < left[:, None] + 3)  # (N, 8)
    patch = inside_r[:, :, None] & inside_c[:, None, :] & (torch.rand(n, generator=generator) < erase)[:, None, None]
    return views.masked_fill(patch[:, None], 0.0).clamp(0.0, 1.0).to(images.dtype)


_RECOGNISER = []


def recogniser():
    """An RBF support-vector classifier of digits, fitted once per judge process on the clean
    training split and on four views of it from :func:`judge_views` (two at ±20° and ±20 %, two
    at ±30° and ±30 %), all drawn from a fixed seed: the same classifier at every run. It
    recognises the views that keep their digit (rotated, scaled, shifted, noisy, partly erased)
    and not those that turn it into another shape (a mirror image, a zoom onto a stroke)."""
    if not _RECOGNISER:
        from sklearn.svm import SVC

        xtr, ytr, _, _ = digits_split()
        g = torch.Generator().manual_seed(20261129)
        views = [xtr] + [judge_views(xtr, g, d, s) for d, s in ((20.0, 0.2), (20.0, 0.2), (30.0, 0.3), (30.0, 0.3))]
        x = torch.cat(views).reshape(-1, 64).double().numpy()
        _RECOGNISER.append(SVC(C=10.0, gamma="scale").fit(x, torch.cat([ytr] * len(views)).numpy()))
    return _RECOGNISER[0]
