#!/usr/bin/env python3
"""PyTorch reference of chinchilla-lab's GPT (src/model/gpt.ts), independent of tfjs.

Needs only PyTorch (Debian: apt-get install python3-torch; run it with /usr/bin/python3).
safetensors files are parsed by hand (8-byte little-endian header length, JSON
header, raw little-endian data) because Debian packages neither `safetensors`
nor `transformers`.

Modes:

  golden CASE_DIR
      Reads CASE_DIR/config.json (model config + a fixed batch) and our checkpoint
      CASE_DIR/checkpoints/latest.safetensors, runs the model in float64 and writes
      CASE_DIR/reference.safetensors: logits [B, T, V], loss [1] and the gradient
      of the loss for every parameter (grad/<name>), all from PyTorch autograd.

  hf HF_DIR CASE_DIR|RUN_DIR
      Loads a `chinchilla export --format hf` folder (config.json + model.safetensors
      under GPT-2's parameter names, Conv1D [in, out] layout) into a second model
      written the way transformers' GPT2LMHeadModel computes (c_attn split into
      q, k, v; gelu_new; layer_norm_epsilon; lm_head tied unless
      tie_word_embeddings is false), runs CASE_DIR's batch and prints the largest
      differences of logits and loss against our model run from CASE_DIR's checkpoint
      (a run folder works too: its run.json gives the model and a fixed batch is made up).
      Exits 1 if they differ by more than 1e-4.
"""
import json
import math
import struct
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I32": (torch.int32, 4)}


def read_safetensors(path):
    """-> (dict name -> tensor, metadata dict)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        dtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=dtype) if end > b else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def write_safetensors(path, tensors, metadata):
    """tensors: dict name -> (dtype string, tensor). Offsets contiguous, header padded to 8."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, (dt, t) in tensors.items():
        torch_dt, size = DTYPES[dt]
        b = t.detach().to(torch_dt).contiguous().numpy().astype("<" + {"F32": "f4", "F64": "f8", "I32": "i4"}[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- our GPT, as in src/model/gpt.ts (weights [in, out]: y = x @ W + b) ---------------------------

def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance, as PyTorch's LayerNorm
    y = (x - mu) / torch.sqrt(var + eps) * g
    return y + b if b is not None else y


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def ours_forward(p, cfg, idx):
    """Logits [B, T, V] of our GPT; p maps nanoGPT names ('wte', 'h.0.attn.c_attn.weight', ...) to tensors."""
    B, T = idx.shape
    d, H = cfg["d_model"], cfg["n_heads"]
    hd = d // H
    get = lambda n: p.get(n)
    lin = lambda x, w, b: x @ p[w] + (p[b] if b in p else 0)
    x = p["wte"][idx] + p["wpe"][:T]  # [B, T, d]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(cfg["n_layers"]):
        h = f"h.{l}."
        a = layer_norm(x, p[h + "ln_1.weight"], get(h + "ln_1.bias"))
        qkv = lin(a, h + "attn.c_attn.weight", h + "attn.c_attn.bias")  # [B, T, 3d]
        q, k, v = (t.reshape(B, T, H, hd).transpose(1, 2) for t in qkv.split(d, dim=-1))  # [B, H, T, hd]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = torch.softmax(s.masked_fill(mask, float("-inf")), -1) @ v  # [B, H, T, hd]
        x = x + lin(att.transpose(1, 2).reshape(B, T, d), h + "attn.c_proj.weight", h + "attn.c_proj.bias")
        m = layer_norm(x, p[h + "ln_2.weight"], get(h + "ln_2.bias"))
        x = x + lin(gelu_tanh(lin(m, h + "mlp.c_fc.weight", h + "mlp.c_fc.bias")), h + "mlp.c_proj.weight", h + "mlp.c_proj.bias")
    x = layer_norm(x, p["ln_f.weight"], get("ln_f.bias"))
    head = p["lm_head.weight"] if "lm_head.weight" in p else p["wte"]  # [V, d]
    return x @ head.T


# ---- GPT-2 as transformers' modeling_gpt2 computes it, from config.json and GPT-2 names ---------

def hf_forward(sd, conf, idx):
    B, T = idx.shape
    d, H, eps = conf["n_embd"], conf["n_head"], conf["layer_norm_epsilon"]
    act = conf["activation_function"]
    if act != "gelu_new":
        raise SystemExit(f"activation_function {act}: this check implements gelu_new only")
    conv1d = lambda x, pre: torch.addmm(sd[pre + ".bias"], x.reshape(-1, x.shape[-1]), sd[pre + ".weight"]).reshape(*x.shape[:-1], -1)
    ln = lambda x, pre: F.layer_norm(x, (d,), sd[pre + ".weight"], sd[pre + ".bias"], eps)
    x = sd["transformer.wte.weight"][idx] + sd["transformer.wpe.weight"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(conf["n_layer"]):
        pre = f"transformer.h.{l}"
        q, k, v = conv1d(ln(x, pre + ".ln_1"), pre + ".attn.c_attn").split(d, dim=2)
        q, k, v = (t.view(B, T, H, d // H).permute(0, 2, 1, 3) for t in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / (v.size(-1) ** 0.5)  # scale_attn_weights
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        a = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, d)
        x = x + conv1d(a, pre + ".attn.c_proj")
        h = conv1d(ln(x, pre + ".ln_2"), pre + ".mlp.c_fc")
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))  # NewGELUActivation
        x = x + conv1d(h, pre + ".mlp.c_proj")
    x = ln(x, "transformer.ln_f")
    tied = conf.get("tie_word_embeddings", True)
    head = sd["transformer.wte.weight"] if tied else sd["lm_head.weight"]
    return x @ head.T


def load_case(case_dir):
    """A golden case (config.json: model + batch) or a run folder (run.json: model; a fixed batch is made up)."""
    tensors, meta = read_safetensors(Path(case_dir) / "checkpoints" / "latest.safetensors")
    p = {k[len("param/") :]: v.double() for k, v in tensors.items() if k.startswith("param/")}
    case_file = Path(case_dir) / "config.json"
    if case_file.exists():
        case = json.loads(case_file.read_text())
        model, idx, targets = case["model"], case["idx"], case["targets"]
    else:
        model = json.loads((Path(case_dir) / "run.json").read_text())["model"]
        V, T = model["vocab_size"], min(model["context"], 32)
        idx = [[(b * 7919 + t * 104729 + 13) % V for t in range(T)] for b in range(2)]
        targets = [row[1:] + row[:1] for row in idx]
    return model, p, torch.tensor(idx, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


def golden(case_dir):
    cfg, p, idx, targets = load_case(case_dir)
    for t in p.values():
        t.requires_grad_(True)
    logits = ours_forward(p, cfg, idx)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    out = {"logits": ("F32", logits), "loss": ("F64", loss.reshape(1))}
    for name, t in p.items():
        out["grad/" + name] = ("F32", t.grad)
    meta = {"torch": torch.__version__, "dtype": "float64 (stored as F32 except loss)"}
    write_safetensors(Path(case_dir) / "reference.safetensors", out, meta)
    print(f"{case_dir}: loss {loss.item():.10f}, {len(p)} gradients, torch {torch.__version__}")


def hf_check(hf_dir, case_dir):
    cfg, p, idx, targets = load_case(case_dir)
    conf = json.loads((Path(hf_dir) / "config.json").read_text())
    sd, _ = read_safetensors(Path(hf_dir) / "model.safetensors")
    sd = {k: v.double() for k, v in sd.items()}
    with torch.no_grad():
        ours = ours_forward(p, cfg, idx)
        hf = hf_forward(sd, conf, idx)
    V = ours.shape[-1]
    loss_o = F.cross_entropy(ours.reshape(-1, V), targets.reshape(-1)).item()
    loss_h = F.cross_entropy(hf.reshape(-1, V), targets.reshape(-1)).item()
    dl = (ours - hf).abs().max().item()
    print(f"{hf_dir}: {len(sd)} tensors; max |logits diff| {dl:.3e} (logits up to {ours.abs().max().item():.3f}); loss ours {loss_o:.10f} hf {loss_h:.10f} (diff {abs(loss_o - loss_h):.3e})")
    if not (dl <= 1e-4 and abs(loss_o - loss_h) <= 1e-4):
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "golden":
        golden(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "hf":
        hf_check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
