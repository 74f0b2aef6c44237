"""Hidden checks for transfer.py's building blocks: freeze, grad_reverse, dann_lambda, DANN.

Every expected value is computed here, in the judge; the student's functions run in their own
process and only plain data (tensors, numbers, flags) come back.
"""

import math

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.authoring.helpers import randint, uniform

F64, F32 = torch.float64, torch.float32

# float64: grad_reverse multiplies by one scalar, dann_lambda evaluates one closed form: a few ulps.
TOL64 = dict(rtol=1e-12, atol=1e-14)
# float32: the same single multiplication, rounded to float32 (eps 1.2e-7).
TOL32 = dict(rtol=1e-6, atol=1e-7)
# A DANN forward pass against its own parts: the very same float32 operations in the same order,
# so they agree to rounding; 1e-5 also admits a student who reorders a sum inside a layer.
TOL_MODEL = dict(rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------- freeze

# A network with the names that trip careless matching: "head" next to "header" (a prefix of
# it), "features.1" next to "features.10" and "features.11" (eleven layers), and nesting.
NET = {
    "features": [["Linear", 3, 4]] + [["Linear", 4, 4] if i % 2 == 0 else ["Tanh"] for i in range(1, 12)],
    "head": [["Linear", 4, 4], ["ReLU"], ["Linear", 4, 2]],
    "header": ["Linear", 4, 2],
    "embed": {"proj": ["Linear", 2, 3], "norm": ["LayerNorm", 3]},
}


def _freeze(ctx, trainable, frozen=(), seed=0):
    spec = {"module": NET, "frozen": list(frozen), "seed": seed}
    if trainable is not None:
        spec["args"] = [list(trainable)]
    got = ctx.run("module_apply", target="transfer.freeze", **spec)
    expect(got["out"] is None, f"freeze should return None (it works in place), got {got['out']!r}")
    return got


def _want(names, trainable):
    return {n: any(n.startswith(t + ".") for t in trainable) for n in names}


def _compare_flags(got, trainable, what):
    flags = got["requires_grad"]
    want = _want(flags, trainable)
    wrong = [n for n in flags if flags[n] != want[n]]
    expect(not wrong, f"{what}: requires_grad is wrong for {len(wrong)} parameter(s), e.g. "
                      + ", ".join(f"{n} (got {flags[n]}, want {want[n]})" for n in wrong[:3]))


@check("transfer.freeze", points=6)
def freeze_head_not_header(ctx):
    """trainable=["head"] unfreezes head.* only: not header.*, which merely starts with "head"."""
    got = _freeze(ctx, ["head"])
    _compare_flags(got, ["head"], 'freeze(net, ["head"])')


@check("transfer.freeze", points=6)
def freeze_nested_names_and_unfreezes(ctx):
    """Qualified names ("features.1", "embed.norm"): features.1 is not features.10 or .11; a
    parameter frozen before the call but named in trainable ends up trainable."""
    g = ctx.generator()
    trainable = ["features.1", "embed.norm"]
    frozen = ["features.1.weight", "embed.norm.bias", "header.weight"]
    got = _freeze(ctx, trainable, frozen, seed=randint(g, 0, 1000))
    _compare_flags(got, trainable, 'freeze(net, ["features.1", "embed.norm"]) with some parameters frozen before')


@check("transfer.freeze", points=6)
def freeze_everything_and_keep_values(ctx):
    """With no trainable names every parameter is frozen, and no parameter's value changes."""
    g = ctx.generator()
    seed = randint(g, 0, 1000)
    got = _freeze(ctx, None, ["head.0.weight"], seed=seed)
    _compare_flags(got, [], "freeze(net) (trainable left at its default)")
    from leedl_grader.drivers.training import build_module

    torch.manual_seed(seed)  # the driver built the network from the same seed
    want = dict(build_module(NET).named_parameters())
    for n, p in got["params"].items():
        assert_close(p, want[n].detach(), rtol=0, atol=0, what=f"{n} after freeze (freeze must not change values)")


# -------------------------------------------------------------------------------- grad_reverse


def _reverse(ctx, x, lambd, go):
    kwargs = {} if lambd is None else {"lambd": lambd}
    got = ctx.run("grad", target="transfer.grad_reverse", args=[x], kwargs=kwargs, grad_output=go)
    expect(isinstance(got["out"], torch.Tensor), f"grad_reverse returned {type(got['out']).__name__}")
    expect(got["grads"][0] is not None, "no gradient reaches x through grad_reverse")
    return got


@check("transfer.grad_reverse", points=6)
def grad_reverse_forward_is_identity(ctx):
    """Forward: the values of x, its shape and dtype, float32 and float64, batch dims (2, 3, 5)."""
    g = ctx.generator()
    for dtype in (F64, F32):
        x = torch.randn(2, 3, 5, generator=g, dtype=F64).to(dtype=dtype, device=ctx.device)
        out = ctx.call("transfer.grad_reverse", x, uniform(g, 0.2, 3.0))
        expect(isinstance(out, torch.Tensor), f"grad_reverse returned {type(out).__name__}")
        assert_equal(str(out.dtype), str(dtype), what="dtype of grad_reverse(x)")
        assert_close(out, x, rtol=0, atol=0, what=f"grad_reverse(x) for {dtype} x (the identity)")


@check("transfer.grad_reverse", points=6)
def grad_reverse_scales_by_minus_lambda_float64(ctx):
    """Backward: the upstream gradient times −λ, for two values of λ (float64)."""
    g = ctx.generator()
    x = torch.randn(4, 3, generator=g, dtype=F64).to(ctx.device)
    go = torch.randn(4, 3, generator=g, dtype=F64).to(ctx.device)
    for lambd in (uniform(g, 0.1, 0.9), uniform(g, 1.5, 4.0)):
        got = _reverse(ctx, x, lambd, go)
        assert_close(got["grads"][0], -lambd * go, what=f"gradient through grad_reverse(x, lambd={lambd:.4f})", **TOL64)


@check("transfer.grad_reverse", points=6)
def grad_reverse_scales_float32_and_default(ctx):
    """Backward in float32, and with the default λ = 1 (the gradient flips sign)."""
    g = ctx.generator()
    x = torch.randn(6, generator=g).to(ctx.device)
    go = torch.randn(6, generator=g).to(ctx.device)
    lambd = uniform(g, 0.1, 3.0)
    got = _reverse(ctx, x, lambd, go)
    assert_equal(str(got["grads"][0].dtype), str(F32), what="dtype of the gradient")
    assert_close(got["grads"][0], (-lambd * go.double()).float(), what="float32 gradient through grad_reverse", **TOL32)
    got = _reverse(ctx, x, None, go)
    assert_close(got["grads"][0], -go, what="gradient through grad_reverse(x) with the default lambd", **TOL32)


@check("transfer.grad_reverse", points=6)
def grad_reverse_keeps_input_and_zero_lambda(ctx):
    """λ = 0 stops the gradient (zeros, not an error), and x itself is never modified."""
    g = ctx.generator()
    x = torch.randn(3, 4, generator=g, dtype=F64).to(ctx.device)
    go = torch.randn(3, 4, generator=g, dtype=F64).to(ctx.device)
    got = _reverse(ctx, x, 0.0, go)
    assert_close(got["grads"][0], torch.zeros_like(go), rtol=0, atol=0, what="gradient with lambd=0")
    res = ctx.run("call", target="transfer.grad_reverse", args=[x, uniform(g, 0.5, 2.0)], return_args=True)
    assert_close(res["out"], x, rtol=0, atol=0, what="grad_reverse(x)")
    assert_close(res["args"][0], x, rtol=0, atol=0, what="x after grad_reverse (it must not change)")


# --------------------------------------------------------------------------------- dann_lambda


def _lambda(p, gamma):
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


@check("transfer.dann_lambda", points=6)
def dann_lambda_default_gamma(ctx):
    """2/(1+exp(−10p)) − 1 at p = 0, 1 and random progress in between."""
    g = ctx.generator()
    for p in (0.0, uniform(g, 0.01, 0.1), uniform(g, 0.1, 0.5), uniform(g, 0.5, 1.0), 1.0):
        got = ctx.call("transfer.dann_lambda", p)
        expect(isinstance(got, (float, int)) or (isinstance(got, torch.Tensor) and got.numel() == 1),
               f"dann_lambda should return a number, got {type(got).__name__}")
        assert_close(float(got), _lambda(p, 10.0), what=f"dann_lambda({p:.4f})", **TOL64)


@check("transfer.dann_lambda", points=6)
def dann_lambda_other_gamma(ctx):
    """The gamma argument is used: random γ in [2, 20] at random progress."""
    g = ctx.generator()
    for _ in range(3):
        p, gamma = uniform(g, 0.02, 0.6), uniform(g, 2.0, 20.0)
        got = ctx.call("transfer.dann_lambda", p, gamma=gamma)
        assert_close(float(got), _lambda(p, gamma), what=f"dann_lambda({p:.4f}, gamma={gamma:.3f})", **TOL64)


# ---------------------------------------------------------------------------------------- DANN


def _dann(ctx, calls, seed):
    return ctx.run("module_calls", target="transfer.DANN", seed=seed, device=str(ctx.device), calls=calls)


@check("transfer.DANN", points=6)
def dann_outputs_and_submodules(ctx):
    """DANN() has features, label_head and domain_head; forward(x, λ) gives two (N, 2) float32
    logits (N = 1 included); the class logits are label_head(features(x))."""
    g = ctx.generator()
    xs = [torch.randn(n, 2, generator=g).to(ctx.device) for n in (1, randint(g, 5, 9))]
    calls = [{"args": [x, uniform(g, 0.1, 1.0)]} for x in xs]
    calls.append({"chain": ["features", "label_head"], "args": [xs[1]]})
    got = _dann(ctx, calls, randint(g, 0, 1000))
    missing = [n for n in ("features", "label_head", "domain_head") if n not in got["children"]]
    expect(not missing, f"DANN() has no submodule {', '.join(missing)} (the contract names all three)")
    for x, r in zip(xs, got["calls"]):
        out = r["out"]
        expect(isinstance(out, (tuple, list)) and len(out) == 2,
               "DANN.forward(x, lambd) should return a pair (class logits, domain logits)")
        for name, t in zip(("class logits", "domain logits"), out):
            expect(isinstance(t, torch.Tensor), f"the {name} are {type(t).__name__}, not a tensor")
            assert_equal(tuple(t.shape), (len(x), 2), what=f"shape of the {name} for a batch of {len(x)}")
            assert_equal(str(t.dtype), str(F32), what=f"dtype of the {name}")
    assert_close(got["calls"][1]["out"][0], got["calls"][2]["out"], what="class logits against "
                 "label_head(features(x))", **TOL_MODEL)


@check("transfer.DANN", points=12)
def dann_reverses_gradient_into_features(ctx):
    """On the domain logits, domain_head gets its ordinary gradient and features that gradient
    times −λ (compared with domain_head(features(x)) without reversal); the class logits give
    features their ordinary gradient and send nothing into domain_head."""
    g = ctx.generator()
    x = torch.randn(randint(g, 4, 8), 2, generator=g).to(ctx.device)
    go = torch.randn(len(x), 2, generator=g).to(ctx.device)
    lambd = uniform(g, 0.2, 2.0)
    calls = [{"args": [x, lambd], "output": 1, "grad_output": go},
             {"chain": ["features", "domain_head"], "args": [x], "grad_output": go},
             {"args": [x, lambd], "output": 0, "grad_output": go},
             {"chain": ["features", "label_head"], "args": [x], "grad_output": go}]
    rev, plain, cls, cls_plain = _dann(ctx, calls, randint(g, 0, 1000))["calls"]
    assert_close(rev["out"][1], plain["out"], what="domain logits against domain_head(features(x))", **TOL_MODEL)
    for name, want in plain["param_grads"].items():
        got = rev["param_grads"].get(name)
        if want is None:
            continue
        expect(got is not None, f"no gradient of the domain logits reaches {name}")
        scale = 1.0 if name.startswith("domain_head.") else -lambd
        assert_close(got, scale * want, what=f"gradient of the domain logits for {name} (lambd={lambd:.3f}; "
                     f"{'ordinary' if scale == 1.0 else 'reversed, times -lambd'})", **TOL_MODEL)
    for name, want in cls_plain["param_grads"].items():
        if want is not None and name.startswith("features."):
            got = cls["param_grads"].get(name)
            expect(got is not None, f"no gradient of the class logits reaches {name}")
            assert_close(got, want, what=f"gradient of the class logits for {name} (ordinary, never reversed)",
                         **TOL_MODEL)
    leaked = [n for n, v in cls["param_grads"].items()
              if n.startswith("domain_head.") and v is not None and bool(v.abs().max() > 0)]
    expect(not leaked, f"the class logits send a gradient into {leaked[0]}" if leaked else "")
