"""Hostile ``train_digits`` submissions (tests/hostile/_ch02/), graded for real with chapter 2's
hidden checks in one strict batch beside an honest student: none earns a point for the training
exercise, each gets the outcome of what it did, and the honest student loses nothing."""

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
    base = tmp_path_factory.mktemp("hostile_training")
    subs = base / "subs"
    centroids = _centroids()
    for case in CASES:
        shutil.copytree(HOSTILE / case, subs / case)
        (subs / case / "centroids.py").write_text(centroids)
    (subs / "honest").mkdir()
    shutil.copy(REPO / "examples" / "submissions" / "ch02" / "correct" / "digits.py", subs / "honest" / "digits.py")
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
        if t["exercise"].startswith("digits."):
            assert t["score"] == t["max_score"], t


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_no_hostile_model_earns_a_training_point(graded, case):
    checks = [t for t in graded[case]["tests"] if t["exercise"] == TRAIN]
    assert len(checks) == 2 and all(t["score"] == 0 for t in checks), checks


@pytest.mark.slow
def test_each_gets_the_outcome_of_what_it_did(graded):
    out = {case: training(graded[case]) for case in CASES}
    # No data-set file is readable in the sandbox: nothing to look the test split up in.
    assert out["reads_dataset"]["outcome"] == "error" and "no data set on disk" in out["reads_dataset"]["output"]
    assert "returned a Sequential, expected a DigitCNN" in out["wrong_class"]["output"]
    assert "empty state_dict" in out["empty_state"]["output"]
    # Judged in a fresh sandbox: what training kept outside the weights is not there.
    assert out["knn_python_attribute"]["outcome"] == "failed"
    assert "accuracy 0.1" in out["knn_python_attribute"]["output"], out["knn_python_attribute"]
    for case in ("handwritten_centroids", "gated_flag"):  # the redrawn weights change nothing
        assert out[case]["outcome"] == "failed" and "does not come from its trained weights" in out[case]["output"]
