# leedl — ch01_optimization/batching.py: implement the functions below; `leedl check ch01` tests them.
"""Mini-batches (alice's version)."""

import torch


def minibatch_indices(num_examples, batch_size, *, shuffle=True, drop_last=False, generator=None):
    if shuffle:
        perm = torch.randperm(num_examples, generator=generator)
    else:
        perm = torch.arange(num_examples, dtype=torch.int64)
    batches = list(torch.split(perm, batch_size))
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def minibatch_gradient_variance(per_example_grads, batch_size):
    n = per_example_grads.shape[0]
    mean = per_example_grads.mean(0, keepdim=True)
    trace = ((per_example_grads - mean) ** 2).sum(1).mean()
    if n == batch_size:
        return torch.zeros_like(trace)
    return trace * (n - batch_size) / (batch_size * (n - 1))
