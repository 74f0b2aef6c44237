"""Students per minute on a local Dask cluster (1 and 2 warm workers) against the local pool
(a benchmark, not a test).

The same class of N ch01 submissions (the example class, cycled; erin, who hangs until every time
limit of one exercise, left out unless --with-hangs) is graded with the same seed by the local
process pool (--jobs 2, its start-up included: that is what a batch pays), then by a LocalCluster of
1 and of 2 worker processes whose judges were warmed by a small batch first. Two rates: over the
whole batch (the pool's start-up included), and steady, from the first result to the last (no
start-up anywhere). The ratios are taken within one run; the load average is printed beside them,
since other work on the machine moves every figure.

    python benchmarks/dask_throughput.py [--copies 40] [--repeat 1] [--with-hangs]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distributed import Client, LocalCluster  # noqa: E402

from leedl_grader import api  # noqa: E402
from leedl_grader.judge import batch  # noqa: E402
from leedl_grader.judge import cluster as dist  # noqa: E402
from leedl_grader.judge import cluster_task as dask_task  # noqa: E402
from leedl_grader.judge.runner import JudgeOptions  # noqa: E402
from leedl_grader.judge.submissions import discover  # noqa: E402

CHAPTER = "ch01_optimization"


def make_class(dest: Path, copies: int, with_hangs: bool) -> list:
    examples = [s for s in discover(REPO / "solutions" / "ch01_optimization" / "examples")
                if with_hangs or s.student != "erin"]
    for i in range(copies):
        src = examples[i % len(examples)]
        shutil.copytree(src.path, dest / f"s{i:02d}-{src.student}")
    return discover(dest)


def load() -> str:
    return "{:.1f}".format(os.getloadavg()[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=1, help="rounds, interleaved; the median is reported")
    ap.add_argument("--with-hangs", action="store_true")
    args = ap.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    suite = batch.Suite(course=str(REPO), chapter=CHAPTER, kinds=("public", "hidden"))
    options = JudgeOptions(mode=api.sandbox_mode())
    walls: dict[str, list[float]] = {}
    steady: dict[str, list[float]] = {}
    scores: dict[str, list] = {}
    loads: list[str] = [load()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = make_class(tmp / "class", args.copies, args.with_hangs)
        warmup = subs[:4]
        n = [0]

        def run(label, backend=None, jobs=2):
            n[0] += 1
            stamps = []
            t0 = time.perf_counter()
            got = batch.grade_many(suite, subs, tmp / f"out{n[0]}", options, seed=0, jobs=jobs, backend=backend,
                                   on_result=lambda r, skipped: stamps.append(time.perf_counter()))
            walls.setdefault(label, []).append(time.perf_counter() - t0)
            steady.setdefault(label, []).append((len(stamps) - 1) / (stamps[-1] - stamps[0]) * 60)
            scores[label] = sorted((r.student, r.score) for r in got)
            loads.append(load())

        clusters = {}
        try:
            for workers in (1, 2):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       env={"LEEDL_COURSE": str(REPO)})
                client = Client(cluster, set_as_default=False)
                backend = dist.DaskBackend(client)
                for _ in range(3):  # warm every worker's judge (a task goes to whichever is free)
                    n[0] += 1
                    batch.grade_many(suite, warmup, tmp / f"warm{n[0]}", options, seed=0, backend=backend)
                    if all(client.run(lambda: "judge" in dask_task._JUDGE).values()):
                        break
                clusters[workers] = (cluster, client, backend)
            for _ in range(args.repeat):
                run("local pool, 2 processes", jobs=2)
                run("dask, 1 worker (warm)", clusters[1][2])
                run("dask, 2 workers (warm)", clusters[2][2])
        finally:
            for cluster, client, _ in clusters.values():
                client.close()
                cluster.close()
    median = {k: statistics.median(v) for k, v in walls.items()}
    per_min = {k: args.copies / v * 60 for k, v in median.items()}
    print(f"{args.copies} ch01 submissions, seed 0, {args.repeat} round(s); "
          f"1-min load average before/after each run: {' '.join(loads)} (on {os.cpu_count()} CPUs)")
    rate = {k: statistics.median(v) for k, v in steady.items()}
    print(f"{'':28s} {'wall s':>7s} {'students/min':>13s} {'steady/min':>11s}")
    for k in walls:
        print(f"{k:28s} {median[k]:7.1f} {per_min[k]:13.1f} {rate[k]:11.1f}")
    two, one, pool = "dask, 2 workers (warm)", "dask, 1 worker (warm)", "local pool, 2 processes"
    print(f"2 workers / 1 worker:        {per_min[two] / per_min[one]:.2f}x whole, "
          f"{rate[two] / rate[one]:.2f}x steady")
    print(f"2 workers / local pool:      {per_min[two] / per_min[pool]:.2f}x whole, "
          f"{rate[two] / rate[pool]:.2f}x steady")
    print(f"same scores everywhere:      {'yes' if len({tuple(v) for v in scores.values()}) == 1 else 'NO'}")


if __name__ == "__main__":
    main()
