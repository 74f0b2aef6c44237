"""Pictures of what a check measured, for ``leedl check CHAPTER --plots DIR``.

A check hands plain data to the engine (tensors, numbers, lists); this module turns it into PNG
files. matplotlib is an optional extra (``pip install leedl[plots]``): without it nothing is
drawn and :func:`save_plots` returns an empty list.

A small generic set of picture kinds, one per key of ``plot_data`` (each optional); a chapter
that needs another registers it with :func:`plot` from its ``public/drivers.py`` (which the judge
imports before the checks):
    ``images``: ``{name: {"panels": (N, H, W) or (N, C, H, W), "title": str}}``, one PNG per name
        with a grid of images on one colour scale (channel 0 of 4-D panels: learned filters...).
    ``confusion``: (K, K) counts, row = true class, column = predicted class.
    ``accuracy``: a float shown in the confusion matrix's title.
    ``curve``: a training curve, ``{"x": [...], "xlabel": str, "series": {name: [...]}, "title": str}``, one
        panel per series (loss and accuracy have different scales).
    ``boundary``: a 2-D classifier's decision boundary: ``{"axis": (S,) grid coordinates (both
        axes), "prob": (S, S) probability of class 1 at (y, x), "points": {label: [x (N, 2), y (N,)]},
        "title": str}``; one panel per entry of ``points``.
    ``heatmaps``: ``{name: {"panels": (P, H, W) or (H, W), "title": str, "titles": [str] * P,
        "xlabel": str, "ylabel": str}}``, one PNG per name with one heat map per panel
        (attention weights per head, a positional-encoding matrix...).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch

# key of plot_data -> draw(plt, value, plot_data, chapter_name, out_dir) -> [paths written]
PLOTS: dict[str, Callable] = {}


def plot(key: str):
    """Register a picture kind: ``draw(plt, value, plot_data, chapter_name, out_dir)`` returns the
    paths it wrote, and skips (returns []) a value of the wrong kind."""

    def wrap(fn):
        PLOTS[key] = fn
        return fn

    return wrap


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _images(plt, panels: torch.Tensor, title: str, path: Path) -> Path:
    w = panels.detach().cpu().double()
    w = w.reshape(-1, *w.shape[-2:]) if w.dim() != 4 else w[:, 0]  # (N, H, W)
    n = w.shape[0]
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.6), squeeze=False)
    lim = float(w.abs().max()) or 1.0  # one colour scale for all: panels compare by eye
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(w[k].numpy(), cmap="coolwarm", vmin=-lim, vmax=lim)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _confusion(plt, m: torch.Tensor, title: str, path: Path) -> Path:
    m = m.detach().cpu().to(torch.int64)
    k = m.shape[0]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(m.numpy(), cmap="Blues")
    for i in range(k):
        for j in range(k):
            v = int(m[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > m.max() / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _boundary(plt, b: dict, title: str, path: Path) -> Path:
    axis = b["axis"].detach().cpu().double().numpy()
    prob = b["prob"].detach().cpu().double().numpy()
    sets = [(str(k), v) for k, v in b.get("points", {}).items() if isinstance(v, (list, tuple)) and len(v) == 2]
    fig, axes = plt.subplots(1, max(len(sets), 1), figsize=(4.5 * max(len(sets), 1), 4.2), squeeze=False)
    for ax, (label, (x, y)) in zip(axes.flat, sets or [("", (None, None))]):
        ax.contourf(axis, axis, prob, levels=20, cmap="coolwarm", alpha=0.35, vmin=0, vmax=1)
        ax.contour(axis, axis, prob, levels=[0.5], colors="black", linewidths=1)
        if x is not None:
            x, y = x.detach().cpu().double().numpy(), y.detach().cpu().numpy()
            ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=4, vmin=0, vmax=1)
        ax.set_title(label)
    fig.suptitle(str(b.get("title") or title))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _curve(plt, curve: dict, title: str, path: Path) -> Path | None:
    x, series = curve.get("x"), curve.get("series")
    if not isinstance(x, list) or not isinstance(series, dict) or not series:
        return None
    series = {str(k): v for k, v in series.items() if isinstance(v, list) and len(v) == len(x)}
    if not series:
        return None
    fig, axes = plt.subplots(1, len(series), figsize=(4.2 * len(series), 3.2), squeeze=False)
    for ax, (name, ys) in zip(axes.flat, series.items()):
        ax.plot(x, ys, marker="o", markersize=3)
        ax.set_xlabel(str(curve.get("xlabel", "")))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    fig.suptitle(str(curve.get("title") or title))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _heatmaps(plt, panels: torch.Tensor, spec: dict, path: Path) -> Path:
    m = panels.detach().cpu().double()
    m = m.unsqueeze(0) if m.dim() == 2 else m.reshape(-1, *m.shape[-2:])  # (P, H, W)
    n = m.shape[0]
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.4 * rows + 0.5), squeeze=False, layout="constrained")
    titles = spec.get("titles") if isinstance(spec.get("titles"), (list, tuple)) else []
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        im = ax.imshow(m[k].numpy(), cmap="viridis", aspect="auto", interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if k < len(titles):
            ax.set_title(str(titles[k]), fontsize=9)
        ax.set_xlabel(str(spec.get("xlabel", "")), fontsize=8)
        ax.set_ylabel(str(spec.get("ylabel", "")), fontsize=8)
    fig.suptitle(str(spec.get("title", "")))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def save_plots(chapter_name: str, plot_data: dict, out_dir) -> list[Path]:
    """Write a PNG per known key of ``plot_data`` into ``out_dir``; return the paths written.

    File names start with ``chapter_name``. Unknown keys and values of the wrong kind are
    skipped, never an error: plots are a courtesy, not part of the grade.
    """
    if not plot_data or not available():
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    written: list[Path] = []
    for key, draw in PLOTS.items():
        if key in plot_data:
            written += draw(plt, plot_data[key], plot_data, chapter_name, out)
    return written


def _named(value: dict):
    """The entries ``name -> spec`` of a per-name kind whose name can be part of a file name."""
    return [(n, v) for n, v in (value.items() if isinstance(value, dict) else ())
            if isinstance(n, str) and n.isidentifier() and isinstance(v, dict)]


@plot("images")
def _draw_images(plt, value, plot_data, chapter_name, out) -> list[Path]:
    written = []
    for name, spec in _named(value):
        panels = spec.get("panels")
        if isinstance(panels, torch.Tensor) and panels.dim() >= 2 and panels.numel():
            title = f"{chapter_name}: {spec.get('title') or name}"
            written.append(_images(plt, panels, title, out / f"{chapter_name}_{name}.png"))
    return written


@plot("confusion")
def _draw_confusion(plt, conf, plot_data, chapter_name, out) -> list[Path]:
    if not (isinstance(conf, torch.Tensor) and conf.dim() == 2 and conf.shape[0] == conf.shape[1]):
        return []
    acc = plot_data.get("accuracy")
    title = f"{chapter_name}: confusion matrix" + (f" (accuracy {acc:.3f})" if isinstance(acc, float) else "")
    return [_confusion(plt, conf, title, out / f"{chapter_name}_confusion.png")]


@plot("curve")
def _draw_curve(plt, curve, plot_data, chapter_name, out) -> list[Path]:
    if not isinstance(curve, dict):
        return []
    path = _curve(plt, curve, f"{chapter_name}: training curve", out / f"{chapter_name}_curve.png")
    return [path] if path is not None else []


@plot("boundary")
def _draw_boundary(plt, b, plot_data, chapter_name, out) -> list[Path]:
    if not (isinstance(b, dict) and isinstance(b.get("axis"), torch.Tensor) and isinstance(b.get("prob"), torch.Tensor)
            and b["prob"].dim() == 2 and b["prob"].shape == (len(b["axis"]), len(b["axis"]))):
        return []
    return [_boundary(plt, b, f"{chapter_name}: decision boundary", out / f"{chapter_name}_boundary.png")]


@plot("heatmaps")
def _draw_heatmaps(plt, value, plot_data, chapter_name, out) -> list[Path]:
    written = []
    for name, spec in _named(value):
        panels = spec.get("panels")
        if isinstance(panels, torch.Tensor) and panels.dim() >= 2 and panels.numel():
            written.append(_heatmaps(plt, panels, spec, out / f"{chapter_name}_{name}.png"))
    return written
