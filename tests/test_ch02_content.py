"""Chapter 2's content: the zoo applies, every exercise is checked, the reference is right and
calls nothing its files forbid, the example class is current. Training is marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from leedl_grader.course import chapters as courses
from leedl_grader.drivers import OpTracer
from leedl_grader.forbid import scan as forbid
from leedl_grader.judge.inprocess import grade_in_process

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "ch02_cnn"


@pytest.fixture(scope="module")
def chapter():
    return courses.resolve_chapter(ROOT, "ch02")


@pytest.fixture(scope="module")
def ref(chapter):
    return courses.load_reference(ROOT, chapter)


def test_exercises_follow_the_contract_order(chapter):
    names = [e.name for e in chapter.exercises]
    assert names == [
        "conv.conv_output_size", "conv.zero_pad2d", "conv.conv2d_naive", "conv.conv2d", "conv.receptive_field",
        "conv.conv_param_count", "conv.fc_param_count", "pooling.max_pool2d", "pooling.avg_pool2d",
        "classify.softmax", "classify.log_softmax", "classify.cross_entropy", "classify.one_hot",
        "digits.DigitCNN", "digits.train_digits",
    ]



def test_every_exercise_has_hidden_checks(chapter):
    hidden = courses.load_suite(chapter, "hidden")
    covered = {c.exercise for c in hidden}
    assert covered == {e.name for e in chapter.exercises}
    speed = [c for c in hidden if c.kind == "speed"]
    assert [c.exercise for c in speed] == ["conv.conv2d"]
    training = [c for c in hidden if c.kind == "training"]
    assert [c.exercise for c in training] == ["digits.train_digits"]
    assert training[0].timeout >= 60 and (training[0].cpu_limit or 0) >= 60


def test_reference_conv_matches_torch(ref):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 9, 7, generator=g, dtype=torch.float64)
    w = torch.randn(4, 2, 3, 2, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    for fn in (ref.conv.conv2d, ref.conv.conv2d_naive):
        for stride, padding in ((1, 0), (2, 1), (3, 2)):
            want = F.conv2d(x, w, b, stride=stride, padding=padding)
            torch.testing.assert_close(fn(x, w, b, stride=stride, padding=padding), want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref.conv.zero_pad2d(x, (1, 2)), F.pad(x, (2, 2, 1, 1)), rtol=0, atol=0)


def test_reference_pooling_and_classify_match_torch(ref):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 7, 9, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ref.pooling.max_pool2d(x, 3), F.max_pool2d(x, 3), rtol=0, atol=0)
    torch.testing.assert_close(ref.pooling.avg_pool2d(x, 2, 1), F.avg_pool2d(x, 2, 1), rtol=1e-12, atol=1e-12)
    logits = torch.randn(5, 4, generator=g) * 1e4
    t = torch.randint(0, 4, (5,), generator=g)
    torch.testing.assert_close(ref.classify.softmax(logits), F.softmax(logits, -1))
    torch.testing.assert_close(ref.classify.log_softmax(logits), F.log_softmax(logits, -1))
    torch.testing.assert_close(ref.classify.cross_entropy(logits, t), F.cross_entropy(logits, t))


def test_reference_passes_the_static_scan(chapter):
    present = [f for f in chapter.files if (SOLUTIONS / f).is_file()]
    assert forbid.scan(chapter, SOLUTIONS, present) == {}


def test_a_forbidden_call_is_found(chapter, tmp_path):
    import shutil

    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("examples", "zoo.toml"))
    conv = sub / "conv.py"
    conv.write_text(conv.read_text(encoding="utf-8").replace(
        "cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)",
        "return F.conv2d(x, weight, bias, stride=stride, padding=padding)"), encoding="utf-8")
    found = forbid.scan(chapter, sub, list(chapter.files))
    assert "conv.py" in found and "conv2d" in found["conv.py"]


def test_reference_dispatches_no_forbidden_op(chapter, ref):
    ops = [op for v in chapter.forbidden_ops.values() for op in v]
    tracer = OpTracer(ops)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 2, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(4, 5, generator=g, requires_grad=True)
    t = torch.randint(0, 5, (4,), generator=g)
    with tracer:
        for fn in (ref.conv.conv2d, ref.conv.conv2d_naive):
            fn(x, w, None, 2, 1).sum().backward()
        ref.conv.zero_pad2d(x, 2).sum().backward()
        ref.pooling.max_pool2d(x, 2).sum().backward()
        ref.pooling.avg_pool2d(x, 2).sum().backward()
        ref.classify.softmax(logits).sum().backward()
        ref.classify.log_softmax(logits).sum().backward()
        ref.classify.cross_entropy(logits, t).backward()
        ref.classify.one_hot(t, 5)
    assert tracer.hits == []


def test_forbidden_ops_catch_torch_routines(chapter):
    """The listed ops are what torch 2.x really dispatches for the routines the files forbid."""
    ops = {op for v in chapter.forbidden_ops.values() for op in v}
    x = torch.randn(1, 1, 4, 4)
    for fn in (lambda: F.conv2d(x, torch.ones(1, 1, 2, 2)), lambda: F.pad(x, (1, 1, 1, 1)),
               lambda: F.max_pool2d(x, 2), lambda: F.avg_pool2d(x, 2), lambda: F.softmax(x, -1),
               lambda: F.log_softmax(x, -1), lambda: F.cross_entropy(x[0, 0], torch.tensor([0, 1, 2, 3]))):
        tracer = OpTracer(ops)
        with tracer:
            fn()
        assert tracer.hits, fn


@pytest.mark.parametrize("student,lost", [
    # five bugs, each in its own exercise: no shift before exp, a sum for a mean, dilation ignored,
    # the batch folded into the columns, a stride of 1 by default
    ("buggy", {("classify.softmax", "failed"), ("classify.cross_entropy", "failed"), ("conv.conv2d", "failed"),
               ("conv.conv_output_size", "failed"), ("pooling.max_pool2d", "failed")}),
    ("broken", {("pooling.max_pool2d", "error"), ("pooling.avg_pool2d", "error")}),  # pooling.py does not import
])
def test_the_example_class_loses_exactly_where_it_is_wrong(chapter, student, lost):
    """In this process, with the judge's context and seeds (as ``leedl grade`` scores them), on
    every exercise but the training one."""
    only = tuple(e.name for e in chapter.exercises if e.name != "digits.train_digits")
    r = grade_in_process(ROOT, chapter, SOLUTIONS / "examples" / student, seed=0, only=only)
    assert {(e.name, e.outcome.value) for e in r.exercises() if e.score < e.max_score} == lost


def test_plots_are_optional(tmp_path):
    from leedl_grader.plots import available, save_plots

    data = {"images": {"filters": {"panels": torch.randn(4, 1, 3, 3)}}, "confusion": torch.eye(10, dtype=torch.int64),
            "accuracy": 0.5, "unknown": 1}
    paths = save_plots("ch02_cnn", data, tmp_path)
    if available():
        assert sorted(p.name for p in paths) == ["ch02_cnn_confusion.png", "ch02_cnn_filters.png"]
        assert all(p.stat().st_size > 0 for p in paths)
    else:
        assert paths == []
    assert save_plots("ch02_cnn", {}, tmp_path) == []


@pytest.mark.slow
def test_reference_train_digits_meets_the_threshold(chapter, ref):
    """Seeds 0–2 clear the bar with a margin, and the judge's redrawn weights fall to about chance
    (so the re-initialisation probe never costs an honest model its points)."""
    from leedl_grader.authoring.trained import TrainedModel

    courses.load_suite(chapter, "hidden")
    hd = courses.suite_module(chapter, "hidden", "test_digits")
    xtr, ytr, x, y = hd.digits_split()
    torch.set_num_threads(1)
    for seed in (0, 1, 2):
        model = ref.digits.train_digits(xtr, ytr, seed)
        with torch.no_grad():
            acc = float((model(x).argmax(1) == y).double().mean())
            accp = float((model(hd.perturb(x, torch.Generator().manual_seed(seed))).argmax(1) == y).double().mean())
        assert min(acc, accp) >= hd.FULL + 0.01, (seed, acc, accp)
        tm = TrainedModel("digits.train_digits", "digits.DigitCNN", model.state_dict())
        for k in range(3):
            redrawn = ref.digits.DigitCNN()
            redrawn.load_state_dict(tm.reinitialised(torch.Generator().manual_seed(k)).state_dict)
            with torch.no_grad():
                racc = float((redrawn.eval()(x).argmax(1) == y).double().mean())
            assert racc < hd.REINIT_MAX - 0.2, (seed, k, racc)
