"""`leedl validate` on every real chapter: reference full, stubs zero, every bug caught on its own
exercise only, every alternative full. This is the proof that the hidden checks work."""

from pathlib import Path

import pytest

from leedl_grader import api
from leedl_grader import course as courses

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [c.name for c in courses.chapters(REPO)])
def test_validate(chapter):
    (report,) = api.validate(chapter, seed=20261126, jobs=2, course=REPO)
    bad = [f"{r.subject}: {r.detail}" for r in report.rows if not r.ok]
    assert not bad, "\n".join(bad)
    kinds = {r.kind for r in report.rows}
    assert {"reference", "stubs", "build", "bug", "alternative"} <= kinds
