"""Picks and prints the outputs tests/llama_cpp/trained_models_test.cpp checks:
a problem whose greedy completion by the policy is decided by a wide margin at
every token (so llama.cpp on any CPU reproduces it exactly, not only PyTorch),
and a right and a wrong step for the PRM.

    python3 record.py DIR        (DIR holds policy.pt and prm.pt from train.py)
"""
import random
import sys

import torch
import torch.nn.functional as F

import train
import vocab
import world
from model import Config, Llama


@torch.no_grad()
def greedy_with_margin(model, prompt, max_new=96):
    ids = [vocab.BOS] + vocab.encode(prompt)
    out, margin = [], float("inf")
    for _ in range(max_new):
        logits = model(torch.tensor([ids + out]))[0, -1]
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        t = int(logits.argmax())
        if t == vocab.EOS:
            break
        out.append(t)
        if vocab.decode([t]) == ".":
            break
    return vocab.decode(out), margin


def main():
    d = sys.argv[1]
    cfg = Config(n_vocab=vocab.N_VOCAB)
    policy, prm = Llama(cfg), Llama(cfg)
    policy.load_state_dict(torch.load(d + "/policy.pt"))
    prm.load_state_dict(torch.load(d + "/prm.pt"))
    policy.eval()
    prm.eval()
    rng = random.Random(7)
    for _ in range(200):
        p = world.random_problem(rng, 3)
        text, margin = greedy_with_margin(policy, world.prompt(p))
        right = "".join(world.solution_steps(p))
        if text == right and margin > 1.0:
            break
    print("prompt", repr(world.prompt(p)), "greedy", repr(text), "right", text == right, "min margin", round(margin, 2))
    # A wrong step the policy itself wrote (sampled at T=1), after right steps,
    # against the right step in its place: of the pairs from 100 level-3
    # problems, the one the PRM separates most widely (it ranks the right step
    # first in only ~58% of such pairs: models/README.md).
    tag_id, good_id, bad_id = (vocab.encode(c)[0] for c in (train.TAG, train.GOOD, train.BAD))

    def score(problem, steps):
        ex = train.prm_example(problem, steps)
        return float(torch.sigmoid(train.prm_margin(prm, train.prm_batch([ex], tag_id), good_id, bad_id)[-1]))

    problems = [world.random_problem(rng, 3) for _ in range(100)]
    samples = train.sample_many(policy, problems, 4, 1.0, 11)
    best = None
    for q, ss in zip(problems, samples):
        truth = world.solution_steps(q)
        for s in ss:
            labels = world.steps_right(q, s)
            if False not in labels or labels.index(False) >= len(truth):
                continue
            k = labels.index(False)
            right, wrong = score(q, truth[: k + 1]), score(q, s[: k + 1])
            if best is None or right - wrong > best[0]:
                best = (right - wrong, q, truth[: k + 1], s[: k + 1], right, wrong)
    gap, q, right_steps, wrong_steps, right, wrong = best
    print("PRM prompt", repr(world.prompt(q)), "widest gap", round(gap, 4))
    print("right", right_steps, "score", round(right, 4))
    print("wrong", wrong_steps, "score", round(wrong, 4))

if __name__ == "__main__":
    main()
