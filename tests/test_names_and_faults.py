"""Every student gets their own result file whatever their name; the class record is out of their
reach; a broken zip is the student's `missing`; a broken check is the grader's `fault`, told to the TA."""

import json
import struct
import zipfile

from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main

NAMES = ["batch", "grades", "a b", "a_b", "Alice", "alice", "名字", "x" * 150, "-rf", "con"]


def grade(*args):
    return CliRunner().invoke(main, ["grade", "ch99", *map(str, args)], catch_exceptions=False)


def _liar_zip(path):
    """A zip whose member declares 10 bytes and holds more (a bad CRC when read)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ops.py", GOOD_OPS + "\n" * 200)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 10)
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, 10)
    path.write_bytes(bytes(data))


def test_any_name_gets_its_own_result_and_the_record_is_out_of_reach(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for i, name in enumerate(NAMES):
        # each student's ops.py is distinguishable: its double adds i/1000 (only "batch" is right)
        write_submission(subs, name, GOOD_OPS if i == 0 else GOOD_OPS.replace("return x * 2", f"return x * 2 + {i}e-3"))
    _liar_zip(subs / "liar.zip")
    r = grade(subs, "--out", out, "--seed", "11", "--jobs", "2")
    assert r.exit_code == 0, r.output
    files = sorted(p for p in out.glob("*.json"))
    data = [json.loads(p.read_text()) for p in files]
    assert len(files) == len(NAMES) + 1 == len({d["student"] for d in data})
    assert {d["student"] for d in data} == {p.stem for p in files}
    # the students' own code, each in its own file: the double check quotes a different error each
    messages = {json.dumps([t["output"] for t in d["tests"] if "double_float64" in t["name"]]) for d in data}
    assert len(messages) == len(data)
    batch = json.loads((out / "batch.json").read_text())
    assert batch["score"] == batch["max_score"] == 7 and "tests" in batch
    record = json.loads((out / ".leedl" / "batch.json").read_text())
    assert record["seed"] == 11
    liar = json.loads((out / "liar.json").read_text())
    assert {t["outcome"] for t in liar["tests"]} == {"missing"} and "cannot be read" in liar["output"]
    assert not liar["judge_faults"]
    rerun = grade(subs, "--out", out, "--jobs", "2")  # the seed comes back from the record
    assert rerun.exit_code == 0 and f"{len(NAMES) + 1} unchanged" in rerun.output, rerun.output[-1500:]


def test_a_broken_check_is_a_grader_fault_reported_to_the_ta(course, tmp_path):
    (course / "assignments" / "ch99_demo" / "hidden" / "test_broken.py").write_text(
        "from leedl_grader.authoring.checks import check\n\n\n"
        "@check('ops.double', points=1, timeout=5)\n"
        "def broken(ctx):\n"
        "    return ctx.call('ops.double', 1.0)['no such key']\n"
    )
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(subs, "alice", GOOD_OPS)
    r = grade(subs, "--out", out)
    assert r.exit_code == 0, r.output
    alice = json.loads((out / "alice.json").read_text())
    (t,) = [t for t in alice["tests"] if t["name"].endswith("broken")]
    assert t["outcome"] == "fault" and t["score"] == 0 and "not the student's doing" in t["output"]
    (line,) = alice["judge_faults"]
    assert "TypeError" in line  # a float is not subscriptable: the TA sees the check's own error
    (rec,) = [c for c in alice["leedl"]["results"] if c["name"] == "broken"]
    assert rec["detail"]["where"].endswith("test_broken.py:6")
    assert alice["score"] == 7  # every other check is unaffected
    assert "grader faults" in r.output and "fix the check" in r.output
