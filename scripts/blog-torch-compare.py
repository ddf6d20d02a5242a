#!/usr/bin/env python3
"""
The blog's model (Karpathy's "GPT from scratch", as in its nanoGPT_annotated/nano_gpt.py)
in PyTorch, loaded with the initial weights this project wrote, checked against this
project's logits, loss and gradients for the same batch (dropout off).

    npx tsx scripts/blog-torch-export.ts /tmp/blog-cmp small
    /usr/bin/python3 scripts/blog-torch-compare.py /tmp/blog-cmp

Needs PyTorch (Debian: apt-get install python3-torch). Optional; not part of the test suite.
Prints the largest absolute and relative differences; exits 1 if they exceed the tolerances.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


def read_ckpt(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<I", raw[:4])
    header = json.loads(raw[4 : 4 + n].decode("utf-8"))
    data = np.frombuffer(raw, dtype="<f4", offset=4 + n)
    out = {}
    for t in header["tensors"]:
        out[t["name"]] = data[t["offset"] : t["offset"] + t["length"]].reshape(t["shape"]).copy()
    return header, out


class Head(nn.Module):
    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        wei = self.dropout(wei)
        v = self.value(x)
        return wei @ v


class MultiHeadAttention(nn.Module):
    def __init__(self, n_embd, num_heads, block_size, dropout):
        super().__init__()
        hs = n_embd // num_heads
        self.heads = nn.ModuleList([Head(n_embd, hs, block_size, dropout) for _ in range(num_heads)])
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))


class FeedForward(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size, dropout):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
        x = self.blocks(x)
        logits = self.lm_head(self.ln_f(x))
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


def mapping(cfg):
    """(torch parameter name, project tensor name, function project array -> torch array)."""
    d, H, L = cfg["d_model"], cfg["n_heads"], cfg["n_layers"]
    hs = d // H
    m = [
        ("token_embedding_table.weight", "wte", lambda a: a),
        ("position_embedding_table.weight", "wpe", lambda a: a),
        ("ln_f.weight", "ln_f.weight", lambda a: a),
        ("ln_f.bias", "ln_f.bias", lambda a: a),
        ("lm_head.weight", "lm_head.weight", lambda a: a),  # both [V, d]
        ("lm_head.bias", "lm_head.bias", lambda a: a),
    ]
    for l in range(L):
        p, t = f"h.{l}.", f"blocks.{l}."
        for h in range(H):
            # c_attn [d, 3d], columns q | k | v, head h at h·hs within each
            for j, which in enumerate(["query", "key", "value"]):
                c0 = j * d + h * hs
                m.append((f"{t}sa.heads.{h}.{which}.weight", p + "attn.c_attn.weight", lambda a, c0=c0: a[:, c0 : c0 + hs].T))
        m += [
            (t + "sa.proj.weight", p + "attn.c_proj.weight", lambda a: a.T),
            (t + "sa.proj.bias", p + "attn.c_proj.bias", lambda a: a),
            (t + "ffwd.net.0.weight", p + "mlp.c_fc.weight", lambda a: a.T),
            (t + "ffwd.net.0.bias", p + "mlp.c_fc.bias", lambda a: a),
            (t + "ffwd.net.2.weight", p + "mlp.c_proj.weight", lambda a: a.T),
            (t + "ffwd.net.2.bias", p + "mlp.c_proj.bias", lambda a: a),
            (t + "ln1.weight", p + "ln_1.weight", lambda a: a),
            (t + "ln1.bias", p + "ln_1.bias", lambda a: a),
            (t + "ln2.weight", p + "ln_2.weight", lambda a: a),
            (t + "ln2.bias", p + "ln_2.bias", lambda a: a),
        ]
    return m


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    header, T = read_ckpt(sys.argv[1].rstrip("/") + "/checkpoints/latest.ckpt")
    cfg = header["extra"]["model"]
    torch.manual_seed(0)
    model = GPTLanguageModel(cfg["vocab_size"], cfg["d_model"], cfg["n_heads"], cfg["n_layers"], cfg["context"], cfg["dropout"])
    model.eval()  # dropout off, as in the exported pass
    params = dict(model.named_parameters())
    m = mapping(cfg)
    assert sorted(p for p, _, _ in m) == sorted(params), "parameter names differ from the blog's model"
    n_torch = sum(p.numel() for p in params.values())
    n_proj = sum(a.size for k, a in T.items() if k.startswith("param/"))
    with torch.no_grad():
        for tname, pname, f in m:
            params[tname].copy_(torch.from_numpy(np.ascontiguousarray(f(T["param/" + pname]))))
    idx = torch.from_numpy(T["data/idx"].astype(np.int64))
    tgt = torch.from_numpy(T["data/targets"].astype(np.int64))
    logits, loss = model(idx, tgt)
    loss.backward()

    def diff(a, b):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return float(np.max(np.abs(a - b))), float(np.max(np.abs(b)))

    print(f"parameters: torch {n_torch:,}, project {n_proj:,}")
    dl, sl = diff(logits.detach().numpy(), T["out/logits"])
    print(f"logits: max |diff| {dl:.3e} (max |logit| {sl:.3f})")
    ll = abs(loss.item() - float(T["out/loss"][0]))
    print(f"loss: torch {loss.item():.7f}, project {float(T['out/loss'][0]):.7f}, |diff| {ll:.3e}")
    worst, worst_rel, worst_name = 0.0, 0.0, ""
    for tname, pname, f in m:
        g_proj = f(T["grad/" + pname])
        d, s = diff(params[tname].grad.numpy(), g_proj)
        rel = d / max(s, 1e-12)
        if d > worst:
            worst, worst_name = d, tname
        worst_rel = max(worst_rel, rel)
    print(f"gradients: max |diff| {worst:.3e} (at {worst_name}); max |diff| / max |grad| per tensor {worst_rel:.3e}")
    ok = n_torch == n_proj and dl < 1e-3 and ll < 1e-4 and worst_rel < 1e-3
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
