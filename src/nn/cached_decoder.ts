import type { Tensor } from '../backend/backend.js';
import { ShapeError, TensorStateError } from '../errors.js';
import { cachedAttention, gatherHeads } from '../ops/attention.js';
import { matmul } from '../ops/core.js';
import { embedding, gatherRows } from '../ops/layers.js';
import { blockTensors, TensorPool, type BlockTensors } from './activations.js';
import type { CausalLM } from './causal_lm.js';
import { blockForward, type BlockContext } from './decoder_block.js';
import { norm, type NormStats } from './linear.js';

/** Per-step buffers for T new tokens per row (one set for the prompt, one for T = 1), shared by the layers. */
interface StepBuffers {
  pool: TensorPool;
  x: Tensor;
  block: BlockTensors;
  /** Row index of each row's last new token in [B·T] (for T > 1). */
  lastRows: Tensor | undefined;
}

/**
 * Incremental decoding of a model with a key/value cache on the device: `step` runs T new
 * tokens per row at cache positions start..start+T−1, appends their keys and values to each
 * layer's cache, and returns the logits of each row's last new token. The prompt goes in as
 * one step of its full length (left-padded: keyMask hides the padding), then one token per
 * step, so a token costs O(length) attention instead of a whole forward pass.
 */
export class CachedDecoder {
  readonly model: CausalLM;
  readonly B: number;
  /** Cache positions: the longest prompt plus the most new tokens. */
  readonly capacity: number;
  /** [B, S]: 1 where a cache position holds a real token. Written by the caller. */
  readonly keyMask: Tensor;
  readonly #keys: Tensor[] = [];
  readonly #values: Tensor[] = [];
  readonly #steps = new Map<number, StepBuffers>();
  readonly #pool: TensorPool;
  readonly #hLast: Tensor;
  readonly #lnLast: Tensor;
  readonly #lnStats: NormStats;
  readonly #logits: Tensor;
  #disposed = false;

  constructor(model: CausalLM, B: number, capacity: number) {
    const { layers: L, kvHeads, headDim: D, hiddenSize: C, vocabSize: V } = model.arch;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(capacity) || capacity < 1) {
      throw new ShapeError(`CachedDecoder: batch ${B} and capacity ${capacity} must be positive integers`);
    }
    this.model = model;
    this.B = B;
    this.capacity = capacity;
    const z = (this.#pool = new TensorPool(model.backend));
    for (let l = 0; l < L; l++) {
      this.#keys.push(z.zeros([B, kvHeads, capacity, D]));
      this.#values.push(z.zeros([B, kvHeads, capacity, D]));
    }
    this.keyMask = z.zeros([B, capacity]);
    this.#hLast = z.zeros([B, C]);
    this.#lnLast = z.zeros([B, C]);
    this.#lnStats = { mean: model.arch.norm === 'layernorm' ? z.zeros([B]) : undefined, rstd: z.zeros([B]) };
    this.#logits = z.zeros([B, V]);
  }

  /**
   * Runs ids [B·T] at positions pos [B·T] (GPT-2's wpe rows; the rotation of rotary models)
   * into cache slots start..start+T−1 and returns the logits [B, V] of each row's token at
   * slot start+T−1 (valid until the next step). keyMask must already mark slots up to
   * start+T−1. Positions are below the cache's capacity.
   */
  step(ids: Tensor, pos: Tensor, start: number, T: number): Tensor {
    if (this.#disposed) throw new TensorStateError('CachedDecoder: used after dispose()');
    if (start + T > this.capacity) {
      throw new ShapeError(`CachedDecoder: slots ${start}..${start + T} exceed the cache's ${this.capacity}; make the decoder with a larger capacity`);
    }
    const model = this.model;
    const { arch, refs } = model;
    const be = model.backend;
    const s = this.#buffers(T);
    const w = (name: string) => model.param(name);
    if (refs.positions) embedding(ids, pos, w(refs.embed), w(refs.positions), s.x);
    else gatherRows(w(refs.embed), ids, s.x);
    // The model's own tables: positions stay below the cache's capacity.
    const tables = model.rotaryTables(this.capacity);
    const rotary = tables ? { positions: pos, ...tables } : undefined;
    const c: BlockContext = { backend: be, arch, w, rotary, lora: model.adapter?.inference };
    const { B } = this;
    const { heads: H, headDim: D } = arch;
    for (let l = 0; l < arch.layers; l++) {
      const [keys, values] = [this.#keys[l]!, this.#values[l]!];
      // Each block's output overwrites its input: the stream is copied into mid before any write.
      blockForward(c, refs.blocks[l]!, s.x, s.block, s.x, (p, attnOut) => {
        gatherHeads(be.view(p.k, 0, [B, T, p.kvWidth]), p.kCol, keys, start);
        gatherHeads(be.view(p.v, 0, [B, T, p.kvWidth]), p.vCol, values, start);
        cachedAttention(be.view(p.q, 0, [B, T, p.qWidth]), keys, values, this.keyMask, start, be.view(attnOut, 0, [B, T, H * D]));
      });
    }
    // Only each row's last token needs the final norm and the [V]-wide LM head.
    if (s.lastRows) gatherRows(s.x, s.lastRows, this.#hLast);
    else be.copy(s.x, this.#hLast);
    norm(w, this.#hLast, refs.finalNorm, this.#lnLast, this.#lnStats, arch.normEps);
    matmul(this.#lnLast, w(refs.lmHead), { transB: true, out: this.#logits });
    return this.#logits;
  }

  /** Frees the buffers of multi-token steps (the prompt's), which one-token steps don't use. */
  releasePromptBuffers(): void {
    for (const [T, s] of this.#steps) {
      if (T === 1) continue;
      s.pool.dispose();
      this.#steps.delete(T);
    }
  }

  /** Device bytes held by the cache and the step buffers. */
  get bytes(): number {
    return this.#pool.bytes + [...this.#steps.values()].reduce((n, s) => n + s.pool.bytes, 0);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pool.dispose();
    for (const s of this.#steps.values()) s.pool.dispose();
    this.#steps.clear();
  }

  #buffers(T: number): StepBuffers {
    let s = this.#steps.get(T);
    if (s) return s;
    const pool = new TensorPool(this.model.backend);
    const N = this.B * T;
    s = {
      pool,
      x: pool.zeros([N, this.model.arch.hiddenSize]),
      block: blockTensors(pool, this.model.arch, N),
      lastRows: T > 1 ? pool.zeros([this.B]) : undefined,
    };
    if (s.lastRows) this.model.backend.write(s.lastRows, Float32Array.from({ length: this.B }, (_, b) => b * T + T - 1));
    this.#steps.set(T, s);
    return s;
  }
}
