"""Values the public checks compare against where torch has no routine to compute them.

``leedl build`` calls ``make_data(reference)`` and stores the result in ``expected.json``.
"""

WARMUP_ARGS = (0.5, 4, 12, 0.05)  # base_lr, warmup_steps, total_steps, min_lr
TRANSFORMER_ARGS = (512, 10)  # d_model, warmup_steps


def make_data(reference):
    s = reference.schedules
    warm_steps = list(range(0, 16))
    tr_steps = [0, 1, 2, 5, 9, 10, 11, 20, 100]
    return {
        "linear_warmup_cosine": {
            "args": list(WARMUP_ARGS),
            "steps": warm_steps,
            "lrs": [s.linear_warmup_cosine(k, *WARMUP_ARGS) for k in warm_steps],
        },
        "transformer_lr": {
            "args": list(TRANSFORMER_ARGS),
            "steps": tr_steps,
            "lrs": [s.transformer_lr(k, *TRANSFORMER_ARGS) for k in tr_steps],
        },
    }
