"""One test for every chapter found under ``assignments/``: a chapter adds only its own content
tests. Here: the bug zoo is well formed, the committed stubs are up to date, the example class is
current, the release bundle holds no solution region and no hidden check, the reference scores full
marks and the stubs nothing (in this process, with the judge's own context and seeds, on every
exercise but the training ones), and (slow) ``leedl validate``: reference full marks, stubs zero,
every bug caught on its own exercise only, every alternative full, in the real sandbox."""

import inspect
from pathlib import Path

import pytest

from leedl_grader import api
from leedl_grader.course import chapters as courses
from leedl_grader.course.build import generated_files
from leedl_grader.course.markers import BEGIN, END, clear_solutions
from leedl_grader.course.release import release
from leedl_grader.course.validate import load_zoo
from leedl_grader.judge.inprocess import grade_in_process

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = courses.chapters(ROOT)
each_chapter = pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)


def test_chapters_exist():
    assert {c.short for c in CHAPTERS} >= {"ch01", "ch02"}


@each_chapter
def test_zoo_strings_occur_once_and_cover_every_exercise(chapter):
    """Each variant names an exercise of its chapter and that exercise's file, each replaced string
    occurs exactly once in the reference, the variant still compiles (from its bytes, as Python
    reads them, so a BOM is legal), and every exercise has at least two bugs and one alternative."""
    zoo = load_zoo(ROOT, chapter)
    exercises = {e.name for e in chapter.exercises}
    for v in zoo:
        assert v.exercise in exercises and set(v.also) <= exercises, v.name
        assert v.exercise.split(".")[0] + ".py" == v.file, v.name
        text = (courses.reference_dir(ROOT, chapter) / v.file).read_text(encoding="utf-8")
        for old, new in v.replace:
            assert text.count(old) == 1, f"{v.name}: {old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        compile(text.encode("utf-8"), v.file, "exec")
    for ex in exercises:
        assert sum(v.exercise == ex and v.kind == "bug" for v in zoo) >= 2, ex
        assert sum(v.exercise == ex and v.kind == "alternative" for v in zoo) >= 1, ex
    assert len({v.name for v in zoo}) == len(zoo)


@each_chapter
def test_committed_stubs_and_public_data_are_up_to_date(chapter):
    stale = [str(g.path.relative_to(ROOT)) for g in generated_files(ROOT, chapter) if g.stale()]
    assert not stale, f"out of date (run `leedl build {chapter.short}`): {stale}"


@each_chapter
def test_every_reference_file_has_markers_and_every_stub_raises(chapter):
    for src in courses.reference_files(ROOT, chapter):
        if src.name == "__init__.py":
            continue
        text = src.read_text(encoding="utf-8")
        assert BEGIN in text, f"{src.name} has no solution region"
        assert "NotImplementedError" in clear_solutions(text, module=src.stem)


@each_chapter
def test_example_class_is_current(chapter):
    """Every example student is a package of the chapter's files; ``correct`` (where there is
    one) is the reference without its markers."""
    examples = courses.examples_dir(ROOT, chapter)
    students = sorted(p for p in examples.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert students, f"{examples} holds no example student"
    for s in students:
        assert (s / "__init__.py").is_file(), s.name
    if (examples / "correct").is_dir():
        for f in courses.reference_files(ROOT, chapter):
            text = "".join(line for line in f.read_text(encoding="utf-8").splitlines(True)
                           if line.strip() not in (BEGIN, END))
            assert (examples / "correct" / f.name).read_text(encoding="utf-8") == text, f.name


def _lines(text: str) -> str:
    """Text compared line by line without indentation (a copy re-indented is still a copy)."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _solution_regions(text: str) -> list[str]:
    regions, inside = [], None
    for line in text.splitlines():
        if line.strip().startswith(END) and inside is not None:
            regions.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
        elif line.strip().startswith(BEGIN):
            inside = []
    return regions


@each_chapter
def test_release_bundle_holds_no_solution_and_no_hidden_check(chapter, tmp_path):
    """Every file of the bundle is read; none contains the text of a solution region or the body
    of a hidden check. (Regions shorter than 40 characters, such as ``return out``, are too
    common to be evidence and are not looked for.)"""
    release(ROOT, chapter, tmp_path)
    texts = {p: _lines(p.read_text(encoding="utf-8", errors="replace"))
             for p in tmp_path.rglob("*") if p.is_file()}
    assert not [p for p in texts if "hidden" in p.relative_to(tmp_path).parts]
    secrets = []
    for f in courses.reference_files(ROOT, chapter):
        secrets += [(f"solution region of {f.name}", _lines(r))
                    for r in _solution_regions(f.read_text(encoding="utf-8"))]
    for c in courses.load_suite(chapter, "hidden"):
        body = inspect.getsource(c.fn).split(":\n", 1)[-1]  # below the def line
        secrets.append((f"hidden check {c.name}", _lines(body)))
    secrets = [(what, s) for what, s in secrets if len(s) >= 40]
    assert secrets
    leaks = [f"{what} in {p.relative_to(tmp_path)}" for p, text in texts.items() for what, s in secrets if s in text]
    assert not leaks
    allowed = {"README.md", chapter.name}
    assert {p.name for p in tmp_path.iterdir()} <= allowed


@each_chapter
def test_reference_full_and_stubs_zero_in_process(chapter):
    """Every check of every exercise that trains nothing, public and hidden, at seed 0. Training
    exercises take minutes: test_validate grades them."""
    training = {c.exercise for c in courses.load_suite(chapter, "hidden") if c.kind == "training"}
    only = tuple(e.name for e in chapter.exercises if e.name not in training)
    ref = grade_in_process(ROOT, chapter, courses.reference_dir(ROOT, chapter), seed=0, only=only)
    lost = {f"{c.exercise}:{c.name}": f"{c.outcome.value}: {c.message}" for c in ref.results if c.score < c.max_score}
    assert ref.max_score > 0 and not lost
    stubs = grade_in_process(ROOT, chapter, chapter.root, seed=0, only=only)
    assert stubs.max_score == ref.max_score
    assert not [c.name for c in stubs.results if c.score > 0]


@pytest.mark.slow
@each_chapter
def test_validate(chapter):
    """``leedl validate``: the proof that the hidden checks work."""
    (report,) = api.validate(chapter.name, seed=20261126, jobs=2, course=ROOT)
    bad = [f"{r.subject}: {r.detail}" for r in report.rows if not r.ok]
    assert not bad, "\n".join(bad)
    kinds = {r.kind for r in report.rows}
    assert {"reference", "stubs", "build", "bug", "alternative"} <= kinds
