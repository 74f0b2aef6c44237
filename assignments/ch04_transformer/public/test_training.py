"""Public check of seq2seq.train_reverse: seed 0, scored on 200 fresh strings. The grader also
scores the other seeds the contract names (0, 1 and 2) on more strings.

As in grading, training runs in a sandbox of its own and only its weights come back; a new
Seq2SeqTransformer() built in a fresh sandbox with those weights is decoded greedily by the
checker (public/_reversal.py), which calls only its forward."""

from leedl_grader.authoring.checks import Partial, check, expect

from ._reversal import greedy_accuracy, reversal_strings

TIME_LIMIT = 60.0  # CPU seconds on one thread, as the stub says; the reference takes about 12
N_EVAL = 200


@check("seq2seq.train_reverse", points=0.5, timeout=5 * TIME_LIMIT, cpu_limit=TIME_LIMIT, kind="training")
def public_reverse_exact_match(ctx):
    """train_reverse(seed=0): exact match of greedy decoding on fresh strings; full points at ≥ 0.95."""
    model = ctx.train("seq2seq.train_reverse", seed=0, device=str(ctx.device))
    src, answer, lengths = reversal_strings(ctx.generator(), N_EVAL)
    with ctx.load_model(model, "seq2seq.Seq2SeqTransformer") as net:
        acc = greedy_accuracy(net, src, answer, lengths, ctx.device)
    with ctx.load_model(model.reinitialised(ctx.generator("reinit")), "seq2seq.Seq2SeqTransformer") as probe:
        chance = greedy_accuracy(probe, src, answer, lengths, ctx.device)
    expect(chance < 0.2, f"with its weights redrawn at random the model still reverses {chance:.2f} of the strings: "
                         "the reversal must be learned in the weights, not written in the code")
    frac = min(max((acc - 0.5) / (0.95 - 0.5), 0.0), 1.0)  # the grader's band: none at 0.5, full at 0.95
    return Partial(frac, f"train_reverse(seed=0): exact match {acc:.3f} on {N_EVAL} fresh strings "
                         f"(full points at ≥ 0.95)")
