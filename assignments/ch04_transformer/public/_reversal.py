"""Reversal strings and greedy decoding, done by the judge: shared by the public and the hidden
check of ``seq2seq.train_reverse``. The judge decodes itself, calling only the model's ``forward``:
tgt_in starts as BOS and grows by the argmax of the last position's logits, S + 1 steps; a string
counts when its first len + 1 tokens are the reversed digits and EOS."""

import torch
import torch.nn.functional as F

from leedl_grader.authoring.checks import CheckFailed

BOS, EOS, PAD, VOCAB = 10, 11, 12, 13


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
