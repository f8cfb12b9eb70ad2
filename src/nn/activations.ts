import type { Backend, Tensor } from '../backend/backend.js';
import type { Architecture } from './architecture.js';
import type { NormStats } from './linear.js';

/**
 * The token-major q, k, v of one attention call, [N, ·] each: GPT-2's c_attn output read at
 * column offsets, or three projections (rotated in place for rotary models). With Qwen3's
 * q/k norms, q and k are the norms' outputs and qPre/kPre their inputs.
 */
export interface Projections {
  q: Tensor; k: Tensor; v: Tensor;
  qCol: number; kCol: number; vCol: number;
  /** Row width of the q, k, v buffers (3C when fused). */
  qWidth: number; kvWidth: number;
  qPre: Tensor | undefined; kPre: Tensor | undefined;
  qStats: NormStats | undefined; kStats: NormStats | undefined;
}

/** The tensors one block writes in its forward pass (all of them kept for the backward in training). */
export interface BlockTensors {
  ln1: Tensor; ln1Stats: NormStats;
  proj: Projections;
  attnOut: Tensor;
  /** Residual stream after attention. */
  mid: Tensor;
  ln2: Tensor; ln2Stats: NormStats;
  /** SwiGLU's gate (undefined for GELU), the up projection (GPT-2's c_fc), and the activation down reads. */
  gate: Tensor | undefined; up: Tensor; act: Tensor;
}

/** What one block keeps from its forward pass for its backward pass. */
export interface BlockActivations extends BlockTensors {
  /** The block's input (the residual stream before it). */
  input: Tensor;
  /** Heads [B, H, T, D] (q) and [B, Hkv, T, D] (k, v) after the split. */
  q: Tensor; k: Tensor; v: Tensor;
  /** Attention probabilities [B, H, T, T]. */
  probs: Tensor;
}

/** Allocates tensors and remembers them, so a set of buffers is freed and measured as one. */
export class TensorPool {
  readonly #owned: Tensor[] = [];
  constructor(readonly backend: Backend) {}

  zeros(shape: number[]): Tensor {
    const t = this.backend.zeros(shape);
    this.#owned.push(t);
    return t;
  }

  get bytes(): number {
    return this.#owned.reduce((n, t) => n + t.size * 4, 0);
  }

  dispose(): void {
    for (const t of this.#owned) t.dispose();
    this.#owned.length = 0;
  }
}

const stats = (z: TensorPool, a: Architecture, rows: number): NormStats => ({ mean: a.norm === 'layernorm' ? z.zeros([rows]) : undefined, rstd: z.zeros([rows]) });

/**
 * q, k, v buffers for N tokens. `shared` (a set already allocated) is reused for what the
 * backward does not read: the projections themselves, unless Qwen3's norms need their inputs.
 */
export function projections(z: TensorPool, a: Architecture, N: number, shared?: Projections): Projections {
  const D = a.headDim;
  const [qWidth, kvWidth] = a.fusedQKV ? [3 * a.hiddenSize, 3 * a.hiddenSize] : [a.heads * D, a.kvHeads * D];
  if (a.fusedQKV) {
    const qkv = shared?.q ?? z.zeros([N, qWidth]);
    const C = a.hiddenSize;
    return { q: qkv, k: qkv, v: qkv, qCol: 0, kCol: C, vCol: 2 * C, qWidth, kvWidth, qPre: undefined, kPre: undefined, qStats: undefined, kStats: undefined };
  }
  const v = shared?.v ?? z.zeros([N, kvWidth]);
  if (!a.qkNorm) {
    return { q: shared?.q ?? z.zeros([N, qWidth]), k: shared?.k ?? z.zeros([N, kvWidth]), v, qCol: 0, kCol: 0, vCol: 0, qWidth, kvWidth,
      qPre: undefined, kPre: undefined, qStats: undefined, kStats: undefined };
  }
  return {
    q: z.zeros([N, qWidth]), k: z.zeros([N, kvWidth]), v, qCol: 0, kCol: 0, vCol: 0, qWidth, kvWidth,
    qPre: z.zeros([N, qWidth]), kPre: z.zeros([N, kvWidth]), qStats: stats(z, a, N * a.heads), kStats: stats(z, a, N * a.kvHeads),
  };
}

/** The tensors of one block's forward for N tokens (`shared`: reuse its projection scratch). */
export function blockTensors(z: TensorPool, a: Architecture, N: number, shared?: Projections): BlockTensors {
  const C = a.hiddenSize;
  const F = a.intermediateSize;
  return {
    ln1: z.zeros([N, C]), ln1Stats: stats(z, a, N),
    proj: projections(z, a, N, shared),
    attnOut: z.zeros([N, a.heads * a.headDim]),
    mid: z.zeros([N, C]),
    ln2: z.zeros([N, C]), ln2Stats: stats(z, a, N),
    gate: a.mlp === 'swiglu' ? z.zeros([N, F]) : undefined, up: z.zeros([N, F]), act: z.zeros([N, F]),
  };
}

/** Gradient buffers flowing back through a block (shared by all blocks: one runs at a time). */
export interface BlockGradients {
  /** ∂L/∂(residual stream), accumulated through the norms. */
  dResidual: Tensor;
  /** ∂L/∂(a norm's output). */
  dLn: Tensor;
  dProj: Projections;
  dq: Tensor; dk: Tensor; dv: Tensor;
  dProbs: Tensor; dScores: Tensor;
  dAttnOut: Tensor;
  dGate: Tensor | undefined; dUp: Tensor; dAct: Tensor;
}

/**
 * Every buffer one forward + backward of a (B, T) batch needs, allocated once and reused
 * by every step of that shape (llm.c style: no allocation inside a step).
 */
export class Activations {
  readonly B: number;
  readonly T: number;
  /**
   * Gradient checkpointing: blocks[l] has its own input, and every other tensor is one set
   * shared by all layers, which the backward refills from the layer's input.
   */
  readonly checkpointed: boolean;
  /** The layer whose tensors the blocks' shared set holds (checkpointed; −1: none yet). */
  resident = -1;
  readonly blocks: BlockActivations[] = [];
  /** Residual stream after the last block. */
  readonly out: Tensor;
  readonly lnf: Tensor;
  readonly lnfStats: NormStats;
  // Allocated on first use: [B·T, V] logits and their gradient (or one chunk's rows of each), and the heads' buffers.
  logits: Tensor | undefined;
  logitsGrad: Tensor | undefined;
  chunkLogits: Tensor | undefined;
  chunkLogitsGrad: Tensor | undefined;
  hLast: Tensor | undefined;
  dhLast: Tensor | undefined;
  scoreOut: Tensor | undefined;
  valueOut: Tensor | undefined;
  // Scratch shared by all blocks: only one block's forward or backward runs at a time.
  readonly scores: Tensor;
  readonly yHeads: Tensor;
  readonly #pool: TensorPool;
  readonly #arch: Architecture;
  #grads: BlockGradients | undefined;

  /** `backward: false` (a frozen model's): no backward buffers up front, and the block inputs in two buffers taken in turn. */
  constructor(backend: Backend, a: Architecture, B: number, T: number, options: { checkpoint?: boolean; backward?: boolean } = {}) {
    this.B = B;
    this.T = T;
    this.checkpointed = options.checkpoint ?? false;
    const z = (this.#pool = new TensorPool(backend));
    const { hiddenSize: C, heads: H, kvHeads: Hkv, headDim: D } = a;
    const N = B * T;
    let shared: Projections | undefined;
    let first: BlockActivations | undefined;
    // Without a backward no block input is read again: two buffers, taken in turn, hold them all.
    const inference = !(options.backward ?? true);
    const turns = inference ? [z.zeros([N, C]), z.zeros([N, C])] : undefined;
    for (let l = 0; l < a.layers; l++) {
      const input = turns ? turns[l % 2]! : z.zeros([N, C]);
      if (first && this.checkpointed) {
        this.blocks.push({ ...first, input });
        continue;
      }
      const t = blockTensors(z, a, N, shared);
      shared ??= t.proj;
      this.blocks.push({
        ...t, input,
        q: z.zeros([B, H, T, D]), k: z.zeros([B, Hkv, T, D]), v: z.zeros([B, Hkv, T, D]),
        probs: z.zeros([B, H, T, T]),
      });
      first ??= this.blocks[0];
    }
    this.out = z.zeros([N, C]);
    this.lnf = z.zeros([N, C]);
    this.lnfStats = stats(z, a, N);
    this.scores = z.zeros([B, H, T, T]);
    this.yHeads = z.zeros([B, H, T, D]);
    this.#arch = a;
    if (options.backward ?? true) void this.grads;
  }

  /** The backward's buffers (allocated on first use when the constructor was told there is no backward). */
  get grads(): BlockGradients {
    if (this.#grads) return this.#grads;
    const z = this.#pool;
    const a = this.#arch;
    const { B, T } = this;
    const { hiddenSize: C, heads: H, kvHeads: Hkv, headDim: D, intermediateSize: F } = a;
    const N = B * T;
    this.#grads = {
      dResidual: z.zeros([N, C]), dLn: z.zeros([N, C]), dProj: projections(z, a, N),
      dq: z.zeros([B, H, T, D]), dk: z.zeros([B, Hkv, T, D]), dv: z.zeros([B, Hkv, T, D]),
      dProbs: z.zeros([B, H, T, T]), dScores: z.zeros([B, H, T, T]),
      dAttnOut: z.zeros([N, H * D]),
      dGate: a.mlp === 'swiglu' ? z.zeros([N, F]) : undefined, dUp: z.zeros([N, F]), dAct: z.zeros([N, F]),
    };
    return this.#grads;
  }

  /** A buffer that is allocated on first use (logits and head scratch) and freed with the rest. */
  lazy(current: Tensor | undefined, shape: number[]): Tensor {
    return current ?? this.#pool.zeros(shape);
  }

  /** Bytes held, for memory reports. */
  get bytes(): number {
    return this.#pool.bytes;
  }

  dispose(): void {
    this.#pool.dispose();
  }
}
