"""What a hang costs a batch: a correct student, one who hangs in one function, one who hangs in
every function, graded by `leedl grade` (strict sandbox, one judge). Prints seconds.

    python benchmarks/hang_cost.py [ch01] [exercise]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from leedl_grader.cli import main
from leedl_grader.course import chapters as course

WHO = tuple(os.environ.get("LEEDL_BENCH_WHO", "correct,hang_one,hang_everywhere").split(","))
ROOT = Path(__file__).resolve().parent.parent
HANG_FN = "def {name}(*args, **kwargs):\n    import time\n    while True:\n        time.sleep(1)\n"
HANG_CLASS = ("class {name}:\n    def __init__(self, *args, **kwargs):\n        import time\n        while True:\n"
              "            time.sleep(1)\n")


def hang(source: str, names: list[str]) -> str:
    """``source`` with each of ``names`` defined again at its end, hanging (a later definition wins)."""
    out = source + "\n\n"
    for n in names:
        out += (HANG_CLASS if n[:1].isupper() else HANG_FN).format(name=n) + "\n\n"
    return out


def main_(chapter_name: str = "ch01", exercise: str | None = None) -> None:
    ch = course.resolve_chapter(ROOT, chapter_name)
    ref = ROOT / "solutions" / ch.name
    checks = [c for k in ("public", "hidden") for c in course.load_suite(ch, k) if c.kind != "training"]
    per_ex = {}
    for c in checks:
        per_ex[c.exercise] = per_ex.get(c.exercise, 0) + 1
    exercise = exercise or max(per_ex, key=per_ex.get)  # the one with the most checks
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        for who in WHO:
            shutil.copytree(ref, subs / who, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
        f, _, name = exercise.partition(".")
        if "hang_one" in WHO:
            p = subs / "hang_one" / f"{f}.py"
            p.write_text(hang(p.read_text(), [name]))
        training = {c.exercise for k in ("public", "hidden") for c in course.load_suite(ch, k) if c.kind == "training"}
        for file in ch.files if "hang_everywhere" in WHO else ():
            names = [e.name.partition(".")[2] for e in ch.exercises if e.file == file and e.name not in training]
            p = subs / "hang_everywhere" / file
            p.write_text(hang(p.read_text(), names))
        out = Path(tmp) / "out"
        r = CliRunner().invoke(main, ["grade", ch.short, str(subs), "--out", str(out), "--jobs", "1", "--seed", "1",
                                      "--course", str(ROOT)], catch_exceptions=False)
        if r.exit_code != 0:
            print(r.output)
            raise SystemExit(1)
        res = {who: json.loads((out / f"{who}.json").read_text()) for who in WHO}
        limits = json.loads((out / ".leedl" / "batch.json").read_text())["time_limits"]
    t = {who: r["execution_time"] for who, r in res.items()}
    train_s = {who: sum(x["duration"] for x in r["leedl"]["results"] if x["kind"] == "training")
               for who, r in res.items()}
    print(f"{ch.name}: {len(checks)} ordinary checks; reference needs {limits['reference_s']:.1f} s for them; "
          f"student budget {limits['budget_s']:g} s")
    print(f"hung exercise: {exercise} ({per_ex[exercise]} checks)")
    for who in t:
        score = f"{res[who]['score']:g}/{res[who]['max_score']:g}"
        print(f"  {who:16s} {t[who]:7.1f} s  ({train_s[who]:.1f} s of it training)  {score}")
    if "hang_one" in t and "correct" in t:
        print(f"one hung function costs   {t['hang_one'] - t['correct']:6.1f} s more than a correct student")
    if "hang_everywhere" in t:
        print(f"hanging everywhere costs  {t['hang_everywhere'] - train_s['hang_everywhere']:6.1f} s "
              f"(training exercises aside)")
    for who, r in res.items():
        ran = [x for x in r["leedl"]["results"] if x["duration"] > 0]
        print(f"  {who}: {len(ran)} checks ran, {sum(x['duration'] for x in ran):.1f} s in checks; "
              f"outcomes {sorted({x['outcome'] for x in ran})}")
    for who, r in res.items():
        lost = re.findall(r"not run: [^(]*", " ".join(x["message"] for x in r["leedl"]["results"]))
        print(f"  {who}: checks ended by a budget without running: {len(lost)}")


if __name__ == "__main__":
    main_(*sys.argv[1:])
