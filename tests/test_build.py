"""Stubs are generated from the reference: the committed ones must be up to date."""

from pathlib import Path

import pytest

from leedl_grader import course as courses
from leedl_grader.build import generated_files
from leedl_grader.markers import clear_solutions

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = courses.chapters(REPO) if (REPO / "assignments").is_dir() else []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_committed_stubs_and_public_data_are_up_to_date(chapter):
    stale = [str(g.path.relative_to(REPO)) for g in generated_files(REPO, chapter) if g.stale()]
    assert not stale, f"out of date (run `leedl build {chapter.short}`): {stale}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_every_reference_file_has_markers_and_every_stub_raises(chapter):
    for src in sorted((REPO / "solutions" / chapter.name).glob("*.py")):
        if src.name == "__init__.py":
            continue
        text = src.read_text()
        assert "# BEGIN SOLUTION" in text, f"{src.name} has no solution region"
        stub = clear_solutions(text, module=src.stem)
        assert "NotImplementedError" in stub


def test_chapters_exist():
    assert {c.short for c in CHAPTERS} >= {"ch01"}
