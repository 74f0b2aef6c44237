"""`leedl check` imports torch once: the judge forks its zygote after importing torch and the
sandbox side, before it loads a check or the reference; where that cannot hold (a hidden suite or
the reference already loaded, another thread running) the zygote starts as a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import GOOD_OPS, write_submission

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import json, sys
from pathlib import Path
from leedl_grader import api
from leedl_grader.course import chapters
from leedl_grader.sandbox import zygote_handle
r = api.check("ch99", Path(sys.argv[1]), hidden=True)
first = zygote_handle.forked
ch = chapters.resolve_chapter(Path(sys.argv[2]), "ch99")
chapters.load_suite(ch, "hidden")  # a secret is loaded now: no fork from here on
print(json.dumps({"forked": first, "score": r.score, "max": r.max_score, "after_hidden": zygote_handle.forkable()}))
"""


def test_the_zygote_is_forked_before_anything_secret_is_loaded(course, tmp_path):
    work = write_submission(tmp_path, "mine", GOOD_OPS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEEDL_COURSE": str(course)}
    env.pop("LEEDL_ZYGOTE", None)
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(work), str(course)], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["forked"] == 1  # torch imported once, here, for the judge and the zygote
    assert out["score"] == out["max"]  # the forked zygote's workers grade as the fresh one's do
    assert out["after_hidden"] is False
