"""HTML feedback as a browser shows it: headless Chromium renders the page; the rendered DOM
(``--dump-dom``) holds the scores, the diffs and the student's text as text, and a screenshot
is taken. CI installs Debian's ``chromium`` (``.ci/run``); without it this test fails in CI and
skips elsewhere."""

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from leedl_grader.exports import html
from leedl_grader.model import CheckResult, Outcome, SubmissionResult

EVIL = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must render the HTML feedback in Chromium: install Debian's chromium (see .ci/run)")
    pytest.skip("chromium is not installed")


def _png(width, height, rgb=(200, 30, 30)):
    raw = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.ids, self.rows = [], [], {}, []
        self._id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self._id = a.get("id")
        if tag == "tr" and "data-outcome" in a:
            self.rows.append(a["data-outcome"])

    def handle_data(self, data):
        self.text.append(data)
        if self._id:
            self.ids[self._id] = self.ids.get(self._id, "") + data

    def handle_endtag(self, tag):
        self._id = None


def test_feedback_page_renders_in_headless_chromium(tmp_path):
    browser = _chromium()
    rs = (
        CheckResult("values_float64", "ops.add", Outcome.FAILED, 0.0, 2.0,
                    "sum (3, 4) float64: max abs err 0.5 at [1, 2] (got 1.5, want 1.0), tolerance 1e-12",
                    "visible", duration=0.2),
        CheckResult("speed", "ops.add", Outcome.PARTIAL, 0.5, 1.0, "slower than the band", "hidden", ratio=3.5),
        CheckResult("values", "ops.mul", Outcome.ERROR, 0.0, 3.0, "ValueError: " + EVIL, "hidden"),
        CheckResult("values", "ops.neg", Outcome.PASSED, 1.0, 1.0, "", "hidden"),
    )
    result = SubmissionResult(EVIL, "ch77_demo", 7, "strict", "0.1.0", rs, 2.0)
    page = tmp_path / "feedback.html"
    page.write_text(html.page(result, plots=[("confusion matrix", _png(120, 80))]), encoding="utf-8")
    profile = tmp_path / "profile"
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--no-first-run", "--window-size=1024,1400"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Dom()
    parsed.feed(dom.stdout)
    tags = [t for t, _ in parsed.tags]
    # The student's markup stayed text: no script ran (the title is ours), no element came of it.
    assert "script" not in tags
    assert [a.get("src", "")[:22] for t, a in parsed.tags if t == "img"] == ["data:image/png;base64,"]
    title = dom.stdout.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "ch77_demo — " + EVIL.replace("<", "&lt;").replace(">", "&gt;")  # no script renamed it
    assert EVIL in "".join(parsed.text) and parsed.ids["student"] == EVIL
    assert parsed.ids["total"].strip() == "1.5 / 7"
    assert parsed.rows == ["failed", "partial", "error", "passed"]
    text = "".join(parsed.text)
    assert "max abs err 0.5 at [1, 2]" in text and "3.50× the yardstick" in text
    assert "confusion matrix" in text
    shot = tmp_path / "feedback.png"
    run = subprocess.run(base + [f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1024, 1400)
    assert len(data) > 20_000  # a rendered page, not a blank one
    print(f"screenshot {width}x{height}, {len(data)} bytes")
