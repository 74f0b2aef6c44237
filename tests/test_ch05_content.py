"""Chapter 5's content: the zoo applies, every exercise is checked, the reference agrees with
torch and with BERT's rule, the example class is current, and the reference encoder clears the
probe's bar for seeds 0, 1 and 2 (slow)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from leedl_grader.course import chapters as courses

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "ch05_self_supervised"


@pytest.fixture(scope="module")
def chapter():
    return courses.resolve_chapter(ROOT, "ch05")


@pytest.fixture(scope="module")
def ref(chapter):
    return courses.load_reference(ROOT, chapter)


def test_exercises_follow_the_contract_order(chapter):
    assert [e.name for e in chapter.exercises] == [
        "masking.mask_tokens", "masking.mlm_loss", "contrastive.nt_xent_loss", "contrastive.augment_digits",
        "contrastive.train_contrastive_encoder"]



def test_every_exercise_has_public_and_hidden_checks(chapter):
    for kind in ("public", "hidden"):
        assert {c.exercise for c in courses.load_suite(chapter, kind)} == {e.name for e in chapter.exercises}, kind
    training = [c for c in courses.load_suite(chapter, "hidden") if c.kind == "training"]
    assert [c.exercise for c in training] == ["contrastive.train_contrastive_encoder"]
    assert training[0].timeout >= 60 and (training[0].cpu_limit or 0) >= 60


def test_masking_follows_bert(ref):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 50, (200, 100), generator=g)
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, :2] = True
    new, labels = ref.masking.mask_tokens(ids, 1, 50, special, 0.15, torch.Generator().manual_seed(1))
    chosen = labels != -100
    assert not (chosen & special).any() and torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(new[~chosen], ids[~chosen])
    assert abs(chosen[:, 2:].double().mean().item() - 0.15) < 0.01
    assert abs((new[chosen] == 1).double().mean().item() - 0.8) < 0.03
    logits = torch.randn(200, 100, 50, generator=g, dtype=torch.float64)
    want = F.cross_entropy(logits.reshape(-1, 50), labels.reshape(-1))  # ignore_index defaults to -100
    assert torch.allclose(ref.masking.mlm_loss(logits, labels), want, rtol=1e-12, atol=0)


def test_nt_xent_matches_its_definition(ref):
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / 0.3
    terms = []
    for i in range(10):
        j = (i + 5) % 10
        others = torch.cat([sim[i, :i], sim[i, i + 1:]])
        terms.append(-(sim[i, j] - torch.logsumexp(others, 0)))
    assert torch.allclose(ref.contrastive.nt_xent_loss(z1, z2, 0.3), torch.stack(terms).mean(), rtol=1e-12, atol=0)



@pytest.mark.slow
def test_reference_encoder_clears_the_bar_for_seeds_0_1_2(chapter, ref):
    courses.load_suite(chapter, "hidden")
    hd = courses.suite_module(chapter, "hidden", "test_train_contrastive")
    dg = courses.suite_module(chapter, "hidden", "_digits")
    xtr, ytr, xte, yte = dg.digits_split()
    torch.set_num_threads(1)
    for seed in (0, 1, 2):
        t0 = time.process_time()
        enc = ref.contrastive.train_contrastive_encoder(xtr, seed=seed)
        cpu = time.process_time() - t0
        with torch.no_grad():
            acc, _ = hd.probe_accuracy(enc(xtr), ytr, enc(xte), yte, torch.Generator().manual_seed(seed))
        assert acc >= hd.FULL, (seed, acc)
        assert cpu < 30, (seed, cpu)  # the grader allows 60 s
