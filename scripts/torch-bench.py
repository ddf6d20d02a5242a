#!/usr/bin/env python3
"""
PyTorch-CPU reference for `chinchilla bench`: times training steps of the same
nanoGPT-style model (pre-LN blocks, fused c_attn, causal softmax attention,
tanh-GELU MLP, tied head, AdamW + global-norm clipping) on random tokens.

    apt-get install python3-torch        # Debian's PyTorch 1.13 (CPU, OpenBLAS)
    /usr/bin/python3 scripts/torch-bench.py --model configs/models/786k.json --vocab 256 --batch 32

Prints one JSON line like `chinchilla bench --json` (ms_per_step = median of the
timed steps, tokens_per_s from it). --threads defaults to every core.
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, h, d_ff, T):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, d_ff)
        self.mlp_proj = nn.Linear(d_ff, d)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, T, d, L, h, d_ff):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Embedding(T, d)
        self.blocks = nn.ModuleList([Block(d, h, d_ff, T) for _ in range(L)])
        self.ln_f = nn.LayerNorm(d)
        self.apply(lambda m: nn.init.normal_(m.weight, 0.0, 0.02) if isinstance(m, (nn.Linear, nn.Embedding)) else None)

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="configs/models/786k.json", help="model config JSON (context, d_model, n_layers, n_heads[, d_ff])")
    ap.add_argument("--vocab", type=int, default=256, help="vocabulary size (256 = --tokenizer byte, 50257 = gpt2)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    ap.add_argument("--warmup-steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    with open(a.model) as f:
        c = json.load(f)
    T, d, L, h = c["context"], c["d_model"], c["n_layers"], c["n_heads"]
    V = c.get("vocab_size", a.vocab)
    model = GPT(V, T, d, L, h, c.get("d_ff", 4 * d))
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "wte" not in n and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "wte" not in n and "wpe" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=3e-4, betas=(0.9, 0.95))
    times = []
    for i in range(a.warmup_steps + a.steps):
        x = torch.randint(0, V, (a.batch, T + 1))
        t0 = time.perf_counter()
        loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        if i >= a.warmup_steps:
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    print(json.dumps({
        "backend": f"pytorch {torch.__version__} cpu", "threads": torch.get_num_threads(),
        "params_total": sum(p.numel() for p in model.parameters()), "vocab": V, "batch": a.batch, "context": T,
        "steps": a.steps, "ms_per_step": round(ms, 1), "ms_per_step_min": round(min(times) * 1000, 1),
        "tokens_per_s": round(a.batch * T / (ms / 1000)),
    }))


if __name__ == "__main__":
    main()
