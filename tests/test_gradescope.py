"""The Gradescope autograder zip, run against a fake /autograder tree.

``run_autograder`` runs with the leedl package *from the zip* (not this checkout), on a
submission whose ``schedules.step_decay`` calls ``os._exit``; results.json is validated against
Gradescope's documented format (docs: "Autograder Specifications", results.json)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sandbox_util import require_strict

from leedl_grader import api
from leedl_grader.exports import gradescope as gs
from leedl_grader.sandbox import modes as sandbox
from leedl_grader.sandbox import policy

REPO = Path(__file__).resolve().parent.parent
TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
       "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def validate_results(data: dict) -> None:
    """Gradescope's results.json: known keys only, types and enumerations as documented."""
    assert set(data) <= TOP, set(data) - TOP
    assert isinstance(data.get("tests"), list)
    if "score" not in data:
        assert all("score" in t for t in data["tests"])
    else:
        assert isinstance(data["score"], (int, float))
    if "execution_time" in data:
        assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] >= 0
    for key in ("output_format", "test_output_format"):
        assert data.get(key, "text") in FORMATS
    assert data.get("test_name_format", "text") in FORMATS - {"ansi"}
    for key in ("visibility", "stdout_visibility"):
        assert data.get(key, "visible") in gs.VISIBILITY
    assert isinstance(data.get("output", ""), str)
    for t in data["tests"]:
        assert set(t) <= TEST, set(t) - TEST
        assert t.get("status", "passed") in ("passed", "failed")  # only these two
        assert t.get("visibility", "visible") in gs.VISIBILITY
        assert t.get("output_format", "text") in FORMATS
        assert isinstance(t.get("name", ""), str) and isinstance(t.get("output", ""), str)
        assert isinstance(t.get("tags", []), list) and all(isinstance(x, str) for x in t.get("tags", []))
        for key in ("score", "max_score"):
            assert isinstance(t.get(key, 0.0), (int, float))
        assert 0 <= t["score"] <= t["max_score"]
    json.dumps(data, allow_nan=False)  # plain JSON: no NaN or Infinity


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gs")
    path = api.gradescope("ch01", tmp / "autograder.zip", course=REPO)
    root = tmp / "autograder"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        zf.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    return path, root, names, modes


def test_zip_layout_and_setup(autograder):
    _, root, names, modes = autograder
    assert "setup.sh" in names and "run_autograder" in names  # at the root, where Gradescope looks
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "leedl/pyproject.toml" in names and "leedl/leedl_grader/exports/gradescope.py" in names
    assert any(n.startswith("course/assignments/ch01_optimization/hidden/") for n in names)
    assert "course/solutions/ch01_optimization/optimizers.py" in names
    assert not any("__pycache__" in n for n in names)
    setup = (root / "source" / "setup.sh").read_text()
    pin = (REPO / "constraints.txt").read_text().split("torch==")[1].split()[0]
    assert f'"torch=={pin}" ./leedl' in setup and (root / "source" / "constraints.txt").read_text() == f"torch=={pin}\n"
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(root / "source" / script)], check=True)
    assert "--insecure" not in (root / "source" / "run_autograder").read_text()


def test_insecure_is_explicit_and_baked_into_run_autograder(tmp_path):
    path = api.gradescope("ch01", tmp_path / "a.zip", course=REPO, insecure=True)
    with zipfile.ZipFile(path) as zf:
        assert "--chapter ch01_optimization --insecure" in zf.read("run_autograder").decode()


@pytest.mark.slow
def test_run_autograder_on_a_fake_autograder_tree(autograder):
    require_strict()
    _, root, _, _ = autograder
    sub = root / "submission"
    sub.mkdir()
    for p in (REPO / "solutions" / "ch01_optimization").glob("*.py"):
        text = p.read_text()
        if p.name == "schedules.py":
            head, _, tail = text.partition("def step_decay(")
            body = tail.split("# BEGIN SOLUTION", 1)
            text = head + "def step_decay(" + body[0] + "import os\n    os._exit(3)\n    # BEGIN SOLUTION" + body[1]
        (sub / p.name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LEEDL_COURSE")}
    env.update(LEEDL_AUTOGRADER_ROOT=str(root), LEEDL_PYTHON=sys.executable,
               PYTHONPATH=str(root / "source" / "leedl"))  # the package shipped in the zip
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    per = {}
    for t in data["tests"]:
        per.setdefault(t["tags"][0], []).append(t)
    crashed = per.pop("schedules.step_decay")
    assert {t["status"] for t in crashed} == {"failed"} and {t["tags"][1] for t in crashed} == {"crashed"}
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for ts in per.values() for t in ts)
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}
    lost = sum(t["max_score"] for t in crashed)
    assert data["score"] == pytest.approx(sum(t["max_score"] for t in data["tests"]) - lost)
    assert data["extra_data"]["leedl"]["sandbox"] == "strict"
    assert str(root / "source") not in run.stdout


@pytest.mark.slow
def test_run_autograder_as_root_without_namespaces(autograder, tmp_path):
    """As in Gradescope's Docker containers: root, but new namespaces refused. run_autograder grades
    behind the engine's boundary for that case (a dedicated unprivileged uid), never in the unbounded
    process mode."""
    if os.geteuid() != 0:
        pytest.skip("needs root, as Gradescope runs run_autograder")
    _, built, _, _ = autograder
    root = tmp_path / "autograder"
    shutil.copytree(built / "source", root / "source")
    (root / "submission").mkdir()
    for p in (REPO / "solutions" / "ch01_optimization").glob("*.py"):
        shutil.copy(p, root / "submission" / p.name)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(  # namespaces off, in every process of the run
        "from leedl_grader.sandbox import modes as sandbox\n"
        "sandbox.strict_available = lambda: (False, 'this container does not allow new namespaces')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LEEDL_COURSE")}
    env.update(LEEDL_AUTOGRADER_ROOT=str(root), LEEDL_PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([str(site), str(root / "source" / "leedl")]))
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results(data)
    assert run.returncode == 0, run.stderr[-3000:]
    assert data["extra_data"]["leedl"]["sandbox"] == policy.UID
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0  # the reference: full marks


def test_refusal_without_isolation_is_written_for_gradescope(tmp_path, monkeypatch):
    # Neither namespaces nor root: no boundary at all, whatever modes the engine has.
    monkeypatch.setattr(sandbox, "strict_available", lambda: (False, "namespaces and a separate uid need root"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    (tmp_path / "submission").mkdir()
    assert gs.run(tmp_path, "ch01", course=REPO) == 1
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    validate_results(data)
    assert data["tests"] == [] and "isolation" in data["output"]
