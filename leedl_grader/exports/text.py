"""Student text is data in every export: never a spreadsheet formula, never markup, never
bytes a format forbids.

Names, messages and prints reach exports from submissions (an exception message is whatever
the student's code raised). Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or
``@`` (and, in some, one that starts with a tab or a carriage return) as a formula: such a cell
gets a leading apostrophe, which every spreadsheet shows as text (OWASP's CSV injection advice).
"""

from __future__ import annotations

import csv
import io
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 allows tab, newline, carriage return and everything from U+0020 except surrogates
# and U+FFFE/U+FFFF; anything else (ANSI escapes from a student's print, NUL) is replaced.
_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def csv_cell(value) -> str:
    """A CSV cell written from text: a formula start is neutralised with a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def number(x: float) -> str:
    """A score as a CSV cell: a plain decimal (never an exponent a spreadsheet might misread)."""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def csv_text(rows: list[list[str]]) -> str:
    """Rows of already-safe cells (see :func:`csv_cell`, :func:`number`) as CSV text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


def xml_text(value) -> str:
    """Text XML 1.0 can carry: characters it forbids become U+FFFD."""
    return _XML_BAD.sub("\ufffd", "" if value is None else str(value))


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]+")


def file_stem(name: str) -> str:
    """A name usable as a file name in an export folder (as leedl names students: submissions.py)."""
    return _UNSAFE_NAME.sub("_", str(name).strip()).strip("._") or "student"


# Terminal control: C0 controls but tab and newline, DEL and C1 controls (ESC starts colour codes,
# cursor moves, title changes; CR rewrites a line). Shown as visible escapes, never interpreted.
_TERMINAL_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(value) -> str:
    """Student text as a terminal may show it: every control character as a visible ``\\xNN``."""
    return _TERMINAL_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if value is None else str(value))
