"""Hidden check of seq2seq.train_reverse: a trained model judged where it could not have trained
(the strings and the decoding are public/_reversal.py's, shared with the public check).

``train_reverse`` runs in a sandbox of its own (one CPU thread, a CPU-time limit); only its
weights come back. The judge rebuilds ``Seq2SeqTransformer()`` in a fresh sandbox, loads them,
and decodes greedily itself, calling only ``forward``: src is a batch of fresh digit strings
(lengths 3–8, mixed, right-padded with PAD) drawn from the run's seed, tgt_in starts as BOS and
grows by the argmax of the last position's logits, S + 1 steps. A string counts when its first
len + 1 tokens are the reversed digits and EOS. The same weights redrawn at random must lose the
skill (the behaviour must live in the weights).
"""

from leedl_grader.authoring.checks import Partial, check, expect

from ..public._reversal import greedy_accuracy, reversal_strings, teacher_forced_loss
from ._util import randint

FULL, ZERO = 0.95, 0.5  # exact-match accuracy for full points / for none; linear in between
TIME_LIMIT = 60.0  # CPU seconds on one thread, as the stub says; the reference takes about 12
# (the wall-clock limit, 5×, only ends hangs: a busy machine slows training, not its CPU time)
N_EVAL = 1000
SNAPSHOTS = 8  # points of the training curve (only with --plots)


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


@check("seq2seq.train_reverse", points=13, timeout=5 * TIME_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
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
