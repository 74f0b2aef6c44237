import pytest
import torch

from leedl_grader.authoring.checks import CheckFailed
from leedl_grader.authoring.compare import assert_close, tensor_diff


def test_close_tensors_pass_and_far_ones_report_worst_index():
    want = torch.zeros(2, 3, dtype=torch.float64)
    got = want.clone()
    got[1, 2] = 1e-3
    got[0, 0] = 1e-9
    assert tensor_diff(want, want, 1e-12, 0) is None
    msg = tensor_diff(got, want, 0.0, 1e-6)
    assert "2 of 6" not in msg and "1 of 6 values out of tolerance" in msg
    assert "worst at index [1, 2]" in msg and "atol=1e-06" in msg and "dtype float64" in msg


def test_shape_and_dtype_mismatches_are_named():
    assert "shape (3,), expected (2,)" in tensor_diff(torch.zeros(3), torch.zeros(2), 0, 0)
    assert "dtype float32, expected float64" in tensor_diff(torch.zeros(2), torch.zeros(2, dtype=torch.float64), 1, 1)


def test_nan_where_number_expected():
    msg = tensor_diff(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]), 1, 1)
    assert "NaN" in msg and "[1]" in msg


def test_matching_infinities_and_nans_are_equal():
    x = torch.tensor([float("inf"), float("nan"), 1.0])
    assert tensor_diff(x, x.clone(), 0, 0) is None


def test_nested_path_in_message():
    want = {"steps": [[torch.ones(2)], [torch.ones(2)]]}
    got = {"steps": [[torch.ones(2)], [torch.tensor([1.0, 2.0])]]}
    with pytest.raises(CheckFailed, match=r"steps\[1\]\[0\]"):
        assert_close(got, want, rtol=1e-6, atol=0)


def test_numbers_strings_and_types():
    assert_close(1.0 + 1e-15, 1.0, rtol=1e-12, atol=0)
    with pytest.raises(CheckFailed, match="got 'saddle', expected 'local_minimum'"):
        assert_close("saddle", "local_minimum", rtol=0, atol=0)
    with pytest.raises(CheckFailed, match="expected a tensor, got list"):
        assert_close([1.0], torch.ones(1), rtol=0, atol=0)
    with pytest.raises(CheckFailed, match="expected a number"):
        assert_close(None, 1.0, rtol=0, atol=0)

