# leedl — ch01_optimization/critical_points.py: implement the functions below; `leedl check ch01` tests them.
"""Critical points (alice's version)."""

import torch


def hessian(loss_fn, theta):
    """Hessian of loss_fn at theta, one row per double backward."""
    x = theta.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loss_fn(x), x, create_graph=True)
        rows = []
        for i in range(x.numel()):
            if grad.requires_grad:
                (r,) = torch.autograd.grad(grad[i], x, retain_graph=True, allow_unused=True)
            else:
                r = None
            rows.append(torch.zeros_like(x) if r is None else r.detach())
    return torch.stack(rows)


def taylor_approximation(loss_fn, theta_prime, theta):
    """L(θ') + (θ−θ')ᵀg + ½(θ−θ')ᵀH(θ−θ'), g and H at θ'."""
    x = theta_prime.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        value = loss_fn(x)
        (grad,) = torch.autograd.grad(value, x, create_graph=True)
    H = hessian(loss_fn, theta_prime)
    delta = theta - theta_prime
    return value.detach() + torch.dot(grad.detach(), delta) + 0.5 * torch.einsum("i,ij,j->", delta, H, delta)


def classify_critical_point(hessian, tol=1e-8):
    eigenvalues = torch.linalg.eigh(hessian).eigenvalues
    smallest, largest = eigenvalues.min().item(), eigenvalues.max().item()
    if smallest > tol:
        return "local_minimum"
    if largest < -tol:
        return "local_maximum"
    if largest > tol and smallest < -tol:
        return "saddle_point"
    return "degenerate"


def escape_direction(hessian, tol=1e-8):
    values, vectors = torch.linalg.eigh(hessian)
    k = int(values.argmin())
    if not values[k] < -tol:
        return None
    u = vectors[:, k]
    return u / u.norm()
