"""Stubs are generated from the reference (every real chapter's are checked in test_chapters.py)."""

from leedl_grader.course import chapters as courses
from leedl_grader.course.build import build, generated_files


def test_build_writes_only_what_changed(course):
    ch = courses.resolve_chapter(course, "ch99")
    assert build(course, ch) == []
    stub = ch.root / "ops.py"
    stub.write_text(stub.read_text() + "# edited by hand\n")
    assert [g.path for g in generated_files(course, ch) if g.stale()] == [stub]
    assert build(course, ch) == [stub]
    assert not [g for g in generated_files(course, ch) if g.stale()]
