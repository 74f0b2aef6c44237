"""Hidden checks for critical_points.py (notes 1.1)."""

import torch

from leedl_grader.authoring.checks import check, expect
from leedl_grader.authoring.compare import assert_close, assert_equal
from leedl_grader.drivers import run_local
from leedl_grader.authoring.helpers import F32, F64, randint, randn, uniform

from ..public.drivers import make_loss, mlp_size


def _orthogonal(g, n):
    q, r = torch.linalg.qr(randn(g, n, n))
    return q * torch.sign(torch.diagonal(r))


def _with_eigenvalues(g, lam, dtype=F64, device="cpu"):
    """A dense symmetric matrix with eigenvalues ``lam`` (a random rotation of diag(lam))."""
    lam = torch.as_tensor(lam, dtype=F64)
    q = _orthogonal(g, lam.numel())
    h = q @ torch.diag(lam) @ q.T
    return ((h + h.T) / 2).to(dtype=dtype, device=device)


def _permuted_diag(g, lam, dtype=F64, device="cpu"):
    """P diag(lam) Pᵀ: eigenvalues are exactly ``lam`` (eigvalsh is exact on such matrices)."""
    lam = torch.as_tensor(lam, dtype=F64)
    p = torch.randperm(lam.numel(), generator=g)
    return torch.diag(lam)[p][:, p].to(dtype=dtype, device=device)


def _dyadic_tol(g):
    """A tolerance exactly representable in float32 and float64 (k/64), so ±tol is exact."""
    return randint(g, 1, 40) / 64


def _spec_to(spec, device):
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in spec.items()}


def _mlp_spec(g, dtype=F64):
    d, h, k = randint(g, 2, 3), randint(g, 2, 3), randint(g, 5, 8)
    spec = {"kind": "mlp", "X": randn(g, k, d, dtype=dtype), "y": randn(g, k, dtype=dtype), "hidden": h}
    return spec, mlp_size(d, h)


def _torch_hessian(spec, theta):
    return run_local("loss_call", torch.autograd.functional.hessian, loss=spec, args=(theta,))["out"]


def _true_taylor(spec, theta_prime, theta):
    """(L(θ′) + dᵀg + ½dᵀHd, g + Hd, |L| + |dᵀg| + |½dᵀHd|) in float64, from
    torch.autograd.functional: the judge's ground truth, and the size of its terms."""
    spec64 = {k: (v.to(F64) if isinstance(v, torch.Tensor) else v) for k, v in spec.items()}
    f = make_loss(spec64)
    tp, th = theta_prime.to(F64), theta.to(F64)
    H = torch.autograd.functional.hessian(f, tp)
    g = torch.autograd.functional.jacobian(f, tp)
    d = th - tp
    terms = (f(tp), d @ g, 0.5 * d @ H @ d)
    return sum(terms), g + H @ d, float(sum(t.abs() for t in terms))


# --- hessian ----------------------------------------------------------------------------------


def _hessian_case(ctx, spec, theta, rtol, atol_scale):
    spec, theta = _spec_to(spec, ctx.device), theta.to(ctx.device)
    got = ctx.run("loss_call", target="critical_points.hessian", loss=spec, args=(theta,))["out"]
    want = _torch_hessian(spec, theta)
    scale = float(want.abs().max()) or 1.0
    assert_close(got, want, rtol=rtol, atol=atol_scale * scale, what="Hessian")


@check("critical_points.hessian", points=1)
def hessian_quadratic_float64(ctx):
    """hessian of a quadratic ½θᵀAθ + bᵀθ (float64) matches torch.autograd.functional.hessian."""
    g = ctx.generator("quadratic")
    n = randint(g, 3, 6)
    a = randn(g, n, n)
    spec = {"kind": "quadratic", "A": a + a.T, "b": randn(g, n)}
    # exact arithmetic up to reordered sums of n terms: 1e-12 is ~1000 ulps of the largest entry
    _hessian_case(ctx, spec, randn(g, n), rtol=1e-12, atol_scale=1e-12)


@check("critical_points.hessian", points=1.5)
def hessian_rosenbrock_float64(ctx):
    """hessian of the Rosenbrock function (float64) matches torch.autograd.functional.hessian."""
    g = ctx.generator("rosenbrock")
    n = randint(g, 3, 6)
    spec = {"kind": "rosenbrock", "a": uniform(g, 1.0, 100.0)}
    # a handful of products per entry; 1e-11 of the largest entry covers any valid evaluation order
    _hessian_case(ctx, spec, randn(g, n), rtol=1e-11, atol_scale=1e-11)


@check("critical_points.hessian", points=1.5)
def hessian_mlp_float64(ctx):
    """hessian of a small tanh MLP's loss w.r.t. its flat weights (float64) matches torch."""
    g = ctx.generator("mlp")
    spec, n = _mlp_spec(g)
    # double backward through tanh and two matmuls: error ~ a few ulps times the sums' length
    _hessian_case(ctx, spec, 0.7 * randn(g, n), rtol=1e-10, atol_scale=1e-11)


@check("critical_points.hessian", points=1.5)
def hessian_mlp_float32(ctx):
    """hessian in float32 returns float32 values close to torch's."""
    g = ctx.generator("mlp32")
    spec, n = _mlp_spec(g, dtype=F32)
    theta = (0.7 * randn(g, n)).to(F32)
    # float32 (eps 1.2e-7) through a double backward of ~30 operations: 1e-4 of the largest entry
    _hessian_case(ctx, spec, theta, rtol=1e-4, atol_scale=1e-4)


@check("critical_points.hessian", points=1)
def hessian_degenerate_quartic(ctx):
    """hessian of Σcθ⁴ + ½θᵀAθ at θ = 0 (A singular): a degenerate Hessian, matches torch."""
    g = ctx.generator("quartic")
    n = randint(g, 3, 5)
    u = randn(g, n, 1)
    spec = {"kind": "quartic", "c": randn(g, n).abs(), "A": u @ u.T, "b": randn(g, n)}
    theta = torch.zeros(n, dtype=F64)
    theta[randint(g, 0, n - 1)] = uniform(g, -1.0, 1.0)  # one coordinate off zero, the rest flat
    _hessian_case(ctx, spec, theta, rtol=1e-12, atol_scale=1e-12)  # exact up to a few roundings


@check("critical_points.hessian", points=1)
def hessian_linear_loss_is_zero(ctx):
    """hessian of a linear loss bᵀθ is the zero matrix (the gradient has no graph at all)."""
    g = ctx.generator("linear")
    n = randint(g, 2, 6)
    for dtype in (F64, F32):
        spec = _spec_to({"kind": "linear", "b": randn(g, n, dtype=dtype)}, ctx.device)
        theta = randn(g, n, dtype=dtype).to(ctx.device)
        got = ctx.run("loss_call", target="critical_points.hessian", loss=spec, args=(theta,))["out"]
        assert_equal(got, torch.zeros(n, n, dtype=dtype), what=f"Hessian of a linear loss ({dtype})")


@check("critical_points.hessian", points=0.5, kind="side")
def hessian_input_not_modified(ctx):
    """hessian leaves theta unchanged."""
    g = ctx.generator("inputs")
    spec, n = _mlp_spec(g)
    theta = randn(g, n).to(ctx.device)
    r = ctx.run("loss_call", target="critical_points.hessian", loss=_spec_to(spec, ctx.device),
                args=(theta,), return_args=True)
    assert_equal(r["args"][0], theta, what="theta after the call")


# --- taylor_approximation ---------------------------------------------------------------------


def _taylor(ctx, spec, theta_prime, theta, **kw):
    spec = _spec_to(spec, ctx.device)
    return ctx.run("loss_call", target="critical_points.taylor_approximation", loss=spec,
                   args=(theta_prime.to(ctx.device), theta.to(ctx.device)), **kw)


@check("critical_points.taylor_approximation", points=1.5)
def taylor_mlp_float64(ctx):
    """taylor_approximation of an MLP loss (float64) equals L(θ′) + dᵀg + ½dᵀHd, away from a critical point."""
    g = ctx.generator("mlp")
    spec, n = _mlp_spec(g)
    tp = 0.7 * randn(g, n)
    th = tp + 0.3 * randn(g, n)
    got = _taylor(ctx, spec, tp, th)["out"]
    want, _, _ = _true_taylor(spec, tp, th)
    # sums of ~n² products of O(1) numbers in float64: 1e-10 relative is far above rounding
    assert_close(got, want, rtol=1e-10, atol=1e-12, what="Taylor approximation")


@check("critical_points.taylor_approximation", points=1.5)
def taylor_rosenbrock_float32(ctx):
    """taylor_approximation in float32 returns a float32 scalar close to the float64 truth."""
    g = ctx.generator("rosenbrock32")
    n = randint(g, 3, 5)
    spec = {"kind": "rosenbrock", "a": uniform(g, 1.0, 10.0)}
    tp = randn(g, n, dtype=F32)
    th = (tp + 0.2 * randn(g, n, dtype=F32)).to(F32)
    got = _taylor(ctx, spec, tp, th)["out"]
    want, _, size = _true_taylor(spec, tp, th)
    # float32 (eps 1.2e-7) rounding of terms as large as `size`, which may cancel: 1e-5 of it
    assert_close(got, want.to(F32), rtol=0, atol=1e-5 * size, what="Taylor approximation")


@check("critical_points.taylor_approximation", points=1)
def taylor_gradient_wrt_theta(ctx):
    """autograd through taylor_approximation gives g + H(θ−θ′) with respect to θ."""
    g = ctx.generator("grad")
    n = randint(g, 3, 5)
    u = randn(g, n, 1)
    spec = {"kind": "quartic", "c": randn(g, n).abs(), "A": u @ u.T, "b": randn(g, n)}
    tp, th = randn(g, n), randn(g, n)
    r = _taylor(ctx, spec, tp, th, wrt=[1])
    _, want, _ = _true_taylor(spec, tp, th)
    expect(r["grads"][0] is not None, "the result carries no gradient to theta (was it detached?)")
    # a gradient of a quadratic in θ: a few roundings of O(10) numbers
    assert_close(r["grads"][0], want, rtol=1e-10, atol=1e-10, what="d taylor / d theta")


@check("critical_points.taylor_approximation", points=1)
def taylor_exact_for_quadratic(ctx):
    """for a quadratic loss the second-order Taylor expansion is exact: it equals L(θ)."""
    g = ctx.generator("quadratic")
    n = randint(g, 3, 6)
    a = randn(g, n, n)
    spec = {"kind": "quadratic", "A": a @ a.T - 2 * torch.eye(n, dtype=F64), "b": randn(g, n)}
    tp, th = randn(g, n), randn(g, n)
    got = _taylor(ctx, spec, tp, th)["out"]
    want = make_loss(spec)(th)
    assert_close(got, want, rtol=1e-10, atol=1e-10, what="Taylor approximation of a quadratic")


@check("critical_points.taylor_approximation", points=0.5)
def taylor_linear_loss(ctx):
    """taylor_approximation of a linear loss (zero Hessian, no second-order graph) equals L(θ)."""
    g = ctx.generator("linear")
    n = randint(g, 2, 6)
    spec = {"kind": "linear", "b": randn(g, n)}
    tp, th = randn(g, n), randn(g, n)
    got = _taylor(ctx, spec, tp, th)["out"]
    assert_close(got, make_loss(spec)(th), rtol=1e-12, atol=1e-12, what="Taylor approximation of a linear loss")


@check("critical_points.taylor_approximation", points=0.5, kind="side")
def taylor_inputs_not_modified(ctx):
    """taylor_approximation leaves theta_prime and theta unchanged."""
    g = ctx.generator("inputs")
    spec, n = _mlp_spec(g)
    tp, th = randn(g, n), randn(g, n)
    r = _taylor(ctx, spec, tp, th, return_args=True)
    assert_equal(r["args"], [tp, th], what="(theta_prime, theta) after the call")


# --- classify_critical_point ------------------------------------------------------------------


def _classify(ctx, h, *tol):
    return ctx.call("critical_points.classify_critical_point", h, *tol)


def _expect_label(ctx, h, want, why, *tol):
    got = _classify(ctx, h, *tol)
    expect(got == want, f"{why}: got {got!r}, expected {want!r}")


@check("critical_points.classify_critical_point", points=1)
def classify_minimum(ctx):
    """a positive definite Hessian (float64 and float32) is a local minimum."""
    g = ctx.generator("min")
    for dtype in (F64, F32):
        n = randint(g, 2, 6)
        lam = [uniform(g, 0.5, 3.0) for _ in range(n)]
        _expect_label(ctx, _with_eigenvalues(g, lam, dtype, ctx.device), "local_minimum",
                      f"all eigenvalues positive ({dtype})")


@check("critical_points.classify_critical_point", points=1)
def classify_maximum(ctx):
    """a negative definite Hessian (float64 and float32) is a local maximum."""
    g = ctx.generator("max")
    for dtype in (F64, F32):
        n = randint(g, 2, 6)
        lam = [-uniform(g, 0.5, 3.0) for _ in range(n)]
        _expect_label(ctx, _with_eigenvalues(g, lam, dtype, ctx.device), "local_maximum",
                      f"all eigenvalues negative ({dtype})")


@check("critical_points.classify_critical_point", points=1)
def classify_saddle(ctx):
    """eigenvalues of both signs make a saddle point."""
    g = ctx.generator("saddle")
    n = randint(g, 2, 6)
    k = randint(g, 1, n - 1)
    lam = [uniform(g, 0.5, 3.0) for _ in range(k)] + [-uniform(g, 0.5, 3.0) for _ in range(n - k)]
    _expect_label(ctx, _with_eigenvalues(g, lam, F64, ctx.device), "saddle_point", "eigenvalues of both signs")


@check("critical_points.classify_critical_point", points=0.5)
def classify_saddle_with_flat_direction(ctx):
    """a zero eigenvalue does not hide a saddle: some λ > tol and some λ < −tol still decide it."""
    g = ctx.generator("saddle0")
    lam = [uniform(g, 0.5, 3.0), -uniform(g, 0.5, 3.0), 0.0] + [0.0] * randint(g, 0, 2)
    _expect_label(ctx, _with_eigenvalues(g, lam, F64, ctx.device), "saddle_point",
                  "eigenvalues of both signs and a zero one")


@check("critical_points.classify_critical_point", points=1)
def classify_degenerate(ctx):
    """a semi-definite Hessian with a zero eigenvalue (or an all-zero one) is degenerate."""
    g = ctx.generator("degenerate")
    n = randint(g, 2, 5)
    for sign in (1.0, -1.0):
        lam = [sign * uniform(g, 0.5, 3.0) for _ in range(n - 1)] + [0.0]
        _expect_label(ctx, _with_eigenvalues(g, lam, F64, ctx.device), "degenerate",
                      "semi-definite with a zero eigenvalue")
    _expect_label(ctx, torch.zeros(n, n, dtype=F64, device=ctx.device), "degenerate", "the zero matrix")


@check("critical_points.classify_critical_point", points=1)
def classify_strict_tolerance(ctx):
    """an eigenvalue equal to ±tol counts as zero (the comparisons are strict)."""
    g = ctx.generator("strict")
    tol = _dyadic_tol(g)
    big = [tol + randint(g, 1, 64) / 64 for _ in range(randint(g, 1, 3))]
    for dtype in (F64, F32):
        h = _permuted_diag(g, big + [tol], dtype, ctx.device)
        _expect_label(ctx, h, "degenerate", f"eigenvalues > tol and one equal to tol ({dtype})", tol)
        h = _permuted_diag(g, [-b for b in big] + [-tol], dtype, ctx.device)
        _expect_label(ctx, h, "degenerate", f"eigenvalues < -tol and one equal to -tol ({dtype})", tol)
        h = _permuted_diag(g, big + [-tol], dtype, ctx.device)
        _expect_label(ctx, h, "degenerate", f"eigenvalues > tol and one equal to -tol ({dtype})", tol)


@check("critical_points.classify_critical_point", points=0.5)
def classify_default_tol(ctx):
    """without a tol argument the tolerance is 1e-8."""
    g = ctx.generator("default")
    small, above = uniform(g, 1e-9, 9e-9), uniform(g, 2e-8, 9e-8)
    _expect_label(ctx, _permuted_diag(g, [1.0, small, 2.0], F64, ctx.device), "degenerate",
                  "an eigenvalue below the default tolerance 1e-8")
    _expect_label(ctx, _permuted_diag(g, [1.0, above, 2.0], F64, ctx.device), "local_minimum",
                  "all eigenvalues above the default tolerance 1e-8")


# --- escape_direction -------------------------------------------------------------------------


def _check_direction(got, h, dtype, rtol, atol, why):
    expect(got is not None, f"{why}: got None, expected a direction")
    expect(isinstance(got, torch.Tensor), f"{why}: expected a tensor, got {type(got).__name__}")
    n = h.shape[0]
    expect(tuple(got.shape) == (n,), f"{why}: shape {tuple(got.shape)}, expected ({n},)")
    expect(got.dtype == dtype, f"{why}: dtype {got.dtype}, expected {dtype}")
    lam, vecs = torch.linalg.eigh(h.detach().cpu().to(F64))
    v = got.detach().cpu().to(F64)
    assert_close(v.norm(), torch.tensor(1.0, dtype=F64), rtol=0, atol=atol, what=f"{why}: norm of the direction")
    # sign-free comparison with the judge's eigenvector (eigenvalues are separated by ≥ 0.25)
    assert_close((v @ vecs[:, 0]).abs(), torch.tensor(1.0, dtype=F64), rtol=0, atol=atol,
                 what=f"{why}: |cosine| with the eigenvector of the most negative eigenvalue")


def _spaced(g, n, lo, hi):
    """n eigenvalues in [lo, hi] at least 0.25 apart (eigenvectors well determined)."""
    base = torch.linspace(lo, hi, n, dtype=F64)
    jitter = (torch.rand(n, generator=g, dtype=F64) - 0.5) * 0.5 * (hi - lo) / max(n - 1, 1) * 0.5
    return (base + jitter).tolist()


@check("critical_points.escape_direction", points=1.5)
def escape_saddle_float64(ctx):
    """escape_direction at a saddle (float64) is the unit eigenvector of the most negative eigenvalue."""
    g = ctx.generator("saddle")
    n = randint(g, 3, 6)
    h = _with_eigenvalues(g, _spaced(g, n, -3.0, 3.0), F64, ctx.device)
    got = ctx.call("critical_points.escape_direction", h)
    # eigenvectors of a well-conditioned 6x6 with gaps ≥ 0.25: error ~ 1e-15·‖H‖/gap; 1e-10 is generous
    _check_direction(got, h, F64, 0, 1e-10, "dense saddle")


@check("critical_points.escape_direction", points=1)
def escape_most_negative_not_largest(ctx):
    """the most negative eigenvalue wins, even when a positive one is larger in magnitude."""
    g = ctx.generator("largest")
    n = randint(g, 3, 6)
    lam = _spaced(g, n - 1, -2.0, -0.5) + [uniform(g, 5.0, 9.0)]
    h = _with_eigenvalues(g, lam, F64, ctx.device)
    got = ctx.call("critical_points.escape_direction", h)
    _check_direction(got, h, F64, 0, 1e-10, "negative eigenvalues and one large positive")


@check("critical_points.escape_direction", points=1, kind="side")
def escape_none_without_negative(ctx):
    """None when no eigenvalue is < −tol: positive definite, semi-definite, or one exactly at −tol."""
    g = ctx.generator("none")
    n = randint(g, 2, 5)
    lam = [uniform(g, 0.5, 3.0) for _ in range(n - 1)]
    h = _with_eigenvalues(g, lam + [uniform(g, 0.5, 3.0)], F64, ctx.device)
    got = ctx.call("critical_points.escape_direction", h)
    expect(got is None, "positive definite Hessian: expected None")
    got = ctx.call("critical_points.escape_direction", _with_eigenvalues(g, lam + [0.0], F64, ctx.device))
    expect(got is None, "positive semi-definite Hessian: expected None")
    tol = _dyadic_tol(g)
    h = _permuted_diag(g, [tol + 1.0] * (n - 1) + [-tol], F64, ctx.device)
    got = ctx.call("critical_points.escape_direction", h, tol)
    expect(got is None, "the smallest eigenvalue equals -tol (not < -tol): expected None")


@check("critical_points.escape_direction", points=1)
def escape_float32(ctx):
    """escape_direction on a float32 Hessian returns a float32 unit eigenvector."""
    g = ctx.generator("f32")
    n = randint(g, 3, 6)
    h = _with_eigenvalues(g, _spaced(g, n, -3.0, 3.0), F32, ctx.device)
    got = ctx.call("critical_points.escape_direction", h)
    # float32 eigenvectors with gaps ≥ 0.25: error ~ 1e-7·‖H‖/gap; 1e-4 is generous, wrong vectors are O(1) off
    _check_direction(got, h, F32, 0, 1e-4, "float32 saddle")


@check("critical_points.escape_direction", points=1)
def escape_default_tol(ctx):
    """without a tol argument the tolerance is 1e-8."""
    g = ctx.generator("default")
    n = randint(g, 2, 5)
    small, above = uniform(g, 1e-9, 9e-9), uniform(g, 2e-8, 9e-8)
    got = ctx.call("critical_points.escape_direction", _permuted_diag(g, [1.0] * (n - 1) + [-small], F64, ctx.device))
    expect(got is None, "the only negative eigenvalue is above -1e-8: expected None")
    h = _permuted_diag(g, [1.0 + i for i in range(n - 1)] + [-above], F64, ctx.device)
    _check_direction(ctx.call("critical_points.escape_direction", h), h, F64, 0, 1e-12,
                     "a negative eigenvalue below -1e-8")


@check("critical_points.escape_direction", points=0.5, kind="side")
def escape_input_not_modified(ctx):
    """escape_direction leaves the Hessian unchanged."""
    g = ctx.generator("inputs")
    n = randint(g, 3, 5)
    h = _with_eigenvalues(g, _spaced(g, n, -2.0, 2.0), F64, ctx.device)
    r = ctx.run("call", target="critical_points.escape_direction", args=(h,), return_args=True)
    assert_equal(r["args"][0], h, what="hessian after the call")
