"""One context protocol: the judge's context implements all of it, and grading in this process
(the content tests' judge) gives the very results of a sandboxed run at the same seed."""

import inspect

from conftest import write_submission

from leedl_grader.authoring.checks import Context as Protocol
from leedl_grader.course import chapters as courses
from leedl_grader.judge import batch
from leedl_grader.judge.context import Context
from leedl_grader.judge.inprocess import grade_in_process
from leedl_grader.judge.runner import JudgeOptions
from leedl_grader.judge.submissions import Submission
from leedl_grader.sandbox.policy import PROCESS

BAD_OPS = '''import torch
import torch.nn.functional as F


def double(x):
    x.mul_(2)
    return x


def softplus(x):
    return F.softplus(x)
'''


def test_the_judges_context_implements_the_whole_protocol():
    members = [n for n, v in vars(Protocol).items() if not n.startswith("_") and callable(v) or isinstance(v, property)]
    assert {"generator", "call", "run", "time_ratio", "train", "load_model", "artifact", "plotting"} <= set(members)
    for name in members:
        assert inspect.getattr_static(Context, name) is not inspect.getattr_static(Protocol, name), name


def _outcomes(result):
    return [(r.name, r.outcome.value, r.score) for r in result.results]


def test_in_process_grades_as_the_sandbox_does(course, tmp_path):
    """Same checks, seeds and verdicts: passes, a wrong answer, an in-place change, a forbidden
    call (static scan) and a stub."""
    ch = courses.resolve_chapter(course, "ch99")
    good = courses.reference_dir(course, ch)
    bad = write_submission(tmp_path, "bad", BAD_OPS)
    suite = batch.Suite(course=str(course), chapter=ch.name, kinds=("public", "hidden"))
    for src, seed in ((good, 5), (bad, 5), (ch.root, 6)):
        (sandboxed,) = batch.grade_many(suite, [Submission("s", src)], None, JudgeOptions(mode=PROCESS),
                                        seed=seed, jobs=1, force=True)
        local = grade_in_process(course, ch, src, seed=seed)
        assert _outcomes(local) == _outcomes(sandboxed), src.name
    assert {o for _, o, _ in _outcomes(grade_in_process(course, ch, bad, seed=5))} >= {"failed", "forbidden"}
