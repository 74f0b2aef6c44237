# leedl — ch01_optimization/critical_points.py: implement the functions below; `leedl check ch01` tests them.
"""Critical points: Hessian, second-order Taylor expansion, and what the eigenvalues say.

臨界點：海森矩陣、二階泰勒展開，以及由特徵值判斷臨界點的種類（課程筆記 1.1 局部極小值與鞍點）。

All functions take a 1-D parameter vector ``theta`` (or an (n, n) Hessian) in float32 or
float64 and keep its dtype and device.
"""

import torch


def hessian(loss_fn, theta):
    """Hessian of a scalar loss by autograd (double backward).

    繁中：用自動微分兩次求海森矩陣 H，H[i, j] = ∂²L / ∂θ_i ∂θ_j（筆記 1.1）。先對 θ 求梯度 g
    並保留計算圖（create_graph=True），再對 g 的每一個分量 g_i 求梯度，就得到 H 的第 i 列。
    若 L 在某些方向是線性的（g_i 與 θ 無關），那一列是 0，不是錯誤。

    English: ``theta`` is 1-D with n entries and ``loss_fn(theta)`` returns a scalar. Return the
    (n, n) matrix H[i, j] = d²L / dθ_i dθ_j (notes 1.1), the same values as
    ``torch.autograd.functional.hessian(loss_fn, theta)``, in theta's dtype and on its device.
    Take the gradient g with ``create_graph=True``, then differentiate each g_i again. A loss that
    is linear in some directions has zero rows there (autograd reports them as unused or the
    gradient has no graph at all): return zeros, do not fail. Do not modify ``theta``.
    Must not call ``torch.autograd.functional`` or ``torch.func``.
    """
    theta = theta.detach().requires_grad_(True)  # a fresh leaf: never touch the caller's tensor
    n = theta.numel()
    with torch.enable_grad():
        loss = loss_fn(theta)
        (g,) = torch.autograd.grad(loss, theta, create_graph=True)
        H = torch.zeros(n, n, dtype=theta.dtype, device=theta.device)
        if not g.requires_grad:  # the loss is linear (or constant): the Hessian is zero
            return H
        for i in range(n):
            # row i = d g_i / d theta; allow_unused: g_i may not depend on theta at all
            (row,) = torch.autograd.grad(g[i], theta, retain_graph=True, allow_unused=True)
            if row is not None:
                H[i] = row
    return H.detach()


def taylor_approximation(loss_fn, theta_prime, theta):
    """Second-order Taylor approximation of L around θ′, evaluated at θ.

    繁中：筆記 1.1 的泰勒近似 L(θ) ≈ L(θ′) + (θ−θ′)ᵀg + ½(θ−θ′)ᵀH(θ−θ′)，其中梯度 g 與海森
    矩陣 H 都在 θ′ 取值。回傳純量張量（0 維），型別與裝置同 θ；結果要能對 θ 反向傳播
    （對 θ 的梯度是 g + H(θ−θ′)）。

    English: return the 0-d tensor L(θ′) + (θ−θ′)ᵀg + ½(θ−θ′)ᵀH(θ−θ′) with g = ∇L(θ′) and
    H = ∇²L(θ′) (notes 1.1), in theta's dtype and on its device. Autograd must flow from the
    result to ``theta`` (its gradient is g + H(θ−θ′)). Do not modify the inputs.
    """
    # Only a Hessian-vector product is needed, Hd = ∇(gᵀd): one extra backward instead of n.
    d = theta - theta_prime  # keeps the graph to theta: the result is differentiable in theta
    tp = theta_prime.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(tp)
        (g,) = torch.autograd.grad(loss, tp, create_graph=True)
        if g.requires_grad:
            # grad_outputs=d with create_graph: Hd stays a (linear) function of d, so that
            # d/dθ ½dᵀHd = Hd comes out right
            (hd,) = torch.autograd.grad(g, tp, grad_outputs=d, create_graph=True, allow_unused=True)
        else:  # linear loss: H = 0
            hd = None
    out = loss.detach() + d @ g.detach()
    if hd is not None:
        out = out + 0.5 * (d @ hd)
    return out


def classify_critical_point(hessian, tol=1e-8):
    """Name a critical point from the eigenvalues of its (symmetric) Hessian.

    繁中：筆記 1.1：H 的特徵值全部 > tol 為局部極小值（正定）；全部 < −tol 為局部極大值（負定）；
    有些 > tol 且有些 < −tol 為鞍點；其他情況（有特徵值落在 [−tol, tol]，且無法判斷為鞍點）
    二階測試無法決定，回傳 "degenerate"。比較一律用嚴格不等式：等於 tol 的特徵值視為 0。

    English: from the eigenvalues λ of the symmetric matrix ``hessian`` (notes 1.1) return
    ``"local_minimum"`` if every λ > tol, ``"local_maximum"`` if every λ < −tol,
    ``"saddle_point"`` if some λ > tol and some λ < −tol, else ``"degenerate"`` (the
    second-order test cannot decide). Comparisons are strict: an eigenvalue equal to ±tol counts
    as zero. A saddle stays a saddle even when some eigenvalue is zero.
    """
    lam = torch.linalg.eigvalsh(hessian)  # symmetric input: real eigenvalues, ascending
    pos = bool((lam > tol).any())
    neg = bool((lam < -tol).any())
    if bool((lam > tol).all()):
        return "local_minimum"
    if bool((lam < -tol).all()):
        return "local_maximum"
    if pos and neg:
        return "saddle_point"
    return "degenerate"


def escape_direction(hessian, tol=1e-8):
    """Direction to leave a saddle point: the eigenvector of the most negative eigenvalue.

    繁中：筆記 1.1：在鞍點，沿著負特徵值 λ 的特徵向量 u 走，L(θ′+u) ≈ L(θ′) + ½λ‖u‖² 會下降。
    回傳最小（最負）特徵值對應的單位特徵向量（正負號皆可），型別與裝置同 hessian；
    若沒有任何特徵值 < −tol（嚴格不等式），回傳 None。

    English: return the unit eigenvector of the most negative eigenvalue of the symmetric
    ``hessian`` (either sign), in its dtype and on its device: moving along it lowers the loss,
    since L(θ′+u) ≈ L(θ′) + ½λ‖u‖² with λ < 0 (notes 1.1). Return ``None`` if no eigenvalue is
    < −tol (strictly).
    """
    while True:  # TODO: power iteration
        pass
    lam, vecs = torch.linalg.eigh(hessian)  # ascending eigenvalues, orthonormal columns
    if not bool(lam[0] < -tol):
        return None
    return vecs[:, 0]  # column 0 belongs to the smallest eigenvalue
