import type { Backend, Tensor } from '../backend/backend.js';
import { ShapeError, TensorStateError } from '../errors.js';
import { gelu } from '../ops/activations.js';
import { cachedAttention, gatherHeads } from '../ops/attention.js';
import { matmul } from '../ops/core.js';
import { embedding, gatherRows, layerNorm } from '../ops/layers.js';
import type { GPT } from './gpt.js';

/** Per-step buffers for T new tokens per row (one set for the prompt, one for T = 1). */
interface StepBuffers {
  T: number;
  x: Tensor; ln: Tensor; mean: Tensor; rstd: Tensor;
  qkv: Tensor; attn: Tensor; mid: Tensor;
  fc: Tensor; fcGelu: Tensor;
  /** qkv and attn seen as [B, T, ·] (views, made once). */
  qkv3: Tensor; attn3: Tensor;
  /** Row index of each row's last new token in [B·T] (for T > 1). */
  lastRows: Tensor | undefined;
}

/**
 * Incremental decoding of a GPT with a key/value cache on the device: `step` runs T new
 * tokens per row at cache positions start..start+T−1, appends their keys and values to each
 * layer's cache, and returns the logits of each row's last new token. The prompt goes in as
 * one step of its full length (left-padded: keyMask hides the padding), then one token per
 * step, so a token costs O(length) attention instead of a whole forward pass.
 */
export class CachedDecoder {
  readonly model: GPT;
  readonly B: number;
  /** Cache positions: the longest prompt plus the most new tokens. */
  readonly capacity: number;
  /** [B, S]: 1 where a cache position holds a real token. Written by the caller. */
  readonly keyMask: Tensor;
  readonly #keys: Tensor[] = [];
  readonly #values: Tensor[] = [];
  readonly #steps = new Map<number, StepBuffers>();
  readonly #hLast: Tensor;
  readonly #lnLast: Tensor;
  readonly #lnMean: Tensor;
  readonly #lnRstd: Tensor;
  readonly #logits: Tensor;
  #disposed = false;

  constructor(model: GPT, B: number, capacity: number) {
    const { n_layer: L, n_head: H, n_embd: C, vocab_size: V } = model.config;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(capacity) || capacity < 1) {
      throw new ShapeError(`CachedDecoder: batch ${B} and capacity ${capacity} must be positive integers`);
    }
    this.model = model;
    this.B = B;
    this.capacity = capacity;
    const be = model.backend;
    for (let l = 0; l < L; l++) {
      this.#keys.push(be.zeros([B, H, capacity, C / H]));
      this.#values.push(be.zeros([B, H, capacity, C / H]));
    }
    this.keyMask = be.zeros([B, capacity]);
    this.#hLast = be.zeros([B, C]);
    this.#lnLast = be.zeros([B, C]);
    this.#lnMean = be.zeros([B]);
    this.#lnRstd = be.zeros([B]);
    this.#logits = be.zeros([B, V]);
  }

  /**
   * Runs ids [B·T] at positions pos [B·T] (wpe rows) into cache slots start..start+T−1 and
   * returns the logits [B, V] of each row's token at slot start+T−1 (valid until the next
   * step). keyMask must already mark slots up to start+T−1.
   */
  step(ids: Tensor, pos: Tensor, start: number, T: number): Tensor {
    if (this.#disposed) throw new TensorStateError('CachedDecoder: used after dispose()');
    if (start + T > this.capacity) {
      throw new ShapeError(`CachedDecoder: slots ${start}..${start + T} exceed the cache's ${this.capacity}; make the decoder with a larger capacity`);
    }
    const model = this.model;
    const be = model.backend;
    const { n_layer: L, layer_norm_epsilon: eps, n_embd: C } = model.config;
    const s = this.#buffers(T);
    const w = (l: number, name: string) => model.param(`h.${l}.${name}`);
    embedding(ids, pos, model.param('wte.weight'), model.param('wpe.weight'), s.x);
    const { qkv3, attn3 } = s;
    for (let l = 0; l < L; l++) {
      layerNorm(s.x, w(l, 'ln_1.weight'), w(l, 'ln_1.bias'), s.ln, s.mean, s.rstd, eps);
      matmul(s.ln, w(l, 'attn.c_attn.weight'), { bias: w(l, 'attn.c_attn.bias'), out: s.qkv });
      gatherHeads(qkv3, C, this.#keys[l]!, start);
      gatherHeads(qkv3, 2 * C, this.#values[l]!, start);
      cachedAttention(qkv3, this.#keys[l]!, this.#values[l]!, this.keyMask, start, attn3);
      be.copy(s.x, s.mid);
      matmul(s.attn, w(l, 'attn.c_proj.weight'), { bias: w(l, 'attn.c_proj.bias'), out: s.mid, accumulate: true });
      layerNorm(s.mid, w(l, 'ln_2.weight'), w(l, 'ln_2.bias'), s.ln, s.mean, s.rstd, eps);
      matmul(s.ln, w(l, 'mlp.c_fc.weight'), { bias: w(l, 'mlp.c_fc.bias'), out: s.fc });
      gelu(s.fc, s.fcGelu);
      be.copy(s.mid, s.x);
      matmul(s.fcGelu, w(l, 'mlp.c_proj.weight'), { bias: w(l, 'mlp.c_proj.bias'), out: s.x, accumulate: true });
    }
    // Only each row's last token needs ln_f and the [V]-wide LM head.
    if (s.lastRows) gatherRows(s.x, s.lastRows, this.#hLast);
    else be.copy(s.x, this.#hLast);
    layerNorm(this.#hLast, model.param('ln_f.weight'), model.param('ln_f.bias'), this.#lnLast, this.#lnMean, this.#lnRstd, eps);
    matmul(this.#lnLast, model.param('wte.weight'), { transB: true, out: this.#logits });
    return this.#logits;
  }

  /** Frees the buffers of multi-token steps (the prompt's), which one-token steps don't use. */
  releasePromptBuffers(): void {
    for (const [T, s] of this.#steps) {
      if (T === 1) continue;
      for (const t of stepTensors(s)) t.dispose();
      this.#steps.delete(T);
    }
  }

  /** Device bytes held by the cache and the step buffers. */
  get bytes(): number {
    const tensors = [...this.#keys, ...this.#values, this.keyMask, this.#hLast, this.#lnLast, this.#lnMean, this.#lnRstd, this.#logits,
      ...[...this.#steps.values()].flatMap(stepTensors)];
    return tensors.reduce((n, t) => n + t.size * 4, 0);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of [...this.#keys, ...this.#values, this.keyMask, this.#hLast, this.#lnLast, this.#lnMean, this.#lnRstd, this.#logits]) t.dispose();
    for (const s of this.#steps.values()) for (const t of stepTensors(s)) t.dispose();
    this.#steps.clear();
  }

  #buffers(T: number): StepBuffers {
    let s = this.#steps.get(T);
    if (s) return s;
    const be: Backend = this.model.backend;
    const C = this.model.config.n_embd;
    const N = this.B * T;
    const qkv = be.zeros([N, 3 * C]);
    const attn = be.zeros([N, C]);
    s = {
      T,
      x: be.zeros([N, C]), ln: be.zeros([N, C]), mean: be.zeros([N]), rstd: be.zeros([N]),
      qkv, attn, mid: be.zeros([N, C]),
      fc: be.zeros([N, 4 * C]), fcGelu: be.zeros([N, 4 * C]),
      qkv3: be.view(qkv, 0, [this.B, T, 3 * C]), attn3: be.view(attn, 0, [this.B, T, C]),
      lastRows: T > 1 ? be.tensor(Float32Array.from({ length: this.B }, (_, b) => b * T + T - 1)) : undefined,
    };
    this.#steps.set(T, s);
    return s;
  }
}

function stepTensors(s: StepBuffers): Tensor[] {
  return [s.x, s.ln, s.mean, s.rstd, s.qkv, s.attn, s.mid, s.fc, s.fcGelu, ...(s.lastRows ? [s.lastRows] : [])];
}
