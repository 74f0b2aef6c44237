"""Hidden check of seq2seq.train_reverse: a trained model judged where it could not have trained.

``train_reverse`` runs in a sandbox of its own (one CPU thread, a CPU-time limit); only its
weights come back. The judge rebuilds ``Seq2SeqTransformer()`` in a fresh sandbox, loads them,
and decodes greedily itself, calling only ``forward``: src is a batch of fresh digit strings
(lengths 3–8, mixed, right-padded with PAD) drawn from the run's seed, tgt_in starts as BOS and
grows by the argmax of the last position's logits, S + 1 steps. A string counts when its first
len + 1 tokens are the reversed digits and EOS. The same weights redrawn at random must lose the
skill (the behaviour must live in the weights).
"""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import CheckFailed, Partial, check, expect

from ._util import randint

BOS, EOS, PAD, VOCAB = 10, 11, 12, 13
FULL, ZERO = 0.95, 0.5  # exact-match accuracy for full points / for none; linear in between
TIME_LIMIT = 60.0  # CPU seconds on one thread, as the stub says; the reference takes about 12
# (the wall-clock limit, 5×, only ends hangs: a busy machine slows training, not its CPU time)
N_EVAL = 1000
SNAPSHOTS = 8  # points of the training curve (only with --plots)


def reversal_strings(g, n, max_len=8):
    """n fresh strings of 3–8 digits, every length present: (src (n, 8), answer (n, 9), lengths)."""
    lengths = torch.randint(3, max_len + 1, (n,), generator=g)
    lengths[: max_len - 2] = torch.arange(3, max_len + 1)  # every length at least once
    digits = torch.randint(0, 10, (n, max_len), generator=g)
    pos = torch.arange(max_len)
    src = torch.where(pos < lengths[:, None], digits, PAD)
    rev = (lengths[:, None] - 1 - pos).clamp(min=0)
    answer = torch.full((n, max_len + 1), PAD)
    answer[:, :max_len] = torch.where(pos < lengths[:, None], digits.gather(1, rev), PAD)
    answer[torch.arange(n), lengths] = EOS
    return src, answer, lengths


def _logits(net, src, tgt_in):
    out = net(src, tgt_in)
    want = (src.shape[0], tgt_in.shape[1], VOCAB)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailed(f"Seq2SeqTransformer(src, tgt_in) returned {got}, expected logits {want}")
    return out.detach().to("cpu", torch.float64)


def greedy_accuracy(net, src, answer, lengths, device):
    """Greedy decoding done here, one forward call per step; the exact-match rate."""
    tgt = torch.full((len(src), 1), BOS)
    for _ in range(src.shape[1] + 1):
        nxt = _logits(net, src.to(device), tgt.to(device))[:, -1].argmax(-1)
        tgt = torch.cat([tgt, nxt[:, None]], dim=1)
    out = tgt[:, 1:]
    keep = torch.arange(out.shape[1])[None, :] <= lengths[:, None]  # the digits and the EOS
    return float(((out == answer) | ~keep).all(dim=1).double().mean())


def teacher_forced_loss(net, src, answer, device):
    tgt_in = torch.cat([torch.full((len(src), 1), BOS), answer[:, :-1]], dim=1)
    logits = _logits(net, src.to(device), tgt_in.to(device))
    return float(F.cross_entropy(logits.reshape(-1, VOCAB), answer.reshape(-1), ignore_index=PAD))


def _curve(ctx, model, g):
    """Loss and exact match of the weights at evenly spaced optimizer steps, measured here."""
    src, answer, lengths = reversal_strings(g, 256)
    xs, losses, accs = [], [], []
    for step, sd in model.snapshots:
        with ctx.load_model(model.at(sd), "seq2seq.Seq2SeqTransformer") as net:
            losses.append(teacher_forced_loss(net, src, answer, ctx.device))
            accs.append(greedy_accuracy(net, src, answer, lengths, ctx.device))
        xs.append(step)
    ctx.artifact({"curve": {"x": xs, "xlabel": "optimizer step",
                                        "series": {"teacher-forced loss": losses, "exact match": accs}}})


@check("seq2seq.train_reverse", points=4, timeout=5 * TIME_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def reverse_exact_match(ctx):
    """Exact-match accuracy of greedy decoding on fresh strings: full points at ≥ 0.95, none at ≤ 0.5."""
    g = ctx.generator()
    seed = randint(g, 0, 2)  # the contract promises the threshold for seeds 0, 1 and 2
    model = ctx.train("seq2seq.train_reverse", seed=seed, device=str(ctx.device),
                      snapshots=SNAPSHOTS if ctx.plotting else 0)
    src, answer, lengths = reversal_strings(g, N_EVAL)
    with ctx.load_model(model, "seq2seq.Seq2SeqTransformer") as net:
        acc = greedy_accuracy(net, src, answer, lengths, ctx.device)
    with ctx.load_model(model.reinitialised(ctx.generator("reinit")), "seq2seq.Seq2SeqTransformer") as probe:
        chance = greedy_accuracy(probe, src[:200], answer[:200], lengths[:200], ctx.device)
    expect(chance < 0.2, f"with its weights redrawn at random the model still reverses {chance:.2f} of the strings: "
                         "the reversal must be learned in the weights, not written in the code")
    if ctx.plotting and model.snapshots:
        _curve(ctx, model, ctx.generator("curve"))
    frac = min(max((acc - ZERO) / (FULL - ZERO), 0.0), 1.0)
    return Partial(frac, f"train_reverse(seed={seed}): exact match {acc:.3f} on {N_EVAL} fresh strings; "
                         f"full points at ≥ {FULL}, none at ≤ {ZERO}")
