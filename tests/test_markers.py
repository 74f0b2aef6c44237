import pytest

from leedl_grader.course.markers import MarkerError, clear_solutions

SRC = '''import torch
# BEGIN SOLUTION
import math
# END SOLUTION


def f(x):
    """Doc."""
    # BEGIN SOLUTION
    return x * 2
    # END SOLUTION


class Adam:
    def step(self):
        # BEGIN SOLUTION
        pass
        # END SOLUTION
'''


def test_function_region_becomes_uniform_raise():
    out = clear_solutions(SRC, module="ops")
    assert 'raise NotImplementedError("ops.f: not implemented yet")' in out
    assert 'raise NotImplementedError("ops.Adam.step: not implemented yet")' in out
    assert "x * 2" not in out and "SOLUTION" not in out


def test_module_level_region_is_removed():
    out = clear_solutions(SRC, module="ops")
    assert "import math" not in out
    assert out.startswith("import torch\n")
    assert '"""Doc."""' in out


@pytest.mark.parametrize(
    "bad, where",
    [
        ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
        ("def f():\n    # END SOLUTION\n", "without BEGIN"),
        ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "nested"),
        ("def f():\n    # BEGIN SOLUTION\n    pass\n# END SOLUTION\n", "indented differently"),
        ("x = 1  # BEGIN SOLUTION\n", "stand alone"),
        ("def f():\n    # BEGIN SOLUTION please\n    pass\n    # END SOLUTION\n", "unexpected text"),
    ],
)
def test_malformed_markers_are_rejected_with_line(bad, where):
    with pytest.raises(MarkerError, match=where) as info:
        clear_solutions(bad, filename="x.py")
    assert "x.py:" in str(info.value)


def test_source_without_markers_is_unchanged():
    assert clear_solutions("a = 1\n") == "a = 1\n"
