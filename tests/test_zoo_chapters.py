"""Every real chapter's bug zoo is well formed: each variant names an exercise of its chapter and
the file that exercise lives in, each replaced string occurs exactly once in the reference, the
variant still parses (from its bytes, as Python reads them, so a BOM is legal), and every exercise
has at least two bugs and one correct alternative. Whether the checks catch them is
test_validate_chapters' job."""

from pathlib import Path

import pytest

from leedl_grader import course as courses
from leedl_grader.validate import load_zoo

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("chapter", courses.chapters(ROOT), ids=lambda c: c.name)
def test_zoo_strings_occur_once_and_cover_every_exercise(chapter):
    zoo = load_zoo(ROOT, chapter)
    exercises = {e.name for e in chapter.exercises}
    for v in zoo:
        assert v.exercise in exercises and set(v.also) <= exercises, v.name
        assert v.exercise.split(".")[0] + ".py" == v.file, v.name
        text = (ROOT / "solutions" / chapter.name / v.file).read_text(encoding="utf-8")
        for old, new in v.replace:
            assert text.count(old) == 1, f"{v.name}: {old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        compile(text.encode("utf-8"), v.file, "exec")
    for ex in exercises:
        assert sum(v.exercise == ex and v.kind == "bug" for v in zoo) >= 2, ex
        assert sum(v.exercise == ex and v.kind == "alternative" for v in zoo) >= 1, ex
    assert len({v.name for v in zoo}) == len(zoo)
