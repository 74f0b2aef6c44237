"""Hostile chapter 2 submissions (tests/hostile/_ch02/), graded for real with chapter 2's checks in
one strict batch beside an honest student: trained models that do not hold what they compute, and
convolutions that dodge the timing. None earns a point for what it forged, each gets the outcome of
what it did, and the honest student loses nothing."""

import json
import shutil

import pytest
import torch
from click.testing import CliRunner
from conftest import REPO
from sandbox_util import require_strict

from leedl_grader.cli import main

HOSTILE = REPO / "tests" / "hostile" / "_ch02"
CASES = sorted(d.name for d in HOSTILE.iterdir() if d.is_dir())
TRAINING = [c for c in CASES if (HOSTILE / c / "digits.py").exists()]
TIMING = [c for c in CASES if (HOSTILE / c / "conv.py").exists()]
TRAIN = "digits.train_digits"


def _centroids() -> str:
    """Class means of the training split, as Python source: a classifier written into the file
    (nearest centroid scores about 0.9 on the test split without any training)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x, _, y, _ = train_test_split(d.data, d.target, test_size=0.25, random_state=0, stratify=d.target)
    x = torch.tensor(x / 16.0)
    rows = [x[torch.tensor(y) == k].mean(0).tolist() for k in range(10)]
    return "CENTROIDS = " + repr([[round(v, 4) for v in r] for r in rows]) + "\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_strict()
    base = tmp_path_factory.mktemp("hostile_ch02")
    subs = base / "subs"
    centroids = _centroids()
    for case in CASES:
        shutil.copytree(HOSTILE / case, subs / case)
        (subs / case / "centroids.py").write_text(centroids)
    (subs / "honest").mkdir()
    for f in ("digits.py", "conv.py"):
        shutil.copy(REPO / "solutions" / "ch02_cnn" / "examples" / "correct" / f, subs / "honest" / f)
    out = base / "out"
    r = CliRunner().invoke(main, ["grade", "ch02", str(subs), "--out", str(out), "--jobs", "2", "--seed", "5",
                                  "--course", str(REPO)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json") if p.stem in CASES + ["honest"]}
    return results


def training(result):
    """The hidden training check (the public one is checked for points too)."""
    (t,) = [t for t in result["tests"] if t["exercise"] == TRAIN and "public" not in t["name"]]
    return t


@pytest.mark.slow
def test_the_honest_student_keeps_every_point(graded):
    res = graded["honest"]
    for t in res["tests"]:
        if t["exercise"].startswith(("digits.", "conv.")):
            assert t["score"] == t["max_score"], t


@pytest.mark.slow
@pytest.mark.parametrize("case", TRAINING)
def test_no_hostile_model_earns_a_training_point(graded, case):
    checks = [t for t in graded[case]["tests"] if t["exercise"] == TRAIN]
    assert len(checks) == 2 and all(t["score"] == 0 for t in checks), checks


@pytest.mark.slow
def test_each_gets_the_outcome_of_what_it_did(graded):
    out = {case: training(graded[case]) for case in TRAINING}
    # No data-set file is readable in the sandbox: nothing to look the test split up in.
    assert out["reads_dataset"]["outcome"] == "error" and "no data set on disk" in out["reads_dataset"]["output"]
    assert "returned a Sequential, expected a DigitCNN" in out["wrong_class"]["output"]
    assert "empty state_dict" in out["empty_state"]["output"]
    # Judged in a fresh sandbox: what training kept outside the weights is not there.
    assert out["knn_python_attribute"]["outcome"] == "failed"
    assert "accuracy 0.1" in out["knn_python_attribute"]["output"], out["knn_python_attribute"]
    for case in ("handwritten_centroids", "gated_flag"):  # the redrawn weights change nothing
        assert out[case]["outcome"] == "failed" and "does not come from its trained weights" in out[case]["output"]


def speed(result):
    (t,) = [t for t in result["tests"] if t["kind"] == "speed"]
    return t


@pytest.mark.slow
def test_timing_cannot_be_answered_from_a_cache_or_skipped(graded):
    honest = speed(graded["honest"])
    assert honest["score"] == honest["max_score"] and honest["ratio"] < 10, honest
    cached = speed(graded["cache_conv"])  # every timed call is on inputs the process never saw
    assert cached["score"] == 0, cached
    assert cached["outcome"] == "timeout" or cached["ratio"] > 10, cached  # a busy machine may time it out
    skipped = speed(graded["skip_when_timed"])  # outputs of the timed calls are checked
    assert skipped["score"] == 0 and skipped["outcome"] == "failed", skipped
    assert "wrong or missing output" in skipped["output"], skipped
    # The cached loop is correct: its correctness checks are its to keep.
    right = [t for t in graded["cache_conv"]["tests"] if t["exercise"] == "conv.conv2d" and t["kind"] == "correctness"]
    assert right and all(t["score"] == t["max_score"] for t in right), right
