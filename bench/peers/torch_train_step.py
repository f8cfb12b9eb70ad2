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

from torch_training import lm_train_step, webrlhf_adamw


def bench(c):
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=c['V'], n_positions=c['T'], n_embd=c['C'], n_layer=c['L'], n_head=c['H'],
                        activation_function='gelu_new', resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        tie_word_embeddings=True, bos_token_id=c['V'] - 1, eos_token_id=c['V'] - 1)
    model = GPT2LMHeadModel(config)
    model.train()
    opt = webrlhf_adamw(model, 1e-3)
    ids = torch.tensor(c['ids'], dtype=torch.long).view(c['B'], c['T'])
    losses = []
    step = lm_train_step(model, opt, ids, losses)
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
