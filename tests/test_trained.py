"""The judge-side half of trained models (leedl_grader.authoring.trained): rebuilding torch-layer models in
the judge, redrawn weights, and the zero-with-a-message cases."""

import pytest
import torch
from torch import nn

from leedl_grader.authoring.checks import CheckFailed
from leedl_grader.authoring.trained import TrainedModel, expect_class, from_reply, rebuild_sequential
from leedl_grader.drivers import run_local


def export(model):
    return from_reply("policy.train_policy", run_local("train_export", lambda: model))


def test_a_sequential_of_torch_layers_is_rebuilt_in_the_judge():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    rebuilt = rebuild_sequential(export(net))
    x = torch.randn(5, 4)
    assert [type(m) for m in rebuilt] == [type(m) for m in net]
    assert torch.equal(rebuilt(x), net(x))


def test_a_student_layer_or_a_layer_outside_the_list_scores_zero():
    class Linear(nn.Linear):  # a subclass under torch's name computes what it likes
        def forward(self, x):
            return torch.zeros(len(x), self.out_features)

    with pytest.raises(CheckFailed, match="layer 0 is a Linear; only torch's"):
        rebuild_sequential(export(nn.Sequential(Linear(4, 2))))
    with pytest.raises(CheckFailed, match="layer 1 is a Sigmoid"):
        rebuild_sequential(export(nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())))
    with pytest.raises(CheckFailed, match="must return an nn.Sequential"):
        rebuild_sequential(export(nn.Linear(4, 2)))


def test_wrong_class_and_empty_weights_score_zero_with_a_message():
    m = TrainedModel("digits.train_digits", "digits.Other", {"w": torch.ones(2)})
    with pytest.raises(CheckFailed, match="returned a Other, expected a DigitCNN"):
        expect_class(m, "digits.DigitCNN")
    with pytest.raises(CheckFailed, match="empty state_dict"):
        expect_class(TrainedModel("digits.train_digits", "digits.DigitCNN", {}), "digits.DigitCNN")
    with pytest.raises(CheckFailed, match="not a dict of tensors"):
        from_reply("digits.train_digits", {"class": "digits.DigitCNN", "state_dict": {"w": [1, 2]}})


def test_redrawn_weights_keep_shapes_and_nothing_trained():
    sd = {"w": torch.randn(8, 3, dtype=torch.float64) * 3 + 1, "b": torch.tensor([0.5]),
          "n": torch.tensor(7), "h": torch.randn(4, dtype=torch.float32)}
    m = TrainedModel("f.train", "f.Net", sd)
    r = m.reinitialised(torch.Generator().manual_seed(1))
    assert {k: (v.shape, v.dtype) for k, v in r.state_dict.items()} == {k: (v.shape, v.dtype) for k, v in sd.items()}
    assert not torch.equal(r.state_dict["w"], sd["w"]) and not torch.equal(r.state_dict["h"], sd["h"])
    assert torch.equal(r.state_dict["b"], sd["b"]) and torch.equal(r.state_dict["n"], sd["n"])
    r2 = m.reinitialised(torch.Generator().manual_seed(1))
    assert torch.equal(r.state_dict["w"], r2.state_dict["w"])  # the judge's generator decides
