"""Returns and advantages: what a reinforcement-learning agent learns from.

強化學習（筆記第七章只有標題；以下依 Sutton & Barto 與原始論文說明）。智能體在每一步得到獎勵
r_t；從第 t 步開始、打了折扣的累積獎勵 G_t = r_t + γ·r_{t+1} + γ²·r_{t+2} + … 稱為回報（return）。
γ < 1 讓越遠的獎勵越不重要。一批資料裡可能接了好幾個回合（episode）：``dones[t] = 1`` 表示回合
在第 t 步結束，之後的獎勵不能算進 G_t。廣義優勢估計（GAE；Schulman et al., "High-Dimensional
Continuous Control Using Generalized Advantage Estimation", ICLR 2016）用評論家（critic）的
價值估計 V(s) 降低回報的變異數。
Reinforcement learning (chapter 7 of the notes has only its heading; this follows Sutton &
Barto and the papers). The agent receives a reward r_t at each step; the discounted sum from
step t on, G_t = r_t + γ·r_{t+1} + γ²·r_{t+2} + …, is the return. γ < 1 makes distant rewards
count less. A batch of experience may hold several episodes back to back: ``dones[t] = 1``
means the episode ended with step t, so nothing after it belongs in G_t. Generalized advantage
estimation (GAE; Schulman et al., ICLR 2016) uses the critic's value estimates V(s) to trade
the variance of the returns for a little bias.
"""

import torch


def discounted_returns(rewards, gamma, dones=None):
    """G_t = r_t + γ·G_{t+1}·(1 − done_t), computed backwards from the last step.

    繁中：``rewards`` 是 1-D (T,) 浮點張量，``dones`` 是同長度的 0/1（float 或 bool）張量，
    ``None`` 表示整段都在同一個回合裡。最後一步之後沒有資料，所以 G_{T−1} = r_{T−1}。
    回傳與 ``rewards`` 同 dtype、同裝置的 (T,) 張量；不修改輸入。
    English: ``rewards`` is a 1-D (T,) float tensor, ``dones`` a 0/1 tensor (float or bool) of
    the same length, ``None`` meaning one episode throughout. Nothing follows the last step, so
    G_{T−1} = r_{T−1}. Returns a (T,) tensor of the rewards' dtype and device; inputs are not
    modified.
    """
    if dones is None:
        dones = torch.zeros_like(rewards)
    keep = 1.0 - dones.to(rewards.dtype)  # (T,) 0 where the episode ended with step t
    out = torch.empty_like(rewards)
    g = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g * (keep[t + 1] if t + 1 < len(rewards) else 1.0)
        out[t] = g
    return out


def gae(rewards, values, next_value, dones, gamma=0.99, lam=0.95):
    """Generalized advantage estimation: (advantages, returns = advantages + values).

    繁中：δ_t = r_t + γ·V_{t+1}·(1 − done_t) − V_t，其中 V_T = ``next_value``（最後一步之後那個
    狀態的價值，用來「自舉」(bootstrap) 還沒結束的回合）；A_t = δ_t + γλ·(1 − done_t)·A_{t+1}。
    λ = 1 時 A_t + V_t 就是自舉的折扣回報，λ = 0 時 A_t 就是一步的 TD 誤差 δ_t。
    ``rewards``、``values``、``dones`` 都是 (T,)；``next_value`` 是 Python 數字或 0 維張量。
    回傳的兩個 (T,) 張量與 ``rewards`` 同 dtype、同裝置，而且不帶梯度（它們是訓練的目標：
    即使 ``values`` 需要梯度，也不能讓梯度從目標流回評論家）。
    English: δ_t = r_t + γ·V_{t+1}·(1 − done_t) − V_t with V_T = ``next_value`` (the value of
    the state after the last step, which bootstraps an unfinished episode);
    A_t = δ_t + γλ·(1 − done_t)·A_{t+1}. At λ = 1, A_t + V_t is the bootstrapped discounted
    return; at λ = 0, A_t is the one-step TD error δ_t. ``rewards``, ``values`` and ``dones``
    are (T,); ``next_value`` a Python number or a 0-d tensor. Both (T,) results have the
    rewards' dtype and device and carry no gradient: they are targets, and no gradient may
    flow from them back into the critic even when ``values`` requires one.
    """
    values = values.detach().to(rewards.dtype)
    keep = 1.0 - dones.to(rewards.dtype)  # (T,)
    nxt = torch.as_tensor(next_value, dtype=rewards.dtype, device=rewards.device).detach().reshape(())
    next_values = torch.cat([values[1:], nxt[None]])  # (T,) V_{t+1}
    delta = rewards + gamma * next_values * keep - values  # (T,) one-step TD errors
    adv = torch.empty_like(delta)
    a = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    for t in range(len(rewards) - 1, -1, -1):
        a = delta[t] + gamma * lam * keep[t] * a
        adv[t] = a
    return adv, adv + values
