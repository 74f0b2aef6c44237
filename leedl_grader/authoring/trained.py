"""Trained models, judged where they could not have trained.

A ``train_*`` exercise is graded in three steps, none of which trusts the process that trained:

1. ``ctx.train(target, *data)`` calls the student's training function in a sandbox of its own,
   with the training data as arguments, and takes back only plain data: the returned model's
   ``state_dict`` (tensors), its class name and, for an ``nn.Sequential``, its layers. That
   sandbox is then ended (with everything it started) before anything else happens.
2. ``ctx.load_model(trained, "file.Class")`` starts a *fresh* sandbox that never ran the
   training, builds the chapter's class anew there, loads the weights (``strict=True``) and
   answers forward calls only; the judge sends the evaluation inputs and computes every metric
   itself (the labels never leave the judge). For models made only of torch's own layers,
   :func:`rebuild_sequential` rebuilds the model in the judge instead, so the judge can step it.
3. :meth:`TrainedModel.reinitialised` draws new weights in the judge (same shapes, each tensor's
   own mean and spread): the behaviour must live in the weights, so a model that keeps its score
   with them is hand-written and scores nothing.

The judge-side half lives here; the sandbox-side drivers are in :mod:`leedl_grader.drivers.training`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .checks import CheckFailed

MAX_ELEMENTS = 1 << 26  # 64 M numbers (256 MB of float32): far beyond any model of the course
# Torch's own layers a judge may rebuild from a description (type path -> class); a subclass the
# student wrote has another path and is refused.
TORCH_LAYERS = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in (
    nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.GELU, nn.ELU, nn.Softplus, nn.Identity,
    nn.Dropout, nn.LayerNorm, nn.BatchNorm1d, nn.Flatten)}
_ARGS = {  # constructor arguments a description may carry, per layer
    nn.Linear: ("in_features", "out_features", "bias"),
    nn.LayerNorm: ("normalized_shape", "eps", "elementwise_affine"),
    nn.BatchNorm1d: ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    nn.LeakyReLU: ("negative_slope",),
    nn.Dropout: ("p",),
}


@dataclass(frozen=True)
class TrainedModel:
    """What the training sandbox handed back, as plain data. ``target`` is the training function."""

    target: str
    class_name: str  # the returned object's class, as its module and qualified name (``digits.DigitCNN``)
    state_dict: dict = field(repr=False)
    layers: tuple = ()  # for an nn.Sequential: ((type path, {arg: value}), ...)
    snapshots: tuple = field(default=(), repr=False)  # ((training step, state_dict), ...) when asked for

    def first_filters(self) -> torch.Tensor | None:
        """The first 4-D tensor of the weights (a convolution's filters), for plots."""
        for v in self.state_dict.values():
            if v.dim() == 4 and v.is_floating_point():
                return v.to("cpu", torch.float32)
        return None

    def reinitialised(self, generator: torch.Generator) -> TrainedModel:
        """The same shapes and dtypes with judge-drawn values: each floating tensor redrawn from a
        normal law with its own mean and standard deviation (a one-element tensor keeps its value;
        integer tensors, such as a batch counter, are kept), so that nothing trained is left."""
        new = {}
        for k, v in self.state_dict.items():
            if v.is_floating_point() and v.numel() > 1:
                v64 = v.double()
                draw = torch.randn(v.shape, generator=generator, dtype=torch.float64)
                new[k] = (v64.mean() + v64.std() * draw).to(v.dtype)
            else:
                new[k] = v.clone()
        return TrainedModel(self.target, self.class_name, new, self.layers)

    def at(self, state_dict: dict) -> TrainedModel:
        """The same model with other weights (a snapshot), for :meth:`Context.load_model`."""
        return TrainedModel(self.target, self.class_name, state_dict, self.layers)


def from_reply(target: str, reply) -> TrainedModel:
    """Validate the training sandbox's reply (plain data, decoded without pickle)."""
    if not isinstance(reply, dict):
        raise CheckFailed(f"{target} did not return a model")
    sd, cls = reply.get("state_dict"), reply.get("class")
    if not isinstance(sd, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()):
        raise CheckFailed(f"{target} returned a model whose state_dict is not a dict of tensors")
    if sum(v.numel() for v in sd.values()) > MAX_ELEMENTS:
        raise CheckFailed(f"{target} returned a model with more than {MAX_ELEMENTS} weights")
    layers = reply.get("layers") or ()
    ok = isinstance(layers, (list, tuple)) and all(
        isinstance(x, (list, tuple)) and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], dict)
        for x in layers)
    snaps = []
    for item in reply.get("snapshots") or ():  # for curves only: anything malformed is dropped
        if (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], int)
                and isinstance(item[1], dict) and set(item[1]) == set(sd)
                and all(isinstance(v, torch.Tensor) and v.shape == sd[k].shape for k, v in item[1].items())):
            snaps.append((item[0], {k: v.cpu() for k, v in item[1].items()}))
    return TrainedModel(target, str(cls)[:200], {k: v.cpu() for k, v in sd.items()},
                        tuple((a, dict(b)) for a, b in layers) if ok else (), tuple(snaps[:64]))


def expect_class(trained: TrainedModel, class_target: str) -> None:
    """Zero, with a message, for an object of another class or a model without weights."""
    fn = trained.target.partition(".")[2]
    want = class_target.partition(".")[2]
    if trained.class_name != class_target:
        got = trained.class_name.rpartition(".")[2] or "something else"
        raise CheckFailed(f"{fn} returned a {got}, expected a {want} (the grader rebuilds a {want} and loads "
                          "its weights)")
    if not trained.state_dict:
        raise CheckFailed(f"{fn} returned a {want} without weights (an empty state_dict): the grader scores "
                          "what the weights compute")


def rebuild_sequential(trained: TrainedModel,
                       allowed: tuple[type, ...] = (nn.Linear, nn.ReLU, nn.Tanh)) -> nn.Sequential:
    """Build the returned ``nn.Sequential`` in the judge from torch's own layers and load its
    weights, so the judge can run it itself. Layers outside ``allowed`` (a student's subclass
    included) score 0 with a message."""
    fn = trained.target.partition(".")[2]
    if trained.class_name != "torch.nn.modules.container.Sequential" or not trained.layers:
        raise CheckFailed(f"{fn} must return an nn.Sequential of {', '.join(c.__name__ for c in allowed)} layers")
    if len(trained.layers) > 256:
        raise CheckFailed(f"{fn} returned an nn.Sequential of {len(trained.layers)} layers; at most 256")
    mods = []
    for i, (path, kw) in enumerate(trained.layers):
        cls = TORCH_LAYERS.get(path)
        if cls is None or cls not in allowed:
            name = path.rpartition(".")[2]
            raise CheckFailed(f"{fn}: layer {i} is a {name}; only torch's "
                              f"{', '.join(c.__name__ for c in allowed)} are allowed (the grader rebuilds them)")
        args = {k: kw[k] for k in _ARGS.get(cls, ()) if k in kw}
        if not all(isinstance(v, (int, float, bool, list, tuple)) for v in args.values()):
            raise CheckFailed(f"{fn}: layer {i} has settings the grader cannot rebuild")
        try:
            if cls is nn.Linear:
                if max(int(args["in_features"]), int(args["out_features"])) > 1 << 16:
                    raise ValueError("too wide")
            mods.append(cls(**args))
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            raise CheckFailed(f"{fn}: layer {i} ({path.rpartition('.')[2]}) cannot be rebuilt: {exc}") from None
    model = nn.Sequential(*mods)
    try:
        model.load_state_dict(trained.state_dict, strict=True)
    except RuntimeError as exc:
        raise CheckFailed(f"{fn}: the weights do not fit the layers: {str(exc)[:300]}") from None
    return model.eval()


class RemoteModel:
    """A model rebuilt in a fresh sandbox; ``model(*args)`` is a forward call there (no gradient).

    Use as a context manager: leaving it ends the sandbox."""

    def __init__(self, ctx, worker, class_target: str):
        self._ctx = ctx
        self._worker = worker
        self.class_target = class_target

    def __call__(self, *args, method: str = "forward", **kwargs):
        return self._ctx._model_request(self._worker, self.class_target,
                                        {"method": method, "args": list(args), "kwargs": kwargs})["out"]

    def predict(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """``model(x)`` in batches along the first axis, concatenated."""
        parts = [self(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        for p in parts:
            if not isinstance(p, torch.Tensor):
                raise CheckFailed(f"{self.class_target.partition('.')[2]}(x) returned {type(p).__name__}, "
                                  "expected a tensor")
        return torch.cat(parts) if parts else x.new_empty(0)

    def close(self) -> None:
        if self._worker is not None:
            self._ctx._retire(self._worker)
            self._worker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
