"""A LLaMA-architecture transformer in plain PyTorch, written so its weights map
one to one onto llama.cpp's LLaMA tensors (src/models/llama.cpp at the fetched
commit): RMSNorm, rotary embeddings in llama.cpp's NORM mode (adjacent pairs
(x[2i], x[2i+1]) rotated by pos * base^(-2i/head_dim), so no permutation of
the Q/K rows is needed, unlike Hugging Face checkpoints), grouped-query
attention scaled by 1/sqrt(head_dim), SwiGLU feed-forward
down(silu(gate(x)) * up(x)), a final RMSNorm and an untied output matrix."""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    n_vocab: int
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_head_kv: int = 4
    n_ff: int = 352
    n_ctx: int = 256
    rope_base: float = 10000.0
    rms_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, positions):
    """cos/sin for positions (any shape) -> (..., head_dim/2)."""
    inv = cfg.rope_base ** (-torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim)
    ang = positions.to(torch.float32).unsqueeze(-1) * inv
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    """x: (B, H, T, D); cos/sin: (B, 1, T, D/2). NORM mode: adjacent pairs."""
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.n_embd, cfg.head_dim
        self.cfg = cfg
        self.attn_norm = RMSNorm(d, cfg.rms_eps)
        self.q = nn.Linear(d, cfg.n_head * hd, bias=False)
        self.k = nn.Linear(d, cfg.n_head_kv * hd, bias=False)
        self.v = nn.Linear(d, cfg.n_head_kv * hd, bias=False)
        self.o = nn.Linear(cfg.n_head * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg.rms_eps)
        self.gate = nn.Linear(d, cfg.n_ff, bias=False)
        self.up = nn.Linear(d, cfg.n_ff, bias=False)
        self.down = nn.Linear(cfg.n_ff, d, bias=False)

    def forward(self, x, cos, sin, mask, cache=None):
        cfg = self.cfg
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(B, T, cfg.n_head, cfg.head_dim).transpose(1, 2)
        k = self.k(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        v = self.v(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        rep = cfg.n_head // cfg.n_head_kv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(cfg.head_dim)
        att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        x = x + self.o(y.transpose(1, 2).reshape(B, T, -1))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.output = nn.Linear(cfg.n_embd, cfg.n_vocab, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
        for b in self.blocks:  # residual projections scaled down with depth (GPT-2)
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, tokens, positions=None, mask=None, caches=None):
        """tokens (B, T). positions (B, T) default 0..T-1. mask (B, 1, T, S)
        bool, True = may attend; default causal. caches: list per layer (dicts)
        for incremental decoding."""
        B, T = tokens.shape
        past = 0 if not caches or "k" not in caches[0] else caches[0]["k"].shape[2]
        if positions is None:
            positions = torch.arange(past, past + T).unsqueeze(0).expand(B, T)
        if mask is None:
            S = past + T
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=past).view(1, 1, T, S)
        cos, sin = rope_tables(self.cfg, positions)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        x = self.embed(tokens)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, mask, None if caches is None else caches[i])
        return self.output(self.norm(x))

    def parameter_count(self):
        return sum(p.numel() for p in self.parameters())
