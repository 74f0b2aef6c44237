"""JUnit XML for a batch, so that CI systems (GitLab, Jenkins, GitHub) show leedl's results.

One ``<testsuite>`` per student and one ``<testcase>`` per check (``classname`` =
``<chapter>.<student>.<exercise>``, ``name`` = the check). A wrong answer or partial credit is a
``<failure>``; a raise, timeout, memory, crash or forbidden call is an ``<error>``; a missing
file or stub is ``<skipped>``. Times are the checks' own durations in seconds. The layout is the
one Jenkins' and GitLab's parsers read (the de-facto ``junit-10.xsd``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..judge.results import atomic_write
from ..model import Outcome, SubmissionResult
from .text import xml_text

FAILURE = {Outcome.FAILED, Outcome.PARTIAL}
ERROR = {Outcome.ERROR, Outcome.TIMEOUT, Outcome.MEMORY, Outcome.CRASHED, Outcome.FORBIDDEN}
SKIPPED = {Outcome.MISSING}


def _counts(el: ET.Element, tests: int, failures: int, errors: int, skipped: int, time: float) -> None:
    el.set("tests", str(tests))
    el.set("failures", str(failures))
    el.set("errors", str(errors))
    el.set("skipped", str(skipped))
    el.set("time", f"{time:.3f}")


def junit_xml(graded: list[SubmissionResult], name: str = "leedl") -> str:
    root = ET.Element("testsuites", name=xml_text(name))
    total = [0, 0, 0, 0, 0.0]
    for sub in sorted(graded, key=lambda r: r.student):
        suite = ET.SubElement(root, "testsuite", name=xml_text(sub.student),
                              package=xml_text(sub.assignment))
        props = ET.SubElement(suite, "properties")
        for key, value in (("score", f"{sub.score:g}"), ("max_score", f"{sub.max_score:g}"), ("seed", sub.seed),
                           ("sandbox", sub.sandbox), ("device", sub.device), ("leedl_version", sub.leedl_version)):
            ET.SubElement(props, "property", name=key, value=xml_text(value))
        counts = [0, 0, 0, 0, 0.0]
        for r in sub.results:
            case = ET.SubElement(suite, "testcase", name=xml_text(r.name),
                                 classname=xml_text(f"{sub.assignment}.{sub.student}.{r.exercise}"),
                                 time=f"{r.duration:.3f}")
            points = f"{r.score:g}/{r.max_score:g} points"
            speed = f"; speed {r.ratio:.2f}x the yardstick" if r.ratio is not None else ""
            text = xml_text(f"[{r.outcome.value}] {points}{speed}: {r.message}")
            if r.outcome in FAILURE:
                el = ET.SubElement(case, "failure", type=r.outcome.value, message=xml_text(r.message[:200]))
                el.text, counts[1] = text, counts[1] + 1
            elif r.outcome in ERROR:
                el = ET.SubElement(case, "error", type=r.outcome.value, message=xml_text(r.message[:200]))
                el.text, counts[2] = text, counts[2] + 1
            elif r.outcome in SKIPPED:
                ET.SubElement(case, "skipped", message=xml_text(r.message[:200]))
                counts[3] += 1
            else:
                ET.SubElement(case, "system-out").text = xml_text(f"{points}{speed}")
            counts[0] += 1
            counts[4] += r.duration
        _counts(suite, *counts)
        total = [a + b for a, b in zip(total, counts)]
    _counts(root, *total)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(graded: list[SubmissionResult], out: Path, name: str = "leedl") -> Path:
    atomic_write(Path(out), junit_xml(graded, name))
    return Path(out)
