"""Chapter 3's content: the zoo applies, every exercise is checked, the reference is right against
torch and calls nothing its files forbid, the listed ops are what torch dispatches, the example
class is current, the plots and the module driver work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from leedl_grader.course import chapters as courses
from leedl_grader.drivers import OpTracer, run_local
from leedl_grader.drivers.modules import build_loaded
from leedl_grader.forbid import scan as forbid

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "ch03_self_attention"
F64 = torch.float64


@pytest.fixture(scope="module")
def chapter():
    return courses.resolve_chapter(ROOT, "ch03")


@pytest.fixture(scope="module")
def ref(chapter):
    return courses.load_reference(ROOT, chapter)


def test_exercises_follow_the_contract_order(chapter):
    assert [e.name for e in chapter.exercises] == [
        "attention.scaled_dot_product_scores", "attention.additive_scores", "attention.masked_softmax",
        "attention.attention", "attention.self_attention", "multihead.MultiHeadSelfAttention",
        "positional.sinusoidal_positional_encoding", "masks.causal_mask", "masks.truncated_mask",
        "masks.graph_mask", "rnn.rnn_forward", "rnn.birnn_forward",
    ]



def test_every_exercise_has_hidden_checks(chapter):
    hidden = courses.load_suite(chapter, "hidden")
    assert {c.exercise for c in hidden} == {e.name for e in chapter.exercises}
    speed = [c for c in hidden if c.kind == "speed"]
    assert sorted(c.exercise for c in speed) == ["attention.attention", "multihead.MultiHeadSelfAttention"]
    public = courses.load_suite(chapter, "public")
    assert {c.exercise for c in public} == {e.name for e in chapter.exercises}


def _qkv(g, *lead, lq=5, lk=7, d=4, dv=6):
    return (torch.randn(*lead, lq, d, generator=g, dtype=F64), torch.randn(*lead, lk, d, generator=g, dtype=F64),
            torch.randn(*lead, lk, dv, generator=g, dtype=F64))


def test_reference_attention_matches_sdpa(ref):
    g = torch.Generator().manual_seed(0)
    q, k, v = _qkv(g, 2, 3)
    mask = torch.rand(2, 1, 5, 7, generator=g) < 0.6
    mask[..., 0] = True  # no empty row: SDPA and the reference agree everywhere
    for m in (None, mask):
        out, w = ref.attention.attention(q, k, v, m)
        torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=m), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5, dtype=F64), rtol=1e-12, atol=1e-12)
    x = torch.randn(2, 6, 5, generator=g, dtype=F64)
    wq, wk, wv = (torch.randn(5, d, generator=g, dtype=F64) for d in (3, 3, 4))
    causal = ref.masks.causal_mask(6)
    out, _ = ref.attention.self_attention(x, wq, wk, wv, causal)
    want = F.scaled_dot_product_attention(x @ wq, x @ wk, x @ wv, attn_mask=causal)
    torch.testing.assert_close(out, want, rtol=1e-12, atol=1e-12)


def test_reference_empty_rows_are_zero_with_zero_gradient(ref):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(2, 4, 6, generator=g, dtype=F64, requires_grad=True)
    mask = torch.rand(2, 4, 6, generator=g) < 0.5
    mask[:, 1] = False
    w = ref.attention.masked_softmax(s, mask)
    assert not w.isnan().any() and (w[:, 1] == 0).all() and (w[~mask] == 0).all()
    w.sum().backward()
    assert not s.grad.isnan().any() and (s.grad[:, 1] == 0).all()


def test_reference_multihead_matches_torch(ref):
    g = torch.Generator().manual_seed(2)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
    wq, wk, wv = mha.in_proj_weight.detach().chunk(3)
    bq, bk, bv = mha.in_proj_bias.detach().chunk(3)
    state = {"q_proj.weight": wq, "k_proj.weight": wk, "v_proj.weight": wv, "q_proj.bias": bq,
             "k_proj.bias": bk, "v_proj.bias": bv, "out_proj.weight": mha.out_proj.weight.detach(),
             "out_proj.bias": mha.out_proj.bias.detach()}
    model = build_loaded(ref.multihead.MultiHeadSelfAttention, {"d_model": 8, "num_heads": 2}, state)
    assert next(model.parameters()).dtype == F64  # the state's dtype
    x = torch.randn(3, 5, 8, generator=g, dtype=F64)
    causal = ref.masks.causal_mask(5)
    out, w = model(x, causal)
    want_out, want_w = mha(x, x, x, attn_mask=~causal, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, want_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(w, want_w, rtol=1e-12, atol=1e-12)
    reply = run_local("module_call", ref.multihead.MultiHeadSelfAttention, init={"d_model": 8, "num_heads": 2},
                      state=state, args=[x, causal], wrt=[0], param_grads=True)
    assert reply["grads"][0] is not None and set(reply["param_grads"]) == set(state)
    with pytest.raises(KeyError, match="no parameter"):
        build_loaded(ref.multihead.MultiHeadSelfAttention, {"d_model": 8, "num_heads": 2}, {"qkv.weight": wq})


def test_reference_positional_masks_rnn(ref):
    pe = ref.positional.sinusoidal_positional_encoding(50, 16)
    p, i = 37, 3
    assert pe.dtype == torch.float32 and pe.shape == (50, 16)
    assert abs(float(pe[p, 2 * i]) - __import__("math").sin(p / 10000 ** (2 * i / 16))) < 1e-6
    assert abs(float(pe[p, 2 * i + 1]) - __import__("math").cos(p / 10000 ** (2 * i / 16))) < 1e-6
    assert torch.equal(ref.masks.causal_mask(4), torch.ones(4, 4, dtype=torch.bool).tril())
    assert torch.equal(ref.masks.truncated_mask(6, 2), torch.ones(6, 6, dtype=torch.bool).triu(-2).tril(2))
    adj = torch.tensor([[False, True], [False, False]])
    assert torch.equal(ref.masks.graph_mask(adj), torch.tensor([[True, True], [False, True]]))
    assert torch.equal(ref.masks.graph_mask(adj, self_loops=False), adj)
    g = torch.Generator().manual_seed(3)
    rnn = nn.RNN(3, 4, batch_first=True, bidirectional=True).double()
    x, h0 = torch.randn(2, 5, 3, generator=g, dtype=F64), torch.randn(2, 2, 4, generator=g, dtype=F64)
    out, hn = rnn(x, h0)
    fwd = [getattr(rnn, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    bwd = [getattr(rnn, f"{n}_l0_reverse") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    o, h = ref.rnn.rnn_forward(x, h0[0], *fwd)
    torch.testing.assert_close(o, out[..., :4], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h, hn[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref.rnn.birnn_forward(x, h0[0], h0[1], fwd, bwd), out, rtol=1e-12, atol=1e-12)


def test_reference_passes_the_static_scan(chapter):
    assert forbid.scan(chapter, SOLUTIONS, list(chapter.files)) == {}


def test_forbidden_calls_are_found(chapter, tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("examples", "zoo.toml"))
    att = sub / "attention.py"
    anchor = "    d = q.shape[-1]\n    scores"
    text = att.read_text(encoding="utf-8").replace(anchor, "    F.scaled_dot_product_attention(q, k, v)\n" + anchor)
    att.write_text("import torch.nn.functional as F\n" + text, encoding="utf-8")
    rnn = sub / "rnn.py"
    rnn.write_text(rnn.read_text(encoding="utf-8").replace("    h = h0\n", "    torch.nn.RNN(3, 4)\n    h = h0\n"),
                   encoding="utf-8")
    found = forbid.scan_exercises(chapter, sub, list(chapter.files))
    assert set(found) == {"attention.attention", "rnn.rnn_forward"}


def test_reference_dispatches_no_forbidden_op(chapter, ref):
    tracer = OpTracer([op for v in chapter.forbidden_ops.values() for op in v])
    g = torch.Generator().manual_seed(4)
    q, k, v = (t.requires_grad_(True) for t in _qkv(g, 2))
    with tracer:
        out, w = ref.attention.attention(q, k, v, ref.masks.truncated_mask(7, 2)[:5])
        (out.sum() + w.sum()).backward()
        model = ref.multihead.MultiHeadSelfAttention(8, 2)
        model(torch.randn(2, 5, 8, generator=g), ref.masks.causal_mask(5))[0].sum().backward()
        x, h0 = torch.randn(2, 4, 3, generator=g), torch.zeros(2, 5)
        ref.rnn.rnn_forward(x, h0, torch.randn(5, 3), torch.randn(5, 5), torch.zeros(5), torch.zeros(5))
    assert tracer.hits == []


def test_forbidden_ops_catch_torch_routines(chapter):
    """The listed ops are what torch really dispatches for SDPA (every dtype, masked or not)."""
    ops = {op for v in chapter.forbidden_ops.values() for op in v}
    for dtype in (torch.float32, F64):
        q = torch.randn(1, 2, 4, 8, dtype=dtype)
        for mask in (None, torch.ones(4, 4, dtype=torch.bool).tril()):
            tracer = OpTracer(ops)
            with tracer:
                F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
            assert tracer.hits, (dtype, mask)



def test_heatmap_plots(tmp_path):
    from leedl_grader.plots import available, save_plots

    data = {"heatmaps": {"attention_heads": {"panels": torch.rand(3, 5, 5), "titles": ["a", "b", "c"]},
                         "positional_encoding": {"panels": torch.rand(8, 6)},
                         "bad name!": {"panels": torch.rand(2, 2)}, "empty": {"panels": torch.zeros(0, 3)}}}
    paths = save_plots("ch03_self_attention", data, tmp_path)
    if available():
        assert sorted(p.name for p in paths) == ["ch03_self_attention_attention_heads.png",
                                                 "ch03_self_attention_positional_encoding.png"]
        assert all(p.stat().st_size > 0 for p in paths)
    else:
        assert paths == []


def test_check_plots_attention_heads_and_positions(tmp_path, monkeypatch):
    """`leedl check ch03 --plots DIR`: the attention weights (one panel per head) and the encoding."""
    pytest.importorskip("matplotlib")
    from click.testing import CliRunner

    from leedl_grader.cli import main

    monkeypatch.setenv("LEEDL_COURSE", str(ROOT))
    work = tmp_path / "ch03_self_attention"
    shutil.copytree(SOLUTIONS, work, ignore=shutil.ignore_patterns("examples", "zoo.toml"))
    r = CliRunner().invoke(main, ["check", "ch03", str(work), "--plots", str(tmp_path / "plots")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == ["ch03_self_attention_attention_heads.png", "ch03_self_attention_positional_encoding.png"]
    for p in (tmp_path / "plots").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000
