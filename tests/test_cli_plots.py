"""`leedl check ch02 --plots DIR`: pictures of the trained model next to the grade."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from leedl_grader.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_plots_of_the_trained_digits_model(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("LEEDL_COURSE", str(REPO))
    work = tmp_path / "ch02_cnn"
    shutil.copytree(REPO / "solutions" / "ch02_cnn", work, ignore=shutil.ignore_patterns("examples", "zoo.toml"))
    r = CliRunner().invoke(main, ["check", "ch02", str(work), "--plots", str(tmp_path / "plots")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == ["ch02_cnn_confusion.png", "ch02_cnn_filters.png"]
    for p in (tmp_path / "plots").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000
    assert "plots in" in r.output
