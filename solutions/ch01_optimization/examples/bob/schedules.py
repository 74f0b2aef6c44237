# leedl — ch01_optimization/schedules.py: implement the functions below; `leedl check ch01` tests them.
"""Learning-rate schedules: pure functions of the step number.

學習率調度：學習率衰減與預熱（課程筆記 1.4）。每個函數輸入步數（整數 ≥ 0），回傳 Python float。
"""

import math


def step_decay(step, base_lr, step_size, gamma):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    繁中：筆記 1.4 學習率衰減：η = base_lr · gamma^⌊step / step_size⌋；在 step 為 step_size 的
    倍數時剛好衰減。與 torch.optim.lr_scheduler.StepLR 相同。
    English: base_lr · gamma^⌊step / step_size⌋ (notes 1.4): the decay happens exactly at the
    multiples of ``step_size``. Matches ``torch.optim.lr_scheduler.StepLR``. Returns a float.
    """
    return base_lr * gamma ** ((step - 1) // step_size)


def cosine_decay(step, base_lr, total_steps, min_lr=0.0):
    """Cosine annealing from ``base_lr`` down to ``min_lr`` over ``total_steps`` steps.

    繁中：筆記 1.4 學習率衰減：0 ≤ step ≤ total_steps 時
    η = min_lr + (base_lr − min_lr)·(1 + cos(π·step/total_steps))/2，之後固定為 min_lr。
    與 CosineAnnealingLR 的封閉形式相同。
    English: for 0 ≤ step ≤ total_steps, min_lr + (base_lr − min_lr)·(1 + cos(π·step/total_steps))/2
    (CosineAnnealingLR's closed form, notes 1.4); ``min_lr`` after. Returns a float.
    """
    if step >= total_steps:
        return float(min_lr)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2


def linear_warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up, then cosine decay.

    繁中：筆記 1.4 預熱（warmup）：學習率先變大後變小。step < warmup_steps 時
    η = base_lr·step/warmup_steps（step 0 為 0）；之後在剩下的 total_steps − warmup_steps 步內
    以餘弦從 base_lr 降到 min_lr：p = (step − warmup_steps)/(total_steps − warmup_steps)，
    η = min_lr + (base_lr − min_lr)·(1 + cos(πp))/2；step ≥ total_steps 後固定為 min_lr。
    warmup_steps = 0 表示沒有預熱。假設 warmup_steps < total_steps。
    English (notes 1.4): base_lr·step/warmup_steps while step < warmup_steps (0 at step 0);
    then, with p = (step − warmup_steps)/(total_steps − warmup_steps), the cosine
    min_lr + (base_lr − min_lr)·(1 + cos(πp))/2 from base_lr down to min_lr; ``min_lr`` from
    ``total_steps`` on. ``warmup_steps = 0`` means no warm-up; assumes
    warmup_steps < total_steps. Returns a float.
    """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return float(min_lr)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2


def transformer_lr(step, d_model, warmup_steps=4000):
    """The schedule of "Attention Is All You Need": linear warm-up, then 1/√step decay.

    繁中：筆記 1.4 提到 Transformer 的訓練使用預熱：
    η = d_model^−0.5 · min(step^−0.5, step · warmup_steps^−1.5)（step ≥ 1），step 0 時為 0。
    在 step = warmup_steps 達到最大值。
    English: d_model^−0.5 · min(step^−0.5, step · warmup_steps^−1.5) for step ≥ 1, and 0.0 at
    step 0 (notes 1.4); the peak is at step = warmup_steps. Returns a float.
    """
    if step == 0:
        return 0.0  # step^-0.5 is undefined; the warm-up starts from zero
    return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)
