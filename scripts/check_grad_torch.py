#!/usr/bin/env python3
"""Checks `webrlhf grad` against PyTorch.

    webrlhf grad --model DIR --batch BATCH.json --out GRADS.safetensors
    python3 scripts/check_grad_torch.py --model DIR --batch BATCH.json --grads GRADS.safetensors

Builds the same GPT-2 in PyTorch (float64) from the folder's model.safetensors, runs the batch
with Hugging Face's loss (labels aligned with input_ids, shifted inside; -100 and -1 ignored;
mean over target tokens), and compares the loss, the logits and every gradient with the file
webrlhf wrote. Needs only torch and numpy (Debian: apt-get install python3-torch). Exits 1
when a tensor differs by more than 1e-4 relative to its largest magnitude.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[base + begin : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.tensor(array.astype(np.float64))
    return out


def gpt2_loss(cfg, w, input_ids, labels, mask):
    B, T = input_ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    pos = (mask.cumsum(1) - 1).clamp(min=0) * mask
    x = w["wte.weight"][input_ids] + w["wpe.weight"][pos]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    visible = causal[None, None] & mask.bool()[:, None, None, :]
    ln = lambda t, p: torch.nn.functional.layer_norm(t, (C,), w[p + ".weight"], w[p + ".bias"], eps)
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        qkv = ln(x, h + "ln_1") @ w[h + "attn.c_attn.weight"] + w[h + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in qkv.split(C, dim=2))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(~visible, float("-inf"))
        probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # rows that see no key
        y = (probs @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[h + "attn.c_proj.weight"] + w[h + "attn.c_proj.bias"]
        fc = ln(x, h + "ln_2") @ w[h + "mlp.c_fc.weight"] + w[h + "mlp.c_fc.bias"]
        x = x + torch.nn.functional.gelu(fc, approximate="tanh") @ w[h + "mlp.c_proj.weight"] + w[h + "mlp.c_proj.bias"]
    logits = ln(x, "ln_f") @ w["wte.weight"].T
    targets = labels[:, 1:].clone()
    targets[(targets == -1) | (mask[:, :-1] == 0)] = -100
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    return loss, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--grads", required=True)
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    cfg = json.load(open(f"{a.model}/config.json"))
    weights = {k.removeprefix("transformer."): v.requires_grad_() for k, v in read_safetensors(f"{a.model}/model.safetensors").items()}
    batch = json.load(open(a.batch))
    ids = torch.tensor(batch["input_ids"])
    labels = torch.tensor(batch.get("labels", batch["input_ids"]))
    mask = torch.tensor(batch.get("attention_mask", [[1] * ids.shape[1]] * ids.shape[0]))
    if "labels" not in batch:
        labels = labels.masked_fill(mask == 0, -100)
    loss, logits = gpt2_loss(cfg, weights, ids, labels, mask)
    loss.backward()
    ours = read_safetensors(a.grads)
    expected = {"loss": loss.detach().reshape(()), "logits": logits.detach()}
    expected.update({k: v.grad for k, v in weights.items() if v.grad is not None})
    worst = 0.0
    for name, want in expected.items():
        got = ours[name].reshape(want.shape)
        scale = max(want.abs().max().item(), 1e-12)
        err = (got - want).abs().max().item() / scale
        worst = max(worst, err)
        print(f"{'ok  ' if err <= a.rtol else 'FAIL'} {name:32s} max |Δ| / max |torch| = {err:.2e}")
    print(f"loss: webrlhf {ours['loss'].item():.8f}, torch {loss.item():.8f}; worst relative difference {worst:.2e}")
    sys.exit(0 if worst <= a.rtol else 1)


if __name__ == "__main__":
    main()
