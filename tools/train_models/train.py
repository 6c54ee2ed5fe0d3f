"""Trains the policy and the process reward model for the toy arithmetic world,
writes both as GGUF files and prints their metrics (scripts/train_models.sh
runs this; models/README.md records what it printed).

    python3 train.py --out DIR [--llama-src DIR] [--smoke]

Everything is seeded (torch, the problem streams, sampling), and the thread
count is fixed, so a run on the same machine type reproduces the files.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

import export_gguf
import vocab
import world
from model import Config, Llama

TAG, GOOD, BAD = "?", "+", "-"  # the PRM's step tag and its two answers


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- data

def policy_example(problem):
    """(tokens, first target index): BOS + prompt + steps + EOS; the loss
    covers the solution and the EOS, not the prompt."""
    p = vocab.encode(world.prompt(problem))
    s = vocab.encode("".join(world.solution_steps(problem)))
    return [vocab.BOS] + p + s + [vocab.EOS], 1 + len(p)


def pad_batch(rows, pad=vocab.EOS):
    T = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (T - len(r)) for r in rows], dtype=torch.long)


def policy_batch(rng, batch):
    level = 1 + rng.randrange(5)  # one level per batch: little padding
    ex = [policy_example(world.random_problem(rng, level)) for _ in range(batch)]
    toks = pad_batch([e[0] for e in ex])
    target = toks[:, 1:].clone()
    for i, (t, start) in enumerate(ex):
        target[i, : start - 1] = -100
        target[i, len(t) - 1:] = -100
    return toks[:, :-1], target


# ---------------------------------------------------------------- sampling

@torch.no_grad()
def generate(model, prompts, rng_torch, temperature, max_new=96):
    """Samples completions of prompts (strings), batched with left padding and
    a KV cache. temperature 0 = greedy. Returns a list of step lists, cut as
    the C++ generator cuts them: a step ends after '\n', or finished at '.',
    or at end-of-generation."""
    model.eval()
    enc = [[vocab.BOS] + vocab.encode(p) for p in prompts]
    B, T0 = len(enc), max(len(e) for e in enc)
    pads = [T0 - len(e) for e in enc]
    toks = torch.tensor([[vocab.EOS] * pads[i] + enc[i] for i in range(B)], dtype=torch.long)
    pos = torch.tensor([[max(0, j - pads[i]) for j in range(T0)] for i in range(B)])
    valid = torch.tensor([[j >= pads[i] for j in range(T0)] for i in range(B)])
    mask = (valid.view(B, 1, 1, T0) & torch.ones(T0, T0, dtype=torch.bool).tril().view(1, 1, T0, T0))
    mask |= torch.eye(T0, dtype=torch.bool).view(1, 1, T0, T0)  # padding attends to itself: finite, never read
    caches = [dict() for _ in model.blocks]
    logits = model(toks, pos, mask, caches)[:, -1]
    next_pos = pos[:, -1] + 1
    out = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(max_new):
        if temperature == 0:
            nxt = logits.argmax(-1)
        else:
            nxt = torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=rng_torch).view(-1)
        for i in range(B):
            if done[i]:
                continue
            t = int(nxt[i])
            if t == vocab.EOS:
                done[i] = True
                continue
            out[i].append(t)
            if vocab.decode([t]) == ".":
                done[i] = True
        if all(done):
            break
        valid = torch.cat((valid, torch.ones(B, 1, dtype=torch.bool)), 1)
        logits = model(nxt.view(B, 1), next_pos.view(B, 1), valid.view(B, 1, 1, -1), caches)[:, -1]
        next_pos = next_pos + 1
    completions = []
    for ids in out:
        text, steps, cur = vocab.decode(ids), [], ""
        for c in text:
            cur += c
            if c == "\n":
                steps.append(cur)
                cur = ""
        if cur:
            steps.append(cur)
        completions.append(steps)
    return completions


def problems_by_level(seed, per_level):
    rng = random.Random(seed)
    return [world.random_problem(rng, level) for level in range(1, 6) for _ in range(per_level)]


def sample_many(model, problems, samples, temperature, seed, chunk=256):
    g = torch.Generator().manual_seed(seed)
    jobs = [(i, p) for i, p in enumerate(problems) for _ in range(samples)]
    out = [[] for _ in problems]
    t0 = time.time()
    for s in range(0, len(jobs), chunk):
        part = jobs[s : s + chunk]
        for (i, _), steps in zip(part, generate(model, [world.prompt(p) for _, p in part], g, temperature)):
            out[i].append(steps)
        done, el = min(len(jobs), s + chunk), time.time() - t0
        if len(jobs) > chunk:
            log(f"  sampled {done}/{len(jobs)} completions (T={temperature:g}), {el:.0f} s elapsed, "
                f"~{el / done * (len(jobs) - done):.0f} s left")
    return out


def pass_at_k(n, c, k):
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - j) / (n - j) for j in range(k))


# ---------------------------------------------------------------- PRM data

def prm_example(problem, steps):
    """One sequence for all of a sample's step labels at once: the path
    (BOS + prompt + steps) followed by one tag token per step. Tag j sits at
    the position right after step j and attends only to the path up to there
    and to itself — exactly what the verifier decodes for that prefix
    (render(prefix) + tag), so K prefixes cost one sequence, not K."""
    labels = world.steps_right(problem, steps)
    path = [vocab.BOS] + vocab.encode(world.prompt(problem))
    ends = []
    for s in steps:
        path += vocab.encode(s)
        ends.append(len(path))
    return path, ends, labels


def prm_batch(examples, tag_id):
    L = max(len(p) + len(e) for p, e, _ in examples)
    B = len(examples)
    toks = torch.full((B, L), vocab.EOS, dtype=torch.long)
    pos = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, 1, L, L, dtype=torch.bool)
    tag_index, tag_label, tag_row = [], [], []
    for b, (path, ends, labels) in enumerate(examples):
        n = len(path)
        toks[b, :n] = torch.tensor(path)
        pos[b, :n] = torch.arange(n)
        mask[b, 0, :n, :n] = torch.ones(n, n, dtype=torch.bool).tril()
        for j, (e, lab) in enumerate(zip(ends, labels)):
            q = n + j
            toks[b, q] = tag_id
            pos[b, q] = e
            mask[b, 0, q, :e] = True
            mask[b, 0, q, q] = True
            tag_row.append(b)
            tag_index.append(q)
            tag_label.append(1.0 if lab else 0.0)
        for q in range(n + len(ends), L):  # padding rows attend to themselves (no NaN)
            mask[b, 0, q, q] = True
    return toks, pos, mask, torch.tensor(tag_row), torch.tensor(tag_index), torch.tensor(tag_label)


def prm_margin(model, batch, good_id, bad_id):
    toks, pos, mask, rows, idx, _ = batch
    logits = model(toks, pos, mask)[rows, idx]
    return logits[:, good_id] - logits[:, bad_id]


def auc(scores, labels):
    """P(score of a random positive > random negative), ties half (Mann-Whitney)."""
    pairs = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + j + 1) / 2.0
        rank_sum += avg_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


# ---------------------------------------------------------------- training

def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def greedy_accuracy(model, problems):
    done = sample_many(model, problems, 1, 0.0, 0)
    return [sum(world.final_answer(done[i][0]) == world.answer(p) for i, p in enumerate(problems) if p["level"] == level)
            / sum(1 for p in problems if p["level"] == level) for level in range(1, 6)]


def train_policy(cfg, steps, batch, seed, peak_lr, probe):
    torch.manual_seed(seed)
    model = Llama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    rng = random.Random(seed)
    t0, seen = time.time(), 0
    for step in range(steps):
        model.train()
        x, y = policy_batch(rng, batch)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, peak_lr, min(200, steps // 10 + 1))
        loss = F.cross_entropy(model(x).reshape(-1, cfg.n_vocab), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seen += x.numel()
        if step % 50 == 0 or step + 1 == steps:
            el = time.time() - t0
            log(f"policy step {step + 1}/{steps}  loss {loss.item():.4f}  {seen / el:.0f} tok/s  "
                f"{el:.0f} s elapsed, ~{el / (step + 1) * (steps - step - 1):.0f} s left")
        if probe and ((step + 1) % 200 == 0 or step + 1 == steps):
            acc = greedy_accuracy(model, probe)
            log(f"  greedy accuracy by level on {len(probe) // 5} probe problems each: "
                + "  ".join(f"L{i + 1} {a:.2f}" for i, a in enumerate(acc)))
    return model


def train_prm(policy, examples, steps, batch, seed, peak_lr, tag_id, good_id, bad_id):
    torch.manual_seed(seed)
    model = Llama(policy.cfg)
    model.load_state_dict(policy.state_dict())  # Math-Shepherd fine-tunes the base LM
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    rng = random.Random(seed)
    t0 = time.time()
    for step in range(steps):
        model.train()
        b = prm_batch([examples[rng.randrange(len(examples))] for _ in range(batch)], tag_id)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, peak_lr, min(100, steps // 10 + 1))
        loss = F.binary_cross_entropy_with_logits(prm_margin(model, b, good_id, bad_id), b[5])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step + 1 == steps:
            el = time.time() - t0
            log(f"prm step {step + 1}/{steps}  loss {loss.item():.4f}  "
                f"{el:.0f} s elapsed, ~{el / (step + 1) * (steps - step - 1):.0f} s left")
    return model


@torch.no_grad()
def prm_scores(model, examples, tag_id, good_id, bad_id, chunk=64):
    model.eval()
    scores, labels, final_scores, final_labels = [], [], [], []
    for s in range(0, len(examples), chunk):
        part = examples[s : s + chunk]
        b = prm_batch(part, tag_id)
        m = prm_margin(model, b, good_id, bad_id).tolist()
        scores += m
        labels += [bool(v) for v in b[5].tolist()]
        k = 0
        for path, ends, labs in part:
            final_scores.append(m[k + len(ends) - 1])
            final_labels.append(labs[-1])
            k += len(ends)
    return scores, labels, final_scores, final_labels


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true", help="a few steps of each stage (CI): checks the pipeline, not the models")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--policy-steps", type=int, default=1000)
    ap.add_argument("--prm-steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--resume-policy", help="a policy.pt from an earlier run: skip policy training")
    ap.add_argument("--eval-per-level", type=int, default=200)
    ap.add_argument("--pass-problems-per-level", type=int, default=40)
    ap.add_argument("--prm-train-problems", type=int, default=3000)
    ap.add_argument("--prm-heldout-problems", type=int, default=500)
    ap.add_argument("--prm-samples", type=int, default=2)
    a = ap.parse_args()
    if a.smoke:
        a.policy_steps, a.prm_steps, a.batch = 3, 2, 8
        a.eval_per_level, a.pass_problems_per_level = 2, 1
        a.prm_train_problems, a.prm_heldout_problems = 10, 10
    torch.set_num_threads(a.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(a.out, exist_ok=True)
    started = time.time()
    cfg = Config(n_vocab=vocab.N_VOCAB)
    metrics = {"config": cfg.__dict__ | {"head_dim": cfg.head_dim}, "seed": a.seed, "threads": a.threads,
               "policy_steps": a.policy_steps, "prm_steps": a.prm_steps, "batch": a.batch}

    log(f"== policy: {Llama(cfg).parameter_count()} parameters, {a.policy_steps} steps of {a.batch} problems")
    resumed_metrics = None
    if a.resume_policy:
        policy = Llama(cfg)
        policy.load_state_dict(torch.load(a.resume_policy))
        earlier = os.path.join(os.path.dirname(os.path.abspath(a.resume_policy)), "metrics.json")
        if os.path.exists(earlier):
            with open(earlier) as f:
                resumed_metrics = json.load(f)
    else:
        probe = [] if a.smoke else problems_by_level(a.seed + 11, 40)
        policy = train_policy(cfg, a.policy_steps, a.batch, a.seed, 3e-3, probe)
        torch.save(policy.state_dict(), os.path.join(a.out, "policy.pt"))
    metrics["policy_parameters"] = policy.parameter_count()
    metrics["policy_train_seconds"] = round(time.time() - started)

    if resumed_metrics and "policy" in resumed_metrics:
        log("== policy metrics from the resumed run's metrics.json")
        for key in ("policy", "policy_parameters", "policy_train_seconds", "policy_steps"):
            metrics[key] = resumed_metrics.get(key)
    else:
        evaluate_policy(policy, a, metrics)

    prm_stage(policy, a, metrics, started)


def evaluate_policy(policy, a, metrics):
    log("== policy evaluation on held-out problems (not the training stream's seed)")
    heldout = problems_by_level(a.seed + 1, a.eval_per_level)
    greedy = sample_many(policy, heldout, 1, 0.0, a.seed + 2)
    sampled = sample_many(policy, heldout, 1, 1.0, a.seed + 3)
    per_level = {}
    for level in range(1, 6):
        idx = [i for i, p in enumerate(heldout) if p["level"] == level]
        g = sum(world.final_answer(greedy[i][0]) == world.answer(heldout[i]) for i in idx) / len(idx)
        s = sum(world.final_answer(sampled[i][0]) == world.answer(heldout[i]) for i in idx) / len(idx)
        per_level[level] = {"greedy": g, "sample_t1": s}
    pass_problems = problems_by_level(a.seed + 4, a.pass_problems_per_level)
    n = 64
    many = sample_many(policy, pass_problems, n, 1.0, a.seed + 5)
    for level in range(1, 6):
        idx = [i for i, p in enumerate(pass_problems) if p["level"] == level]
        cs = [sum(world.final_answer(s) == world.answer(pass_problems[i]) for s in many[i]) for i in idx]
        distinct = [len({world.final_answer(s) for s in many[i]}) for i in idx]
        per_level[level]["pass@1"] = sum(pass_at_k(n, c, 1) for c in cs) / len(cs)
        per_level[level]["pass@64"] = sum(pass_at_k(n, c, 64) for c in cs) / len(cs)
        per_level[level]["distinct_answers_of_64"] = sum(distinct) / len(distinct)
    metrics["policy"] = per_level
    for level, m in per_level.items():
        log(f"level {level}: greedy {m['greedy']:.3f}  T=1 sample {m['sample_t1']:.3f}  pass@1 {m['pass@1']:.3f}  "
            f"pass@64 {m['pass@64']:.3f}  distinct answers in 64 samples {m['distinct_answers_of_64']:.1f}")



def prm_stage(policy, a, metrics, started):
    log("== PRM data: the policy's own samples at T=1, labels exact (every step so far right)")
    tag_id, good_id, bad_id = (vocab.encode(c)[0] for c in (TAG, GOOD, BAD))
    train_problems = problems_by_level(a.seed + 6, a.prm_train_problems // 5)
    train_samples = sample_many(policy, train_problems, a.prm_samples, 1.0, a.seed + 7)
    examples = [prm_example(p, s) for p, ss in zip(train_problems, train_samples) for s in ss if s]
    # Beside the policy's samples, each problem's right solution: wherever a
    # sample's first mistake is, the right step with the same prefix is in the
    # data too, so the labels can only be told apart by checking the step —
    # without these pairs a PRM learns how likely a mistake is at that point
    # (problem difficulty, step index) and scores a wrong step like the right one.
    examples += [prm_example(p, world.solution_steps(p)) for p in train_problems]
    n_steps = sum(len(e[2]) for e in examples)
    n_good = sum(sum(e[2]) for e in examples)
    log(f"{len(examples)} sequences ({len(train_problems)} of them right solutions), {n_steps} step labels, "
        f"{n_steps - n_good} bad")
    metrics["prm_train"] = {"sequences": len(examples), "right_solutions": len(train_problems),
                            "step_labels": n_steps, "bad_labels": n_steps - n_good}

    prm = train_prm(policy, examples, a.prm_steps, max(8, a.batch // 2), a.seed + 8, 1.5e-3, tag_id, good_id, bad_id)
    torch.save(prm.state_dict(), os.path.join(a.out, "prm.pt"))
    heldout_problems = problems_by_level(a.seed + 9, a.prm_heldout_problems // 5)
    heldout_samples = sample_many(policy, heldout_problems, 1, 1.0, a.seed + 10)
    held = [prm_example(p, s[0]) for p, s in zip(heldout_problems, heldout_samples) if s[0]]
    sc, lb, fsc, flb = prm_scores(prm, held, tag_id, good_id, bad_id)
    # What a search needs: telling a wrong step from the right one after the
    # same prefix. For every held-out sample's first mistake, the pair (right
    # step, the policy's wrong step) after the same right prefix.
    pairs = []
    for p, ss in zip(heldout_problems, heldout_samples):
        labels = world.steps_right(p, ss[0])
        truth = world.solution_steps(p)
        if False in labels and labels.index(False) < len(truth):
            k = labels.index(False)
            pairs.append((prm_example(p, truth[: k + 1]), prm_example(p, ss[0][: k + 1])))
    right_last = prm_scores(prm, [a for a, _ in pairs], tag_id, good_id, bad_id)[2] if pairs else []
    wrong_last = prm_scores(prm, [b for _, b in pairs], tag_id, good_id, bad_id)[2] if pairs else []
    sibling = sum((r > w) + 0.5 * (r == w) for r, w in zip(right_last, wrong_last)) / max(1, len(pairs))
    metrics["prm"] = {"heldout_samples": len(held), "step_labels": len(lb), "bad_labels": len(lb) - sum(lb),
                      "step_auc": auc(sc, lb), "outcome_auc": auc(fsc, flb),
                      "sibling_pairs": len(pairs), "sibling_accuracy": sibling}
    log(f"PRM on {len(held)} held-out policy samples: step AUC {metrics['prm']['step_auc']:.3f} "
        f"({len(lb)} prefixes, {len(lb) - sum(lb)} bad), outcome AUC {metrics['prm']['outcome_auc']:.3f}, "
        f"right step above the policy's wrong step after the same prefix in {sibling:.3f} of {len(pairs)} pairs")

    export_gguf.write(policy, os.path.join(a.out, "arithmetic-policy.gguf"), "ttscale arithmetic policy",
                      "Character-level LLaMA trained on the toy arithmetic world's compact notation (ttscale tools/train_models).")
    export_gguf.write(prm, os.path.join(a.out, "arithmetic-prm.gguf"), "ttscale arithmetic PRM",
                      f"Math-Shepherd-style PRM: after a step and the tag '{TAG}', '{GOOD}' if every step so far is right, else '{BAD}'.")
    metrics["total_seconds"] = round(time.time() - started)
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    log(f"== wrote {a.out}/arithmetic-policy.gguf, arithmetic-prm.gguf, metrics.json in {metrics['total_seconds']} s")


if __name__ == "__main__":
    main()
