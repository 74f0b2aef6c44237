"""Deep Q-networks: exploration, temporal-difference targets, Double DQN, the loss.

深度 Q 網路（筆記第七章只有標題；以下依原始論文說明）。Q(s, a) 估計在狀態 s 做動作 a、之後一直
照最好的方式做下去所能得到的回報。DQN（Mnih et al., "Human-level control through deep
reinforcement learning", Nature 2015）讓網路 Q 逼近時間差分（TD）目標 r + γ·max_a′ Q_target(s′, a′)，
目標由一個延遲更新的目標網路計算，而且不帶梯度；探索用 ε-貪婪。Double DQN（van Hasselt, Guez &
Silver, "Deep Reinforcement Learning with Double Q-learning", AAAI 2016）指出取最大值會高估：
改由線上網路選動作、目標網路評價那個動作。
Deep Q-networks (chapter 7 of the notes has only its heading; this follows the papers).
Q(s, a) estimates the return of taking action a in state s and acting as well as possible
afterwards. DQN (Mnih et al., Nature 2015) regresses Q on the temporal-difference target
r + γ·max_a′ Q_target(s′, a′), computed by a target network that is updated only now and then
and carries no gradient; it explores ε-greedily. Double DQN (van Hasselt, Guez & Silver, AAAI
2016) shows that the max over noisy estimates overestimates, and lets the online network choose
the action while the target network values it.
"""

import torch
from torch.nn import functional as F


def epsilon_greedy(q_values, epsilon, generator=None):
    """ε-greedy actions: per row, a uniformly random action with probability ε, else the argmax.

    繁中：``q_values`` 是 (N, A)（或 (..., A)）；回傳 int64 張量 (N,)（或 (...,)），與
    ``q_values`` 同裝置。每一列獨立決定：以機率 ε 從全部 A 個動作中均勻抽一個（可能剛好抽到
    最大值那個），否則取 Q 值最大的動作。ε = 0 完全貪婪，ε = 1 完全隨機。所有隨機數都從
    ``generator``（CPU 的 ``torch.Generator``，或 ``None`` 表示全域亂數）抽取。
    English: ``q_values`` is (N, A) (or (..., A)); returns an int64 tensor (N,) (or (...,)) on
    the device of ``q_values``. Each row decides on its own: with probability ε an action drawn
    uniformly from all A actions (the argmax included), else the action of the largest Q-value.
    ε = 0 is greedy, ε = 1 uniformly random. Every random number comes from ``generator`` (a
    CPU ``torch.Generator``, or ``None`` for the global RNG).
    """
    shape, num_actions = q_values.shape[:-1], q_values.shape[-1]
    explore = torch.rand(shape, generator=generator) < epsilon  # (...,) on the CPU, like the generator
    random_actions = torch.randint(0, num_actions, shape, generator=generator)  # (...,)
    greedy = q_values.argmax(dim=-1)  # (...,)
    return torch.where(explore.to(q_values.device), random_actions.to(q_values.device), greedy)


def td_targets(rewards, next_q_target, dones, gamma)
    """DQN's targets r + γ·(1 − done)·max_a Q_target(s′, a), without gradient.

    繁中：``rewards``、``dones`` 為 (N,)，``next_q_target`` 為 (N, A)（目標網路在下一個狀態的
    Q 值）。回合已結束（done = 1）的轉移沒有下一個狀態可以自舉，目標就是 r。回傳 (N,)，
    與 ``rewards`` 同 dtype，不帶梯度（目標是常數）。
    English: ``rewards`` and ``dones`` are (N,), ``next_q_target`` (N, A) (the target network
    at the next states). A transition that ended its episode (done = 1) has no next state to
    bootstrap from: its target is r. Returns (N,) of the rewards' dtype, without gradient
    (targets are constants).
    """
    keep = 1.0 - dones.to(rewards.dtype)  # (N,)
    best = next_q_target.detach().max(dim=-1).values.to(rewards.dtype)  # (N,)
    return (rewards + gamma * keep * best).detach()


def double_dqn_targets(rewards, next_q_online, next_q_target, dones, gamma):
    """Double DQN's targets r + γ·(1 − done)·Q_target(s′, argmax_a Q_online(s′, a)), without gradient.

    繁中：線上網路 ``next_q_online`` (N, A) 選動作，目標網路 ``next_q_target`` (N, A) 評價那個
    動作。其餘與 ``td_targets`` 相同：回傳 (N,)，done 的轉移目標為 r，不帶梯度。
    English: the online network (``next_q_online``, (N, A)) chooses the action, the target
    network (``next_q_target``, (N, A)) values it. Otherwise as ``td_targets``: (N,), r for
    transitions that ended their episode, no gradient.
    """
    keep = 1.0 - dones.to(rewards.dtype)  # (N,)
    choice = next_q_online.detach().argmax(dim=-1, keepdim=True)  # (N, 1) chosen by the online net
    value = next_q_target.detach().gather(-1, choice)[..., 0].to(rewards.dtype)  # (N,) valued by the target net
    return (rewards + gamma * keep * value).detach()


def dqn_loss(q_values, actions, targets, huber=True):
    """The DQN loss between Q(s, a) of the actions taken and the targets (no gradient into targets).

    繁中：``q_values`` (N, A) 是線上網路的輸出，``actions`` (N,) int64 是實際做的動作，
    ``targets`` (N,)。取出 Q(s_i, a_i) 後與目標比較：``huber=True`` 時為 Huber 損失
    （與 ``F.smooth_l1_loss`` 相同，β = 1），否則為均方誤差（``F.mse_loss``），都取平均。
    梯度只流向 ``q_values``：即使 ``targets`` 需要梯度也不能給它。
    English: ``q_values`` (N, A) from the online network, ``actions`` (N,) int64 the actions
    taken, ``targets`` (N,). Q(s_i, a_i) is compared with the targets by the Huber loss
    (``huber=True``; matches ``F.smooth_l1_loss`` with β = 1) or the squared error (matches
    ``F.mse_loss``), averaged. Gradient flows only into ``q_values``, never into ``targets``
    even when they require one.
    """
    q_taken = q_values.gather(-1, actions[:, None])[:, 0]  # (N,)
    targets = targets.detach()
    if huber:
        return F.smooth_l1_loss(q_taken, targets)
    return F.mse_loss(q_taken, targets)
