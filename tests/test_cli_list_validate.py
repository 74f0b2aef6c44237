"""`leedl list` and `leedl validate` on the fixture chapter."""

from click.testing import CliRunner

from leedl_grader.cli import main


def test_list_shows_exercises_and_points(course):
    r = CliRunner().invoke(main, ["list"], catch_exceptions=False)
    assert r.exit_code == 0
    assert "ch99_demo" in r.output and "ops.double" in r.output and "ops.softplus" in r.output
    assert "total" in r.output and "6" in r.output  # hidden points: 2 + 1 + 3


def test_validate_passes_on_a_good_zoo(course):
    r = CliRunner().invoke(main, ["validate", "ch99", "--jobs", "2", "--seed", "3"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "FAIL" not in r.output


def test_validate_fails_when_a_bug_goes_uncaught(course):
    zoo = course / "solutions" / "ch99_demo" / "zoo.toml"
    # A "bug" that changes nothing observable cannot be caught: validate must say so.
    zoo.write_text(zoo.read_text().replace('new = "return x.mul_(2)"', 'new = "return 2 * x"'))
    r = CliRunner().invoke(main, ["validate", "ch99", "--seed", "3"], catch_exceptions=False)
    assert r.exit_code == 1
    assert "NOT CAUGHT" in r.output
