"""Chapter 4's content: the zoo applies and covers every exercise, every exercise is checked, the
reference matches torch and calls nothing its files forbid, the decoding tables hold what their
checks claim, the table driver, the example class is current. Training is marked slow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from leedl_grader.course import chapters as courses
from leedl_grader.course.validate import load_zoo, scope
from leedl_grader.drivers import OpTracer
from leedl_grader.drivers.modules import build_module, table_call
from leedl_grader.forbid import scan as forbid

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "ch04_transformer"
F64 = torch.float64


@pytest.fixture(scope="module")
def chapter():
    return courses.resolve_chapter(ROOT, "ch04")


@pytest.fixture(scope="module")
def ref(chapter):
    return courses.load_reference(ROOT, chapter)


@pytest.fixture(scope="module")
def hidden(chapter):
    courses.load_suite(chapter, "hidden")
    return lambda name: courses.suite_module(chapter, "hidden", name)


def test_exercises_follow_the_contract_order(chapter):
    assert [e.name for e in chapter.exercises] == [
        "norms.layer_norm", "norms.batch_norm", "norms.power_norm", "blocks.TransformerEncoderBlock",
        "blocks.TransformerDecoderBlock", "decoding.greedy_decode", "decoding.beam_search",
        "decoding.non_autoregressive_decode", "seq2seq.shift_right", "seq2seq.teacher_forcing_loss",
        "seq2seq.scheduled_sampling", "seq2seq.copy_distribution", "seq2seq.guided_attention_loss",
        "seq2seq.Seq2SeqTransformer", "seq2seq.train_reverse",
    ]



def test_zoo_variants_are_graded_where_their_change_reaches(chapter):
    """Validation regrades a variant only where its change reaches: norms and decoding never retrain;
    a block retrains the model built of it; nothing skips its own exercise."""
    by_name = {v.name: v for v in load_zoo(ROOT, chapter)}
    for v in by_name.values():
        assert v.exercise in scope(SOLUTIONS, chapter, v), v.name
    assert scope(SOLUTIONS, chapter, by_name["ln_unbiased_variance"]) == ("norms.layer_norm",)
    assert scope(SOLUTIONS, chapter, by_name["beam_length_normalized"]) == ("decoding.beam_search",)
    assert scope(SOLUTIONS, chapter, by_name["shift_in_place"]) == ("seq2seq.shift_right",)
    assert scope(SOLUTIONS, chapter, by_name["dec_norms_swapped"]) == (
        "blocks.TransformerDecoderBlock", "seq2seq.Seq2SeqTransformer", "seq2seq.train_reverse")


def test_every_exercise_has_hidden_checks(chapter):
    hidden = courses.load_suite(chapter, "hidden")
    assert {c.exercise for c in hidden} == {e.name for e in chapter.exercises}
    assert sorted(c.exercise for c in hidden if c.kind == "speed") == [
        "blocks.TransformerEncoderBlock", "norms.layer_norm"]
    training = [c for c in hidden if c.kind == "training"]
    assert [c.exercise for c in training] == ["seq2seq.train_reverse"]
    assert training[0].cpu_limit >= 60 and training[0].timeout >= 60


def test_reference_norms_match_torch(ref):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 6, generator=g, dtype=F64) + 5
    gamma, beta = torch.randn(6, generator=g, dtype=F64), torch.randn(6, generator=g, dtype=F64)
    torch.testing.assert_close(ref.norms.layer_norm(x, gamma, beta), F.layer_norm(x, (6,), gamma, beta))
    for shape in ((5, 3), (5, 3, 4)):
        x = torch.randn(*shape, generator=g, dtype=F64)
        gamma, beta = torch.randn(3, generator=g, dtype=F64), torch.randn(3, generator=g, dtype=F64)
        mine = [torch.randn(3, generator=g, dtype=F64), torch.rand(3, generator=g, dtype=F64) + 0.5]
        theirs = [t.clone() for t in mine]
        for training in (True, False):
            got = ref.norms.batch_norm(x, gamma, beta, *mine, training, 0.3)
            want = F.batch_norm(x, *theirs, gamma, beta, training, 0.3)
            torch.testing.assert_close(got, want)
            torch.testing.assert_close(mine, theirs)


def _blocks(ref, hd, kind, g):
    layer = hd.torch_layer(kind, 16, 4, 24, g, F64)
    cls = ref.blocks.TransformerEncoderBlock if kind == "encoder" else ref.blocks.TransformerDecoderBlock
    return layer, build_module(cls, [16, 4, 24], state=hd.to_block_names(layer.state_dict()), dtype="float64")


def test_reference_blocks_match_torch_with_inverted_masks(ref, hidden):
    hd = hidden("_util")
    g = torch.Generator().manual_seed(1)
    layer, mine = _blocks(ref, hd, "encoder", g)
    x = torch.randn(2, 7, 16, generator=g, dtype=F64)
    mask = hd.mask_with_a_key_per_row(g, 7, 7)
    torch.testing.assert_close(mine(x, mask), layer(x, src_mask=~mask))
    layer, mine = _blocks(ref, hd, "decoder", g)
    y, mem = torch.randn(2, 5, 16, generator=g, dtype=F64), torch.randn(2, 8, 16, generator=g, dtype=F64)
    mm = hd.mask_with_a_key_per_row(g, 5, 8)
    torch.testing.assert_close(mine(y, mem, hd.causal(5), mm), layer(y, mem, tgt_mask=~hd.causal(5), memory_mask=~mm))


def test_randomized_layers_make_swapped_norms_visible(ref, hidden):
    """torch's init (norm scale 1, shift 0) hides swapped norms; the checks' randomized layers do not."""
    hd = hidden("_util")
    layer, mine = _blocks(ref, hd, "encoder", torch.Generator().manual_seed(2))
    assert not torch.equal(layer.norm1.weight, layer.norm2.weight)
    assert not torch.equal(layer.self_attn.in_proj_bias, torch.zeros_like(layer.self_attn.in_proj_bias))


def test_decoding_tables_hold_what_the_checks_claim(ref, hidden):
    """At several seeds: the trap table makes beam 2 differ from exhaustive search (and beam 3 find
    it), the late-winner table defeats early stopping, beam 1 is greedy on random tables."""
    hd, util = hidden("test_decoding"), hidden("_util")
    beam, greedy = ref.decoding.beam_search, ref.decoding.greedy_decode
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        bos, eos, table = hd._trap(g)
        best = util.exhaustive(table, hd.V, bos, eos, 4, hd._uniform())[0]
        two = table_call(beam, table=table, default=hd._uniform(), args=[bos, eos, 2, 4])["out"]
        three = table_call(beam, table=table, default=hd._uniform(), args=[bos, eos, 3, 4])["out"]
        assert two != best and three == best
        bos, eos, (a, b, c), table = hd._late_winner(g)
        assert table_call(beam, table=table, default=hd._uniform(), args=[bos, eos, 2, 4])["out"] == [b, b, eos]
        bos, eos = util.ids(g, hd.V)
        table = util.random_table(g, hd.V, bos, eos, 4)
        one = table_call(beam, table=table, args=[bos, eos, 1, 4])["out"]
        assert one == table_call(greedy, table=table, args=[bos, eos, 4])["out"] == util.greedy(table, bos, eos, 4)
        wide = table_call(beam, table=table, args=[bos, eos, hd.V ** 4, 4])["out"]
        assert wide == util.exhaustive(table, hd.V, bos, eos, 4)[0]


def test_table_driver_copies_rows_and_names_unknown_prefixes():
    row = torch.log(torch.tensor([0.5, 0.5]))

    def tamper(step):
        step(torch.tensor([0])).zero_()  # a student's step_fn result is a copy
        return step(torch.tensor([0])).tolist()

    assert table_call(tamper, table={"0": row})["out"] == row.tolist()
    with pytest.raises(KeyError, match=r"\[0,1\]"):
        table_call(lambda step: step(torch.tensor([0, 1])), table={"0": row})
    got = table_call(lambda step: step(torch.tensor([0, 1])).tolist(), table={}, default=row, keep_calls=True)
    assert got == {"out": row.tolist(), "calls": ["0,1"]}


def test_reference_passes_the_static_scan(chapter):
    present = [f for f in chapter.files if (SOLUTIONS / f).is_file()]
    assert forbid.scan(chapter, SOLUTIONS, present) == {}


def test_reference_dispatches_no_forbidden_op(chapter, ref):
    """Each file's traced ops, around that file's code (blocks may use nn.LayerNorm; norms.py not)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 3, 5, generator=g, dtype=F64, requires_grad=True)
    gamma, beta = torch.ones(3, dtype=F64, requires_grad=True), torch.zeros(3, dtype=F64, requires_grad=True)
    tracer = OpTracer(chapter.forbidden_ops["norms.py"])
    with tracer:
        ref.norms.layer_norm(x, torch.ones(5, dtype=F64), None).sum().backward()
        ref.norms.batch_norm(x, gamma, beta, torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64), True).sum().backward()
        ref.norms.power_norm(x, gamma, beta, torch.ones(3, dtype=F64), True).sum().backward()
    assert tracer.hits == []
    tracer = OpTracer(chapter.forbidden_ops["blocks.py"])
    with tracer:
        ref.blocks.TransformerEncoderBlock(8, 2, 16)(torch.randn(2, 3, 8, generator=g)).sum().backward()
        y, mem = torch.randn(2, 3, 8, generator=g), torch.randn(2, 4, 8, generator=g)
        ref.blocks.TransformerDecoderBlock(8, 2, 16)(y, mem, torch.ones(3, 3, dtype=torch.bool).tril()).sum().backward()
    assert tracer.hits == []


def test_forbidden_ops_catch_torch_routines(chapter):
    """The listed ops are what torch dispatches for the norm routines norms.py forbids."""
    ops = {op for v in chapter.forbidden_ops.values() for op in v}
    x = torch.randn(4, 3, 5)
    for fn in (lambda: F.layer_norm(x, (5,)), lambda: F.batch_norm(x, torch.zeros(3), torch.ones(3), training=True),
               lambda: F.group_norm(x, 1), lambda: F.instance_norm(x), lambda: nn.LayerNorm(5)(x)):
        tracer = OpTracer(ops)
        with tracer:
            fn()
        assert tracer.hits, fn



def test_training_curve_is_drawn(tmp_path):
    from leedl_grader.plots import available, save_plots

    curve = {"x": [10, 20, 30], "xlabel": "optimizer step", "series": {"loss": [2.0, 1.0, 0.5], "acc": [0, .5, 1]}}
    paths = save_plots("ch04_transformer", {"curve": curve, "other": 1}, tmp_path)
    if available():
        assert [p.name for p in paths] == ["ch04_transformer_curve.png"] and paths[0].stat().st_size > 0
    else:
        assert paths == []
    assert save_plots("ch04_transformer", {"curve": {"x": [1], "series": {"loss": [1, 2]}}}, tmp_path) == []


@pytest.mark.slow
def test_reference_train_reverse_meets_the_threshold(chapter, ref, hidden):
    """Seeds 0–2 clear 0.95 with a margin within the time limit on one thread, and the judge's
    redrawn weights fall to chance (the probe never costs an honest model its points)."""
    from leedl_grader.authoring.trained import TrainedModel

    tr = hidden("test_training")
    torch.set_num_threads(1)
    for seed in (0, 1, 2):
        t0 = time.process_time()
        model = ref.seq2seq.train_reverse(seed)
        spent = time.process_time() - t0
        src, answer, lengths = tr.reversal_strings(torch.Generator().manual_seed(100 + seed), 1000)
        acc = tr.greedy_accuracy(model, src, answer, lengths, "cpu")
        assert acc >= tr.FULL + 0.02 and spent < tr.TIME_LIMIT / 2, (seed, acc, spent)
        tm = TrainedModel("seq2seq.train_reverse", "seq2seq.Seq2SeqTransformer", model.state_dict())
        redrawn = ref.seq2seq.Seq2SeqTransformer()
        redrawn.load_state_dict(tm.reinitialised(torch.Generator().manual_seed(seed)).state_dict)
        assert tr.greedy_accuracy(redrawn.eval(), src, answer, lengths, "cpu") < 0.05
