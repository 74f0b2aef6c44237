"""Generate a chapter's student files from the reference: stubs and public data.

``assignments/<chapter>/<file>.py`` is never edited by hand: it is the reference with its
solution regions cleared. ``public/expected.json`` holds the values public checks compare
against where torch cannot give them (``public/data.py: make_data(reference)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..codec import to_json
from . import chapters as courses
from .markers import clear_solutions

HEADER = "# leedl — {chapter}/{file}: implement the functions below; `leedl check {short}` tests them.\n"


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    text: str

    def stale(self) -> bool:
        return not self.path.is_file() or self.path.read_text(encoding="utf-8") != self.text


def stub_texts(course: Path, chapter: courses.Chapter) -> dict[str, str]:
    """``{file name: the student's stub}``, from the reference; empty where there is none (a bundle)."""
    ref_dir = Path(course) / "solutions" / chapter.name
    out = {}
    for src in sorted(ref_dir.glob("*.py")):
        text = src.read_text(encoding="utf-8")
        if src.name == "__init__.py":
            out[src.name] = text
        else:
            out[src.name] = (HEADER.format(chapter=chapter.name, file=src.name, short=chapter.short)
                             + clear_solutions(text, module=src.stem, filename=str(src)))
    return out


def generated_files(course: Path, chapter: courses.Chapter) -> list[GeneratedFile]:
    """Every file ``leedl build`` writes for the chapter, with the text it must have."""
    out = [GeneratedFile(chapter.root / name, text) for name, text in stub_texts(course, chapter).items()]
    data_py = chapter.root / "public" / "data.py"
    if data_py.is_file():
        reference = courses.load_reference(Path(course), chapter)
        mod = courses.suite_module(chapter, "public", "data")
        data = mod.make_data(reference)
        text = json.dumps(to_json(data), indent=1, sort_keys=True) + "\n"
        out.append(GeneratedFile(chapter.root / "public" / "expected.json", text))
    return out


def build(course: Path, chapter: courses.Chapter) -> list[Path]:
    """Write the generated files that changed; returns their paths."""
    written = []
    for g in generated_files(course, chapter):
        if g.stale():
            g.path.write_text(g.text, encoding="utf-8")
            written.append(g.path)
    return written
