# leedl — ch01_optimization/optimizers.py: implement the functions below; `leedl check ch01` tests them.
"""Optimizers from the notes, as ``torch.optim.Optimizer`` subclasses.

優化器：一般梯度下降、動量（筆記 1.2）與自適應學習率 AdaGrad、RMSProp、Adam（筆記 1.3）。

Every ``step(closure=None)``: calls ``closure`` (if given) with autograd enabled and returns its
loss; updates in place every parameter of every param group using that group's own
hyper-parameters (``group["lr"]``, never ``self.defaults``); skips parameters whose ``.grad`` is
None (their state is left alone); keeps all state in ``self.state[p]`` (so ``state_dict()`` /
``load_state_dict()`` carry it), created with ``torch.zeros_like(p)`` so that it has the
parameter's dtype and device. Must not call ``torch.optim`` optimizers or
``torch.optim._functional``.
"""

import torch
from torch.optim import Optimizer


class SGD(Optimizer):
    """Plain gradient descent.

    繁中：筆記 1.2：θ ← θ − ηg，往梯度的反方向走一步。
    English: θ ← θ − ηg (notes 1.2), η = the group's ``lr``.
    """

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():  # the closure runs a backward pass
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.add_(p.grad, alpha=-group["lr"])
        return loss


class Momentum(Optimizer):
    """Gradient descent with momentum, in the notes' form.

    繁中：筆記 1.2 動量法：m ← λm − ηg（m₀ = 0），θ ← θ + m。移動方向是負梯度加上前一步的
    移動方向。學習率固定時與 torch.optim.SGD(momentum=λ) 相同。
    English: m ← λm − ηg with m₀ = 0, then θ ← θ + m (notes 1.2), λ = ``momentum``. At a
    constant learning rate this is ``torch.optim.SGD(momentum=λ)``.
    """

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, lam = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue  # no gradient: no movement, and m is left as it was
                state = self.state[p]
                if "m" not in state:
                    state["m"] = torch.zeros_like(p)
                m = state["m"]
                m.mul_(lam).add_(p.grad, alpha=-lr)
                p.add_(m)
        return loss


class Adagrad(Optimizer):
    """AdaGrad: every past gradient counts equally in the root mean square.

    繁中：筆記 1.3：s ← s + g²，θ ← θ − ηg/(√s + ε)。ε 加在開根號之後。與 torch.optim.Adagrad 相同。
    English: s ← s + g², θ ← θ − ηg/(√s + ε) (notes 1.3); ε outside the square root.
    Matches ``torch.optim.Adagrad``.
    """

    def __init__(self, params, lr=1e-2, eps=1e-10):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if "sum" not in state:
                    state["sum"] = torch.zeros_like(p)
                s = state["sum"]
                s.addcmul_(g, g)
                p.addcdiv_(g, s.sqrt().add_(group["eps"]), value=-group["lr"])
        return loss


class RMSProp(Optimizer):
    """RMSProp: an exponential moving average of squared gradients.

    繁中：筆記 1.3：v ← αv + (1−α)g²，θ ← θ − ηg/(√v + ε)，α 決定過去梯度的重要性。
    與 torch.optim.RMSprop 相同（v₀ = 0，ε 在開根號之後）。
    English: v ← αv + (1−α)g², θ ← θ − ηg/(√v + ε) (notes 1.3), v₀ = 0, ε outside the square
    root. Matches ``torch.optim.RMSprop``.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            alpha = group["alpha"]
            for p in group["params"]:
                if p.grad is None:
                    continue  # v must not decay on a step without a gradient
                g = p.grad
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p)
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                p.addcdiv_(g, v.sqrt().add_(group["eps"]), value=-group["lr"])
        return loss


class Adam(Optimizer):
    """Adam: RMSProp plus momentum, with bias correction.

    繁中：筆記 1.3：m ← β₁m + (1−β₁)g，v ← β₂v + (1−β₂)g²，m̂ = m/(1−β₁ᵗ)，v̂ = v/(1−β₂ᵗ)，
    θ ← θ − η·m̂/(√v̂ + ε)。t 對每個參數各自計數、從 1 開始（沒有梯度的步驟不算）。
    與 torch.optim.Adam 相同。
    English: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
    θ ← θ − η·m̂/(√v̂ + ε) (notes 1.3); t counts this parameter's own updates from 1 (steps where
    it had no gradient do not count). Matches ``torch.optim.Adam``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0  # a plain int: survives the state_dict round trip as is
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                bias1 = 1 - beta1**t
                bias2 = 1 - beta2**t
                # √v̂ + ε = √v/√(1−β₂ᵗ) + ε: ε is added after the correction, as in the formula
                denom = (v.sqrt() / bias2**0.5).add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / bias1)
        return loss
