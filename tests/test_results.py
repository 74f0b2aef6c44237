"""Result files: a JSON round trip changes nothing (reruns rewrite what they read)."""

from leedl_grader import results
from leedl_grader.model import CheckResult, Outcome, SubmissionResult


def test_json_round_trip_is_stable_speed_messages_included(tmp_path):
    rs = (
        CheckResult("speed", "conv.conv2d", Outcome.PARTIAL, 1.0, 2.0, "slower than the band", "hidden", ratio=12.345),
        CheckResult("values", "conv.conv2d", Outcome.PASSED, 2.0, 2.0, "", "visible", ratio=1.5),
        CheckResult("grad", "conv.conv2d", Outcome.FAILED, 0.0, 1.0, "gradient: 1 of 4 values [0, 1] differ"),
    )
    r = SubmissionResult("ann", "ch02_cnn", 3, "strict", "0.1.0", rs, 1.5, key="k")
    once = results.to_json(r)
    twice = results.to_json(results.from_json(once))
    assert once == twice
    assert once["tests"][0]["output"].count("speed:") == 1
    assert once["tests"][1]["output"].startswith("passed")
    results.write_result(tmp_path, r)
    assert results.to_json(results.read_result(tmp_path / "ann.json")) == once
