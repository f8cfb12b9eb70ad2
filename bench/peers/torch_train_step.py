# PyTorch peer of bench/train_step.ts: the same GPT-2 training step (forward, cross-entropy,
# backward, global-norm clipping at 1, AdamW lr 1e-3 with weight decay 0.01 on matrices only)
# with transformers' GPT2LMHeadModel in float32 on the CPU, on the same token batch, timed like
# the webrlhf side (2 warm-up steps, then the median of at least 3 steps and 3 s, at most 20
# steps or 30 s). Reads a JSON job on stdin ({configs: {name: {C, L, H, V, B, T, ids}}, threads}),
# prints one JSON line.
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel


def bench(c):
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=c['V'], n_positions=c['T'], n_embd=c['C'], n_layer=c['L'], n_head=c['H'],
                        activation_function='gelu_new', resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        tie_word_embeddings=True)
    model = GPT2LMHeadModel(config)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    ids = torch.tensor(c['ids'], dtype=torch.long).view(c['B'], c['T'])
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())

    for _ in range(2):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < 3 and len(times) < 20):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > 30:
            break
    ms = statistics.median(times) * 1000
    return {'msPerStep': ms, 'tokensPerSecond': c['B'] * c['T'] / (ms / 1000), 'firstLoss': losses[0], 'steps': len(times)}


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job['threads'])
    results = {name: bench(c) for name, c in job['configs'].items()}
    print(json.dumps({'versions': f'torch {torch.__version__}, transformers {transformers.__version__}',
                      'threads': torch.get_num_threads(), 'results': results}))


if __name__ == '__main__':
    main()
