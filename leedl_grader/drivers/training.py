"""Drivers for ``train_*`` exercises: train inside the student's process, return predictions."""

from __future__ import annotations

import torch

from . import driver, synchronize


@driver("train_predict")
def train_predict(fn, kwargs=None, inputs=(), batch_size=4096):
    """Call the training function, then the returned model on each tensor in ``inputs``.

    The judge computes the metric itself from the returned outputs.
    """
    model = fn(**(kwargs or {}))
    if hasattr(model, "eval"):
        model.eval()
    outs = []
    with torch.no_grad():
        for x in inputs:
            parts = [model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
            outs.append(torch.cat(parts) if parts else x.new_empty(0))
    synchronize()
    return {"outputs": outs}
