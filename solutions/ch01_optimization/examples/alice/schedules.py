# leedl — ch01_optimization/schedules.py: implement the functions below; `leedl check ch01` tests them.
"""Schedules (alice's version)."""

import math


def step_decay(step, base_lr, step_size, gamma):
    lr = base_lr
    for _ in range(step // step_size):
        lr *= gamma
    return float(lr)


def cosine_decay(step, base_lr, total_steps, min_lr=0.0):
    t = min(step, total_steps) / total_steps
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * t)))


def linear_warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return cosine_decay(step - warmup_steps, base_lr, total_steps - warmup_steps, min_lr)


def transformer_lr(step, d_model, warmup_steps=4000):
    if step < 1:
        return 0.0
    return (d_model ** -0.5) * min(1 / math.sqrt(step), step / warmup_steps ** 1.5)
