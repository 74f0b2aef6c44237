"""Every chapter on a GPU, in the strict sandbox: per-check outcomes and speed ratios (a benchmark).

Default run: for each chapter, the reference, the stubs and the first bug of the zoo for each
exercise, graded with ``--device cuda`` at one seed (so one training seed per training
exercise), as ``leedl validate`` grades them: a bug must lose points on its own exercise, the
reference must get full marks, the stubs nothing. ``--full`` grades the whole zoo. Prints every
check of the reference with its outcome, time and speed ratio (student time / yardstick time,
both on the device), then one line per bug and per chapter; exits 1 if anything is not as
``validate`` expects. Meant to take at most 8 minutes on one GPU (the default run).

On a machine without CUDA it says so and exits 0 (``--device cpu`` runs the same selection on
the CPU, for ratios to compare with).

    python benchmarks/gpu_check.py [--full] [--chapters ch01,ch05] [--seed 1] [--jobs 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def first_bug_per_exercise(zoo):
    seen, out = set(), []
    for v in zoo:
        if v.kind == "bug" and v.exercise not in seen:
            seen.add(v.exercise)
            out.append(v)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the whole zoo, alternatives included")
    ap.add_argument("--chapters", default="", help="comma-separated (default: every chapter)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="judges (checks on one GPU take turns anyway)")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"no CUDA device here (torch {torch.__version__}: torch.cuda.is_available() is False); "
              "nothing to check. Run it on a machine with a GPU.")
        return 0

    from leedl_grader import api
    from leedl_grader.course import chapters as courses
    from leedl_grader.course import validate as validator

    mode = api.sandbox_mode()
    if args.device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(args.device))
        print(f"device {args.device}: {props.name}, {props.total_memory / 2**30:.0f} GiB; sandbox {mode}")
    else:
        print(f"device {args.device}; sandbox {mode}")
    wanted = [c.strip() for c in args.chapters.split(",") if c.strip()]
    chapters = [c for c in courses.chapters(REPO) if not wanted or c.short in wanted or c.name in wanted]
    select = None if args.full else first_bug_per_exercise
    ok, t_all = True, time.perf_counter()
    for ch in chapters:
        results = {}
        t0 = time.perf_counter()
        report = validator.validate(REPO, ch, seed=args.seed, jobs=args.jobs, mode=mode, device=args.device,
                                    on_result=lambda r, skipped, into=results: into.__setitem__(r.student, r),
                                    select=select)
        wall = time.perf_counter() - t0
        ref = results.get("reference")
        print(f"\n== {ch.name} on {args.device} (seed {args.seed}): {wall:.0f} s")
        for r in ref.results if ref is not None else ():
            speed = f"  speed {r.ratio:6.2f}x" if r.ratio is not None else ""
            print(f"   {r.outcome.value:8s} {r.score:g}/{r.max_score:g}  {r.duration:6.2f} s  "
                  f"{r.exercise}:{r.name}{speed}")
            if r.outcome.value not in ("passed",):
                print(f"            {r.message[:160]}")
        for row in report.rows:
            if row.kind in ("bug", "alternative", "stubs", "reference") or not row.ok:
                print(f"   {'ok  ' if row.ok else 'FAIL'} {row.kind:11s} {row.subject}: {row.detail[:120]}")
        ratios = [r.ratio for r in (ref.results if ref is not None else ()) if r.ratio is not None]
        if ratios:
            print(f"   speed ratios of the reference on {args.device}: "
                  + ", ".join(f"{x:.2f}" for x in ratios))
        ok &= report.ok
    print(f"\n{'all as expected' if ok else 'SOME CHECKS NOT AS EXPECTED'} in {time.perf_counter() - t_all:.0f} s "
          f"on {args.device} ({'whole zoo' if args.full else 'reference, stubs, one bug per exercise'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
