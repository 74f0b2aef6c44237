"""`leedl release`: the bundle holds stubs, public checks and data; never the reference or hidden checks."""

from click.testing import CliRunner

from leedl_grader.cli import main


def test_bundle_has_stubs_and_public_checks_only(course, tmp_path):
    out = tmp_path / "bundle"
    r = CliRunner().invoke(main, ["release", "ch99", "--out", str(out)])
    assert r.exit_code == 0, r.output
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "README.md" in files and "ch99_demo/ops.py" in files and "ch99_demo/chapter.toml" in files
    assert "ch99_demo/public/test_ops.py" in files
    assert not [f for f in files if "hidden" in f]
    solution = (course / "solutions" / "ch99_demo" / "ops.py").read_text()
    body = "torch.logaddexp(x, torch.zeros_like(x))"
    assert body in solution
    for p in out.rglob("*"):
        if p.is_file():
            text = p.read_text(errors="replace")
            assert body not in text and "BEGIN SOLUTION" not in text
            for hidden in (course / "assignments" / "ch99_demo" / "hidden").glob("test_*.py"):
                assert hidden.read_text() != text


def test_stale_stubs_refuse_to_release(course, tmp_path):
    ref = course / "solutions" / "ch99_demo" / "ops.py"
    ref.write_text(ref.read_text().replace('"""Return 2·x."""', '"""Return twice x."""'))
    r = CliRunner().invoke(main, ["release", "ch99", "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "out of date" in r.output and "leedl build ch99" in r.output
    r = CliRunner().invoke(main, ["build", "ch99"])
    assert r.exit_code == 0 and "1 file(s) changed" in r.output
    assert CliRunner().invoke(main, ["release", "ch99", "--out", str(tmp_path / "b")]).exit_code == 0


def test_bundle_readme_states_torch_the_forbidden_calls_and_the_commands(course, tmp_path):
    (course / "constraints.txt").write_text("# the grading environment\ntorch==9.8.7\n")
    out = tmp_path / "bundle"
    assert CliRunner().invoke(main, ["release", "ch99", "--out", str(out)]).exit_code == 0
    readme = (out / "README.md").read_text()
    assert "torch==9.8.7" in readme and "Grading runs torch 9.8.7" in readme
    assert "`ops.py`: `torch.nn.functional.softplus`" in readme and "`aten::softplus`" in readme
    for cmd in ("leedl check ch99\n", "leedl check ch99 -k ops", "leedl check ch99 --failed-only"):
        assert cmd.replace("\n", "") in readme


def test_a_second_chapter_into_one_folder_is_refused(course, tmp_path):
    out = tmp_path / "bundle"
    (out / "ch98_other").mkdir(parents=True)
    (out / "ch98_other" / "chapter.toml").write_text('title = "another"\n')
    r = CliRunner().invoke(main, ["release", "ch99", "--out", str(out)])
    assert r.exit_code == 1 and "already holds the bundle of ch98_other" in r.output
    assert f"--out {out / 'ch99'}" in r.output and not (out / "ch99_demo").exists()
    assert CliRunner().invoke(main, ["release", "ch99", "--out", str(tmp_path / "b2")]).exit_code == 0
    assert CliRunner().invoke(main, ["release", "ch99", "--out", str(tmp_path / "b2")]).exit_code == 0  # again: fine
