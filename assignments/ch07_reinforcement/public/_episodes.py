"""Greedy CartPole episodes stepped by the judge: shared by the public and the hidden checks."""

import torch


def greedy_returns(policy, seeds):
    """The return of one greedy episode (the action of the largest logit) per environment seed.

    The episodes run side by side, one environment each, so that the policy is called once per
    time step on a batch of states instead of once per state."""
    import gymnasium as gym
    import numpy as np

    envs = [gym.make("CartPole-v1") for _ in seeds]
    obs = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]
    returns = [0.0] * len(envs)
    running = list(range(len(envs)))
    with torch.no_grad():
        while running:
            states = torch.as_tensor(np.stack([obs[i] for i in running]), dtype=torch.float32)  # (R, 4)
            actions = policy(states).argmax(-1).tolist()
            still = []
            for i, a in zip(running, actions):
                obs[i], r, terminated, truncated, _ = envs[i].step(int(a))
                returns[i] += float(r)
                if not (terminated or truncated):
                    still.append(i)
            running = still
    for env in envs:
        env.close()
    return returns
