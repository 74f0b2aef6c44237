"""Result files: one lossless record of the model; Gradescope's JSON is written from it and never
read back."""

import dataclasses
import json

from leedl_grader.judge import results
from leedl_grader.model import CheckResult, Outcome, SubmissionResult


def _sample() -> SubmissionResult:
    rs = (
        CheckResult("speed", "conv.conv2d", Outcome.PARTIAL, 1.0, 2.0, "slower than the band", "hidden",
                    duration=3.25, kind="speed", ratio=12.345, detail={"ratios": [1.5, float("inf")]}),
        CheckResult("values", "conv.conv2d", Outcome.PASSED, 2.0, 2.0, "", "visible", ratio=1.5),
        CheckResult("grad", "conv.conv2d", Outcome.FAILED, 0.0, 1.0, "gradient: 1 of 4 values [0, 1] differ",
                    duration=0.5),
        CheckResult("broken", "conv.conv2d", Outcome.FAULT, 0.0, 1.0, "the grader failed on this check",
                    kind="training", detail={"judge_error": "KeyError: 'x'", "where": "test_conv.py:3"}),
    )
    return SubmissionResult("ann", "ch02_cnn", 3, "strict", "0.1.0", rs, 1.5, device="cuda", key="k",
                            notes=("a note", "another"), enforced=("memory 256 MiB: cgroup v1",))


def _fields(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def test_record_round_trips_every_field(tmp_path):
    r = _sample()
    back = results.from_record(json.loads(json.dumps(results.to_record(r))))
    assert {k: v for k, v in _fields(back).items() if k != "results"} == \
        {k: v for k, v in _fields(r).items() if k != "results"}
    for got, want in zip(back.results, r.results, strict=True):
        assert _fields(got)["detail"] == _fields(want)["detail"]  # detail is compare=False: check it apart
        assert _fields(got) == _fields(want)
    results.write_result(tmp_path, r)
    again = results.read_result(tmp_path / "ann.json")
    assert [_fields(c) for c in again.results] == [_fields(c) for c in r.results]
    assert again.enforced == r.enforced and again.notes == r.notes


def test_gradescope_json_is_derived_and_never_read_back(tmp_path):
    r = _sample()
    path = results.write_result(tmp_path, r)
    data = json.loads(path.read_text())
    assert data["score"] == 3.0 and data["tests"][0]["output"].count("speed:") == 1
    assert data["tests"][1]["output"].startswith("passed")
    assert data["judge_faults"] == ["conv.conv2d: broken: the grader failed on this check [KeyError: 'x']"]
    data["score"] = 99
    data["tests"][2]["outcome"] = "passed"  # edit the Gradescope part: the truth is the record
    path.write_text(json.dumps(data))
    assert results.read_result(path) == r
    data["leedl"]["format"] = 99
    path.write_text(json.dumps(data))
    assert results.read_result(path) is None  # an unknown record is regraded, never guessed at
