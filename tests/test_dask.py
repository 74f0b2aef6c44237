"""Grading on a Dask cluster (``leedl grade --scheduler``): the same results as the local pool,
and nothing lost when a worker dies, hangs, or the client is killed."""

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import dask
import pytest
from click.testing import CliRunner
from conftest import FIXTURE_COURSE, GOOD_OPS, REPO, write_submission

from leedl_grader.cli import main
from leedl_grader.judge import batch, batch_record, results
from leedl_grader.judge import cluster as dist
from leedl_grader.judge import cluster_task as dask_task
from leedl_grader.judge.runner import JudgeOptions
from leedl_grader.judge.submissions import Submission, discover
from leedl_grader.sandbox import modes as sandbox
from leedl_grader.sandbox import policy
from leedl_grader.sandbox.gpu import gpu_lock_path

distributed = pytest.importorskip("distributed")

MODE = policy.STRICT if sandbox.strict_available()[0] else policy.PROCESS
# Each check of ch99 calls ``double``; this one takes a while at each call, so its task is
# still running when a test strikes the worker that holds it.
SLOW_OPS = GOOD_OPS.replace("return x * 2", "import time\n    time.sleep(0.7)\n    return x * 2")
BAD_OPS = GOOD_OPS.replace("return x * 2", "return x * 2 + 1e-3")


def local_cluster(courses, n=2):
    return distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    dashboard_address=None, silence_logs=logging.CRITICAL,
                                    env={"LEEDL_COURSES": os.pathsep.join(map(str, courses))})


@pytest.fixture(scope="module")
def shared_course(tmp_path_factory):
    dest = tmp_path_factory.mktemp("dask") / "course"
    shutil.copytree(FIXTURE_COURSE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def cluster(shared_course):
    """Two worker processes that grade both the fixture course and this repository's."""
    with local_cluster([shared_course, REPO]) as c:
        yield c


def client_of(cluster):
    return distributed.Client(cluster, set_as_default=False, deserializers=dist.SAFE)


def ch99_class(root, slow=("slow",), good=("a", "b", "c", "d"), bad=("e",)):
    for name in good:
        write_submission(root, name, GOOD_OPS)
    for name in bad:
        write_submission(root, name, BAD_OPS)
    for name in slow:
        write_submission(root, name, SLOW_OPS)
    return discover(root)


def grade(course, subs, out, backend=None, *, seed=7, jobs=2, chapter="ch99_demo"):
    suite = batch.Suite(course=str(course), chapter=chapter, kinds=("public", "hidden"))
    seen = []
    got = batch.grade_many(suite, subs, out, JudgeOptions(mode=MODE), seed=seed, jobs=jobs, backend=backend,
                           on_result=lambda r, skipped: seen.append((r.student, skipped)))
    return got, seen


def comparable(path):
    """A result file's record, less the timings (which no two runs share)."""
    r = results.read_result(path)
    return dataclasses.replace(r, execution_time=0.0, results=tuple(
        dataclasses.replace(c, duration=0.0) for c in r.results))


class Starts:
    """Which worker started which student's task (a second client, listening to the workers)."""

    def __init__(self, cluster):
        self.client = client_of(cluster)
        self.events = []
        self.client.subscribe_topic(dask_task.TOPIC, lambda ev: self.events.append(ev[1]))

    def of(self, student):
        return [e["worker"] for e in self.events if f"-{student}-" in e["key"]]

    def close(self):
        self.client.close()


def worker_pids(client):
    return client.run(os.getpid)


# --- address and security: refused before anything is written ----------------------------------
def test_plain_tcp_off_this_machine_is_refused(course, tmp_path):
    with pytest.raises(dist.DistributedError, match="refusing plain tcp:// to 10.1.2.3"):
        dist.security_for("tcp://10.1.2.3:8786")
    with pytest.raises(dist.DistributedError, match="refusing plain tcp://"):
        dist.security_for("gpu-box.example.org:8786")  # no scheme: Dask's default is tcp
    with pytest.raises(dist.DistributedError, match="tls://"):
        dist.security_for("ws://127.0.0.1:8786")
    for ok in ("tcp://127.0.0.1:8786", "localhost:8786", "tcp://[::1]:8786"):
        assert not dist.security_for(ok).require_encryption
    with dask.config.set({"distributed.comm.tls.ca-file": None, "distributed.comm.tls.client.cert": None}):
        with pytest.raises(dist.DistributedError, match="ca-file.*client.cert"):
            dist.security_for("tls://10.1.2.3:8786")
    pem = tmp_path / "x.pem"
    pem.write_text("")
    with dask.config.set({"distributed.comm.tls.ca-file": str(pem), "distributed.comm.tls.client.cert": str(pem)}):
        assert dist.security_for("tls://10.1.2.3:8786").require_encryption

    subs = tmp_path / "subs"
    write_submission(subs, "alice", GOOD_OPS)
    r = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(tmp_path / "out"),
                                  "--scheduler", "tcp://10.1.2.3:8786"])
    assert r.exit_code == 1 and "refusing plain tcp://" in r.output
    assert not (tmp_path / "out").exists()


def test_a_worker_refuses_another_version_of_the_course_or_of_leedl(course, tmp_path):
    suite = batch.Suite(course=str(course), chapter="ch99_demo", kinds=("public", "hidden"))
    job = {"chapter": "ch99_demo", "kinds": ["public", "hidden"], "fingerprint": suite.fingerprint(),
           "version": dask_task.__version__, "options": JudgeOptions(mode=MODE), "seed": 1, "student": "a", "key": "k"}
    payload = dask_task.pack(Submission("a", write_submission(tmp_path / "subs", "a", GOOD_OPS)),
                        dask_task.courses.load_chapter(course / "assignments" / "ch99_demo"))
    assert set(payload["files"]) == {"ops.py"} and payload["links"] == []  # bytes, never a path
    assert dask_task.refusal(job)[1] == ""
    for change, why in (({"fingerprint": "0" * 64}, "another version"), ({"version": "0.0.0"}, "the client 0.0.0"),
                        ({"chapter": "ch98_other"}, "no course with ch98_other")):
        reply = json.loads(dask_task.grade_task(payload, {**job, **change}))
        assert why in reply["refused"] and "result" not in reply


def test_gpu_tasks_go_only_to_workers_with_a_gpu(cluster, shared_course, tmp_path):
    assert dist.task_resources("cuda") == dist.task_resources("cuda:1") == {"GPU": 1}
    assert dist.task_resources("cpu") == {}
    # One GPU, one lock: workers pinned to different GPUs never wait on each other.
    assert gpu_lock_path("cuda", "2") == gpu_lock_path("cuda:1", "0,2") == gpu_lock_path("cuda:2", "")
    assert gpu_lock_path("cuda", "0") != gpu_lock_path("cuda", "1")
    assert gpu_lock_path("cuda", "GPU-8f2a/../x").endswith("leedl-gpu-GPU-8f2a____x.lock")
    subs = ch99_class(tmp_path / "subs", slow=(), good=("a",), bad=())
    suite = batch.Suite(course=str(shared_course), chapter="ch99_demo", kinds=("public", "hidden"))
    with client_of(cluster) as client, dist.DaskBackend(client) as backend:
        with pytest.raises(dist.DistributedError, match="no worker offers a GPU.*--resources GPU=1"):
            batch.grade_many(suite, subs, tmp_path / "out", JudgeOptions(mode=MODE, device="cuda"), seed=1,
                             backend=backend)
    assert not list((tmp_path / "out").glob("*.json"))


class Booby:
    """Unpickling this creates a folder: the client must never unpickle what a worker sends."""

    def __init__(self, where):
        self.where = where

    def __reduce__(self):
        return (os.makedirs, (self.where,))


def test_the_client_never_unpickles_what_a_worker_sends(cluster, tmp_path):
    with client_of(cluster) as client:
        future = client.submit(Booby, str(tmp_path / "unpickled"), pure=False)
        with pytest.raises(TypeError, match="only able to deserialize"):
            future.result()
    assert not (tmp_path / "unpickled").exists()


# --- the same results as the local pool --------------------------------------------------------
@pytest.mark.slow
def test_same_scores_and_outcomes_as_the_local_pool_for_the_ch01_examples(cluster, tmp_path):
    # erin hangs until every time limit of one exercise (minutes): it adds nothing here.
    subs = [s for s in discover(REPO / "solutions" / "ch01_optimization" / "examples") if s.student != "erin"]
    chapter = "ch01_optimization"
    pool, _ = grade(REPO, subs, tmp_path / "pool", chapter=chapter)
    with client_of(cluster) as client, dist.DaskBackend(client) as backend:
        on_dask, seen = grade(REPO, subs, tmp_path / "dask", backend, chapter=chapter)
        assert sorted(seen) == sorted((s.student, False) for s in subs)
        _, again = grade(REPO, subs, tmp_path / "dask", backend, chapter=chapter)  # resume: nothing to do
        assert sorted(again) == sorted((s.student, True) for s in subs)
    by_pool = {r.student: r for r in pool}
    for r in on_dask:
        assert [(c.name, c.outcome, c.score) for c in r.results] == \
            [(c.name, c.outcome, c.score) for c in by_pool[r.student].results]
        name = f"{r.student}.json"
        assert comparable(tmp_path / "dask" / name) == comparable(tmp_path / "pool" / name)
    assert len({r.score for r in on_dask}) > 3  # the class has a spread of marks, not one outcome


# --- faults ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_worker_killed_mid_task_loses_nothing_and_counts_nothing_twice(cluster, shared_course, tmp_path):
    subs = ch99_class(tmp_path / "subs")
    starts = Starts(cluster)
    killed = {}

    def strike():  # kill the worker process that is grading "slow", while it grades it
        deadline = time.monotonic() + 120
        while not starts.of("slow") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        worker = starts.of("slow")[0]
        killed["pid"] = pids[worker]
        os.kill(pids[worker], signal.SIGKILL)

    with client_of(cluster) as client, dist.DaskBackend(client) as backend:
        pids = worker_pids(client)
        t = threading.Thread(target=strike)
        t.start()
        graded, seen = grade(shared_course, subs, tmp_path / "out", backend)
        t.join()
    starts.close()
    assert killed["pid"] in pids.values()
    assert len(starts.of("slow")) >= 2  # graded again, on a live worker
    assert sorted(seen) == sorted((s.student, False) for s in subs)  # each student once
    scores = {r.student: r.score for r in graded}
    assert scores == {"a": 7, "b": 7, "c": 7, "d": 7, "e": scores["e"], "slow": 7} and scores["e"] < 7
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{s.student}.json" for s in subs)


@pytest.mark.slow
def test_a_worker_that_never_answers_is_restarted_and_its_student_graded_elsewhere(shared_course, tmp_path):
    subs = ch99_class(tmp_path / "subs", slow=(), good=("a", "b", "c", "d", "e"), bad=("f",))
    notes = []
    stopped = {}
    with local_cluster([shared_course]) as cluster, client_of(cluster) as client:
        starts = Starts(cluster)
        pids = worker_pids(client)

        def freeze():  # the first worker to start a task stops answering (SIGSTOP: no reply, no death)
            deadline = time.monotonic() + 120
            while not starts.events and time.monotonic() < deadline:
                time.sleep(0.01)
            first = starts.events[0]
            stopped["student"] = first["key"].split("-")[2]
            stopped["pid"] = pids[first["worker"]]
            os.kill(stopped["pid"], signal.SIGSTOP)

        t = threading.Thread(target=freeze)
        t.start()
        try:
            # The limit is generous: a healthy task here takes about a second, ten on a busy machine.
            with dist.DaskBackend(client, task_timeout=25, on_note=notes.append) as backend:
                graded, seen = grade(shared_course, subs, tmp_path / "out", backend)
        finally:
            t.join()
            if "pid" in stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(stopped["pid"], signal.SIGKILL)
        starts.close()
    assert any(f"did not finish {stopped['student']} within 25 s" in n for n in notes), notes
    assert sorted(seen) == sorted((s.student, False) for s in subs)  # each student once
    scores = {r.student: r.score for r in graded}
    assert scores == {"a": 7, "b": 7, "c": 7, "d": 7, "e": 7, "f": scores["f"]} and scores["f"] < 7


@pytest.mark.slow
def test_client_killed_mid_batch_resumes_from_the_files_written(course, tmp_path):
    subs = tmp_path / "subs"
    ch99_class(subs, slow=("s1", "s2", "s3", "s4"), good=("a",), bad=())
    out = tmp_path / "out"
    names = ["a", "s1", "s2", "s3", "s4"]

    def written():  # the students' result files (the class's own record is no student's)
        return {p.name: p.read_text() for p in out.glob("*.json") if p.stem in names}

    cmd = [sys.executable, "-m", "leedl_grader.cli", "grade", "ch99", str(subs), "--out", str(out),
           "--scheduler", "local", "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not written() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the client, its local cluster and their judges
    proc.wait()
    first = written()
    assert 1 <= len(first) < 5
    assert not [p for p in out.rglob(".*") if p.name != batch_record.CLASS_DIR]  # no half-written file
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(first)} unchanged (not regraded)" in done.stdout
    again = written()
    assert {k: v for k, v in again.items() if k in first} == first
    graded = [results.read_result(out / name) for name in again]
    assert sorted(r.student for r in graded) == names
    assert {r.score for r in graded} == {7} and len({r.seed for r in graded}) == 1
