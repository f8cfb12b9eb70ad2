import type { Backend, Tensor } from '../backend/backend.js';
import type { GPTConfig } from './config.js';

/** What one block keeps from its forward pass for its backward pass. */
export interface BlockActivations {
  /** The block's input (the residual stream before it). */
  input: Tensor;
  ln1: Tensor; ln1Mean: Tensor; ln1Rstd: Tensor;
  qkv: Tensor;
  q: Tensor; k: Tensor; v: Tensor;
  /** Attention probabilities [B, H, T, T]. */
  probs: Tensor;
  /** Attention output with heads merged, before c_proj. */
  attnOut: Tensor;
  /** Residual stream after attention. */
  mid: Tensor;
  ln2: Tensor; ln2Mean: Tensor; ln2Rstd: Tensor;
  /** MLP hidden before and after GELU. */
  fc: Tensor; fcGelu: Tensor;
}

/**
 * Every buffer one forward + backward of a (B, T) batch needs, allocated once and reused
 * by every step of that shape (llm.c style: no allocation inside a step).
 */
export class Activations {
  readonly B: number;
  readonly T: number;
  readonly blocks: BlockActivations[] = [];
  /** Residual stream after the last block. */
  readonly out: Tensor;
  readonly lnf: Tensor; readonly lnfMean: Tensor; readonly lnfRstd: Tensor;
  // Allocated on first use: [B·T, V] logits and their gradient, and the heads' buffers.
  logits: Tensor | undefined;
  logitsGrad: Tensor | undefined;
  hLast: Tensor | undefined;
  dhLast: Tensor | undefined;
  scoreOut: Tensor | undefined;
  valueOut: Tensor | undefined;
  // Scratch shared by all blocks: only one block's forward or backward runs at a time.
  readonly scores: Tensor;
  readonly yHeads: Tensor;
  // Gradients flowing backward.
  readonly dResidual: Tensor;
  readonly dLn: Tensor;
  readonly dQkv: Tensor;
  readonly dq: Tensor; readonly dk: Tensor; readonly dv: Tensor;
  readonly dProbs: Tensor; readonly dScores: Tensor;
  readonly dAttnOut: Tensor;
  readonly dFc: Tensor; readonly dFcGelu: Tensor;
  private readonly owned: Tensor[] = [];

  constructor(private readonly backend: Backend, config: GPTConfig, B: number, T: number) {
    this.B = B;
    this.T = T;
    const C = config.n_embd;
    const H = config.n_head;
    const D = C / H;
    const N = B * T;
    const z = (shape: number[]) => {
      const t = backend.zeros(shape);
      this.owned.push(t);
      return t;
    };
    for (let l = 0; l < config.n_layer; l++) {
      this.blocks.push({
        input: z([N, C]),
        ln1: z([N, C]), ln1Mean: z([N]), ln1Rstd: z([N]),
        qkv: z([N, 3 * C]),
        q: z([B, H, T, D]), k: z([B, H, T, D]), v: z([B, H, T, D]),
        probs: z([B, H, T, T]),
        attnOut: z([N, C]),
        mid: z([N, C]),
        ln2: z([N, C]), ln2Mean: z([N]), ln2Rstd: z([N]),
        fc: z([N, 4 * C]), fcGelu: z([N, 4 * C]),
      });
    }
    this.out = z([N, C]);
    this.lnf = z([N, C]);
    this.lnfMean = z([N]);
    this.lnfRstd = z([N]);
    this.scores = z([B, H, T, T]);
    this.yHeads = z([B, H, T, D]);
    this.dResidual = z([N, C]);
    this.dLn = z([N, C]);
    this.dQkv = z([N, 3 * C]);
    this.dq = z([B, H, T, D]);
    this.dk = z([B, H, T, D]);
    this.dv = z([B, H, T, D]);
    this.dProbs = z([B, H, T, T]);
    this.dScores = z([B, H, T, T]);
    this.dAttnOut = z([N, C]);
    this.dFc = z([N, 4 * C]);
    this.dFcGelu = z([N, 4 * C]);
  }

  /** A buffer that is allocated on first use (logits and head scratch) and freed with the rest. */
  lazy(current: Tensor | undefined, shape: number[]): Tensor {
    if (current) return current;
    const t = this.backend.zeros(shape);
    this.owned.push(t);
    return t;
  }

  /** Bytes held, for memory reports. */
  get bytes(): number {
    return this.owned.reduce((n, t) => n + t.size * 4, 0);
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}
