"""CartPole episodes stepped by the judge: shared by the public and the hidden checks.

Everything here runs in the judge, on a policy it rebuilt from torch's own layers
(``rebuild_sequential``): no student code runs while these returns are measured."""

import torch

from leedl_grader.authoring.checks import CheckFailed

CURVE_SNAPSHOTS = 16  # the training curve: about 16 (at most 32) copies of the weights during training
CURVE_EPISODES = 8  # episodes per copy, with the grader's environment seeds


def episode_returns(policy, seeds, sample=None):
    """The return of one episode per environment seed: the action of the largest logit at every
    step (greedy), or, with ``sample`` (a ``torch.Generator``), an action drawn from the
    policy's softmax, as during training.

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
            logits = policy(states)  # (R, 2)
            if sample is None:
                actions = logits.argmax(-1).tolist()
            else:
                actions = torch.multinomial(logits.double().softmax(-1), 1, generator=sample)[:, 0].tolist()
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


def greedy_returns(policy, seeds):
    """The return of one greedy episode per environment seed (see :func:`episode_returns`)."""
    return episode_returns(policy, seeds)


def training_curve(model, rebuild, generator, title):
    """The return during training, measured by the judge: every copy of the weights the training
    sandbox took (``model.snapshots``, at evenly spaced optimizer steps) is rebuilt here and
    played for CURVE_EPISODES episodes with the grader's seeds, actions sampled from the policy
    (as while training) and greedy (as when graded). None when training took no optimizer step
    (no torch optimizer) or a copy cannot be rebuilt: the plot then shows the graded episodes."""
    if not model.snapshots:
        return None
    seeds = torch.randint(0, 2**31 - 1, (CURVE_EPISODES,), generator=generator).tolist()
    steps, sampled, greedy = [], [], []
    for step, state in model.snapshots:
        try:
            policy = rebuild(model.at(state))
        except CheckFailed:  # weights that do not fit the layers: no picture (never a grade)
            return None
        steps.append(step)
        sampled.append(sum(episode_returns(policy, seeds, sample=generator)) / len(seeds))
        greedy.append(sum(episode_returns(policy, seeds)) / len(seeds))
    return {"x": steps, "xlabel": "optimizer step of the training run",
            "series": {f"return, sampled actions (mean of {len(seeds)})": sampled,
                       f"return, greedy (mean of {len(seeds)})": greedy},
            "title": f"{title}: return during training, replayed by the grader"}
