"""A stop (Ctrl-C, SIGTERM) that lands while a sandbox is starting: the process that was starting
is killed, not left behind, and no error of the clean-up (a cgroup that cannot be removed, a
worker that does not close) replaces the stop, which must reach the batch: a clean-up error in
its place was taken for one submission's fault, and the batch went on grading."""

import pytest
from conftest import GOOD_OPS, write_submission
from sandbox_util import require_strict

from leedl_grader.api import sandbox_mode
from leedl_grader.authoring.checks import check
from leedl_grader.course.chapters import load_chapter
from leedl_grader.judge.runner import Judge, JudgeOptions
from leedl_grader.sandbox import processes
from leedl_grader.sandbox.processes import WorkerLost


@check("ops.double", points=1, timeout=30)
def double_small(ctx):
    ctx.call("ops.double", 1.0)


def _judge(course):
    judge = Judge(load_chapter(course / "assignments" / "ch99_demo"), (double_small,),
                  JudgeOptions(mode=sandbox_mode()))
    judge.start()
    return judge


def test_a_stop_while_a_sandbox_starts_kills_what_was_starting(course, tmp_path, monkeypatch):
    require_strict()
    started = []
    read_pid = processes.Worker._read_pid

    def interrupted(self):
        started.append(self)
        read_pid(self)  # the process is up...
        raise KeyboardInterrupt  # ...and the stop lands before the judge holds it

    monkeypatch.setattr(processes.Worker, "_read_pid", interrupted)
    judge = _judge(course)
    try:
        with pytest.raises(KeyboardInterrupt):
            judge.grade(write_submission(tmp_path, "s", GOOD_OPS), "s", seed=1)
        (w,) = started
        assert w.exit_status is not None  # killed, and its end reported by its monitor
        assert judge._group is None  # the submission's cgroup is gone
    finally:
        judge.close()


def test_a_clean_up_error_never_replaces_a_stop(course, tmp_path, monkeypatch):
    def stopped(self, *a, **k):
        raise KeyboardInterrupt

    def cannot_remove(self):
        raise WorkerLost("crashed", "the sandbox's cgroup could not be emptied and removed")

    monkeypatch.setattr(Judge, "_run_check", stopped)
    monkeypatch.setattr(Judge, "_remove_group", cannot_remove)
    judge = _judge(course)
    try:
        with pytest.raises(KeyboardInterrupt):
            judge.grade(write_submission(tmp_path, "s", GOOD_OPS), "s", seed=1)
    finally:
        monkeypatch.undo()
        judge.close()
