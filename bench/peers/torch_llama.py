# PyTorch peer of bench/llama.ts: transformers' LlamaForCausalLM in float32 on the CPU doing
# what the webrlhf side does — SFT steps (forward, loss, backward, clipping, AdamW) and
# greedy generation with the KV cache. Reads a JSON job on stdin, prints one JSON line.
import json
import resource
import statistics
import sys
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from torch_training import lm_train_step, webrlhf_adamw


def timed(fn, warmup, rounds):
    """Median seconds of `rounds` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train(model, job):
    opt = webrlhf_adamw(model, job['lr'])
    ids = torch.tensor(job['train_ids'], dtype=torch.long)
    losses = []
    step = lm_train_step(model, opt, ids, losses)
    seconds = timed(step, job['warmup'], job['rounds'])
    tensor_bytes = lambda ts: sum(t.numel() * t.element_size() for t in ts)
    state = [v for s in opt.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    result = {
        'msPerStep': seconds * 1000,
        'firstLoss': losses[0],
        'paramBytes': tensor_bytes(model.parameters()),
        'gradBytes': tensor_bytes(p.grad for p in model.parameters() if p.grad is not None),
        'optimizerBytes': tensor_bytes(state),
        'maxRssBytes': max_rss_bytes(),
    }
    opt.zero_grad(set_to_none=True)
    del opt
    return result


def generate(model, job, prompts):
    ids = torch.tensor(prompts, dtype=torch.long)
    mask = torch.ones_like(ids)
    n = job['new_tokens']

    def run(new):
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new, do_sample=False,
                                 use_cache=True, eos_token_id=None, pad_token_id=0)
        assert out.shape[1] == ids.shape[1] + new, out.shape

    return {
        'B': len(prompts),
        'prefillMs': timed(lambda: run(1), job['warmup'], job['rounds']) * 1000,
        'totalMs': timed(lambda: run(n), job['warmup'], job['rounds']) * 1000,
    }


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job['threads'])
    torch.manual_seed(1)
    keys = {k: v for k, v in job['config'].items() if k not in ('model_type', 'architectures')}
    config = LlamaConfig(**keys)
    t0 = time.perf_counter()
    model = LlamaForCausalLM(config).float()
    created = time.perf_counter() - t0
    out = {
        'versions': f'torch {torch.__version__}, transformers {transformers.__version__}',
        'threads': torch.get_num_threads(),
        'params': sum(p.numel() for p in model.parameters()),
        'createSeconds': created,
    }
    if 'train' in job['parts']:
        model.train()
        out['train'] = train(model, job)
    if 'generate' in job['parts']:
        model.eval()
        out['generate'] = [generate(model, job, p) for p in job['prompts']]
    print(json.dumps(out))


main()
