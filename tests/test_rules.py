"""The authoring rules: checked by `leedl validate` before it grades, each stated with its fix, and
stated in docs/authoring.md in the same words."""

from pathlib import Path

import pytest

from leedl_grader.course import chapters as courses
from leedl_grader.course import rules

ROOT = Path(__file__).resolve().parent.parent


def by_key(rows):
    return {r.subject.removeprefix("rule "): r for r in rows}


def test_the_fixture_chapter_meets_every_rule_and_is_warned_of_conventions(course):
    rows = by_key(rules.check(course, courses.resolve_chapter(course, "ch99")))
    assert set(rows) == {r.key for r in rules.RULES}
    assert all(r.ok for r in rows.values()), rows
    assert rows["hidden-points-100"].detail.startswith("warning: the hidden checks' points total 6; fix: scale")
    assert rows["public-check"].detail.startswith("warning: no public check: ops.softplus; fix: add a @check")
    assert rows["zoo-coverage"].detail == rules.BY_KEY["zoo-coverage"].statement.format(name="ch99_demo")


def test_a_broken_rule_says_what_is_wrong_and_the_fix(course):
    toml = course / "assignments" / "ch99_demo" / "chapter.toml"
    toml.write_text(toml.read_text().replace('"ops.softplus"]', '"ops.softplus", "ops.triple"]'))
    zoo = course / "solutions" / "ch99_demo" / "zoo.toml"
    zoo.write_text(zoo.read_text() + '\n[[variant]]\nname = "x"\nkind = "bug"\nexercise = "ops.double"\n'
                   'file = "ops.py"\n[[variant.replace]]\nold = "return"\nnew = "return 1 +"\n')
    rows = by_key(rules.check(course, courses.resolve_chapter(course, "ch99")))
    assert not rows["exercises-exist"].ok
    assert rows["exercises-exist"].detail.startswith("not in the reference: ops.triple; fix: define it")
    assert not rows["hidden-check"].ok
    assert "no hidden check: ops.triple; fix: add a @check" in rows["hidden-check"].detail
    assert not rows["zoo-coverage"].ok and "ops.triple (0 bugs, 0 alternatives)" in rows["zoo-coverage"].detail
    assert not rows["zoo-well-formed"].ok and "x (" in rows["zoo-well-formed"].detail
    assert "fix: correct the variant" in rows["zoo-well-formed"].detail


@pytest.mark.parametrize("chapter", courses.chapters(ROOT), ids=lambda c: c.name)
def test_every_chapter_meets_the_rules(chapter):
    broken = [r for r in rules.check(ROOT, chapter) if not r.ok]
    assert not broken, broken


def test_the_guide_states_every_rule_in_the_same_words():
    guide = " ".join((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8").split())
    for r in rules.RULES:
        assert r.statement.format(name="chNN_slug", short="chNN") in guide, r.key
        assert r.fix.format(name="chNN_slug", short="chNN") in guide, r.key
