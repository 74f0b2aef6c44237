"""Policy gradient: REINFORCE, actor-critic, and a policy that balances a pole.

策略梯度（筆記第七章只有標題；以下依原始論文說明）。策略網路 π(a|s) 輸出每個動作的機率；
REINFORCE（Williams, "Simple Statistical Gradient-Following Algorithms for Connectionist
Reinforcement Learning", Machine Learning 1992）沿著 E[∇log π(a|s)·(G − b)] 更新：回報 G 高於
基準 b 的動作機率提高，低於的降低。基準 b 只用來降低變異數，不能讓梯度流進它。演員–評論家
（actor-critic；Mnih et al., "Asynchronous Methods for Deep Reinforcement Learning", ICML 2016）
用評論家的 V(s) 當基準，優勢 G − V(s) 告訴演員這個動作比平均好多少，評論家則以均方誤差學 V ≈ G。
Policy gradient (chapter 7 of the notes has only its heading; this follows the papers). A policy
network π(a|s) gives each action a probability. REINFORCE (Williams, Machine Learning 1992)
follows E[∇log π(a|s)·(G − b)]: actions whose return G beats the baseline b become more likely,
the others less. The baseline only lowers the variance; no gradient may flow into it.
Actor-critic (Mnih et al., "Asynchronous Methods for Deep Reinforcement Learning", ICML 2016)
takes the critic's V(s) as the baseline: the advantage G − V(s) tells the actor how much better
than usual the action was, and the critic learns V ≈ G by mean squared error.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .returns import discounted_returns

GAMMA = 0.99
LR = 1e-2
HIDDEN = 32
EPISODES_PER_UPDATE = 8
MAX_UPDATES = 150


def reinforce_loss(log_probs, returns, baseline=None):
    """REINFORCE's loss −mean(log π(a_t|s_t)·(G_t − b_t)); the baseline gets no gradient.

    繁中：``log_probs``（所選動作的 log 機率）、``returns``、``baseline`` 形狀相同（例如 (T,)），
    ``baseline`` 可為 ``None``（視為 0）。回傳純量；它的梯度就是策略梯度的估計（取負號是因為
    優化器做的是梯度下降）。梯度只流向 ``log_probs``：基準（例如評論家的 V(s)）即使需要梯度，
    也不能從這個損失得到梯度；回報是資料，也不需要梯度。
    English: ``log_probs`` (of the actions taken), ``returns`` and ``baseline`` share a shape
    (e.g. (T,)); ``baseline`` may be ``None`` (zero). Returns a scalar whose gradient is the
    policy-gradient estimate (negated, since optimizers descend). Gradient flows only into
    ``log_probs``: the baseline (a critic's V(s), say) gets none from this loss even when it
    requires one, and the returns are data.
    """
    weight = returns if baseline is None else returns - baseline.detach()
    return -(log_probs * weight.detach()).mean()


def actor_critic_loss(log_probs, values, returns, value_coef=0.5, entropy=None, entropy_coef=0.0):
    """The actor-critic loss: policy term + value_coef·MSE(V, G) − entropy_coef·mean entropy.

    繁中：策略項為 −mean(log π·A)，優勢 A = G − V 視為常數（不帶梯度）：評論家只由價值項
    value_coef·mean((V − G)²) 訓練，策略項不能把梯度送進評論家。``entropy``（每一步策略的熵，
    可為 ``None``）乘上 ``entropy_coef`` 後「減掉」：熵越大損失越小，鼓勵探索。``log_probs``、
    ``values``、``returns``、``entropy`` 形狀相同；回傳純量。
    English: the policy term is −mean(log π·A) with the advantage A = G − V held constant (no
    gradient): the critic learns only from the value term value_coef·mean((V − G)²), and the
    policy term sends nothing into it. ``entropy`` (the policy's entropy at each step, or
    ``None``) times ``entropy_coef`` is subtracted: more entropy, lower loss, more exploration.
    ``log_probs``, ``values``, ``returns`` and ``entropy`` share a shape; returns a scalar.
    """
    advantage = (returns - values).detach()
    loss = -(log_probs * advantage).mean() + value_coef * F.mse_loss(values, returns.detach())
    if entropy is not None:
        loss = loss - entropy_coef * entropy.mean()
    return loss


def _run_episode(env, weights, rng, seed=None):
    """One episode with actions sampled from the policy; (states (T, 4), actions (T,), rewards (T,)).

    The rollout evaluates the two-layer policy in numpy from a copy of its weights: stepping the
    environment one state at a time, numpy is about ten times cheaper per call than torch."""
    import numpy as np

    w1, b1, w2, b2 = weights
    obs, _ = env.reset(seed=seed)
    states, actions = [], []
    done = False
    while not done:
        logits = w2 @ np.tanh(w1 @ obs + b1) + b2  # (2,)
        p_right = 1.0 / (1.0 + math.exp(float(logits[0] - logits[1])))  # softmax of two logits
        a = int(rng.random() < p_right)
        states.append(obs)
        actions.append(a)
        obs, _, terminated, truncated, _ = env.step(a)
        done = terminated or truncated
    rewards = torch.ones(len(actions))  # CartPole pays 1 for every step the pole stays up
    return torch.as_tensor(np.array(states), dtype=torch.float32), torch.tensor(actions), rewards




def train_cartpole(seed=0):
    """Train a policy for gymnasium's ``CartPole-v1``; return it as an ``nn.Sequential``.

    繁中：回傳的策略網路必須是只由 ``nn.Linear``、``nn.ReLU``、``nn.Tanh`` 組成的
    ``nn.Sequential``：輸入 4 維狀態（float32），輸出 2 個動作的 logits。評分程式只取回各層的
    種類與權重，在沙盒外自己重建這個網路，用自己選的環境種子跑 20 個「貪婪」回合（每步取
    logits 最大的動作）：平均回報 ≥ 475 滿分（滿分 500），100 到 475 之間依比例給分。
    訓練時可以在沙盒裡使用 ``gymnasium.make("CartPole-v1")``；要在單一 CPU 執行緒上 60 秒內
    完成（參考解約 5 秒）；所有隨機性由 ``seed`` 決定。參考解使用 REINFORCE 加基準。
    English: the policy must be an ``nn.Sequential`` made only of ``nn.Linear``, ``nn.ReLU``
    and ``nn.Tanh`` layers: 4 state features in (float32), 2 action logits out. The grader
    takes back only the layers' kinds and weights, rebuilds the network itself outside the
    sandbox and runs 20 greedy episodes (the action of the largest logit at every step) with
    environment seeds of its own: full points at a mean return ≥ 475 (of 500), proportional
    credit from 100. Train with ``gymnasium.make("CartPole-v1")`` inside the sandbox, within
    60 s on one CPU thread (the reference takes about 5 s); all randomness comes from ``seed``.
    The reference uses REINFORCE with a baseline.
    """
    import gymnasium as gym
    import numpy as np

    torch.manual_seed(seed)  # the initial weights
    rng = np.random.default_rng(seed)  # the sampled actions
    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=LR)
    episode = 0
    for _ in range(MAX_UPDATES):
        weights = [p.detach().double().numpy() for p in policy.parameters()]  # w1, b1, w2, b2
        batch = []
        for _ in range(EPISODES_PER_UPDATE):
            episode += 1
            batch.append(_run_episode(env, weights, rng, seed=seed * 100_000 + episode))
        if min(len(r) for _, _, r in batch) >= 500:  # every sampled episode ran to the time limit
            break
        states = torch.cat([s for s, _, _ in batch])  # (ΣT, 4)
        actions = torch.cat([a for _, a, _ in batch])  # (ΣT,)
        returns = torch.cat([discounted_returns(r, GAMMA) for _, _, r in batch])  # (ΣT,)
        log_probs = F.log_softmax(policy(states), dim=-1).gather(1, actions[:, None])[:, 0]  # (ΣT,)
        # the batch's mean return as the baseline, and the scale of the advantages normalised
        baseline = torch.full_like(returns, float(returns.mean()))
        loss = reinforce_loss(log_probs, returns / (returns.std() + 1e-8), baseline / (returns.std() + 1e-8))
        opt.zero_grad()
        loss.backward()
        opt.step()
    env.close()
    return policy
