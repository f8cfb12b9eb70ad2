import { VIEW_ALIGN } from '../backend/layer_ops.js';
import type { GPTConfig } from './config.js';

/** Which optional heads a model carries besides the tied LM head. */
export interface HeadOptions {
  /** Scalar (reward) head `score.*`, read at each sequence's last real token. */
  score?: boolean;
  /** Per-token value head `v_head.summary.*` (PPO critic, TRL's name). */
  value?: boolean;
}

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

/** One parameter tensor's place in the contiguous parameter buffer. */
export interface ParamSpec {
  /** The Hugging Face GPT-2 name (`h.0.attn.c_attn.weight`). */
  name: string;
  shape: number[];
  /** Element offset in the buffer: a multiple of VIEW_ALIGN, so each tensor can be viewed. */
  offset: number;
  size: number;
  /** AdamW weight decay applies (matrices and embeddings; not biases or LayerNorm). */
  decay: boolean;
  init: Init;
}

export interface ParamLayout {
  specs: ParamSpec[];
  byName: Map<string, ParamSpec>;
  /** Elements in the buffer (with alignment padding). */
  total: number;
  /** Decayed tensors come first: [0, decayEnd) decays, [decayEnd, total) does not. */
  decayEnd: number;
}

/**
 * The parameters of a GPT-2 in the Hugging Face layout (Conv1D weights are input-major:
 * c_attn.weight is [C, 3C]), placed in one buffer. Decayed tensors come first so that
 * AdamW runs as two dispatches over two ranges instead of one per tensor.
 */
export function parameterLayout(config: GPTConfig, heads: HeadOptions = {}): ParamLayout {
  const { n_embd: C, n_layer: L, vocab_size: V, n_positions: P } = config;
  const std = 0.02;
  // GPT-2 scales the init of the projections into the residual stream by 1/√(2L).
  const residualStd = std / Math.sqrt(2 * L);
  const normal = (s: number): Init => ({ kind: 'normal', std: s });
  const zeros: Init = { kind: 'zeros' };
  const ones: Init = { kind: 'ones' };
  const decayed: [string, number[], Init][] = [['wte.weight', [V, C], normal(std)], ['wpe.weight', [P, C], normal(0.01)]];
  const plain: [string, number[], Init][] = [];
  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    decayed.push(
      [`${h}.attn.c_attn.weight`, [C, 3 * C], normal(std)],
      [`${h}.attn.c_proj.weight`, [C, C], normal(residualStd)],
      [`${h}.mlp.c_fc.weight`, [C, 4 * C], normal(std)],
      [`${h}.mlp.c_proj.weight`, [4 * C, C], normal(residualStd)],
    );
    plain.push(
      [`${h}.ln_1.weight`, [C], ones], [`${h}.ln_1.bias`, [C], zeros],
      [`${h}.attn.c_attn.bias`, [3 * C], zeros], [`${h}.attn.c_proj.bias`, [C], zeros],
      [`${h}.ln_2.weight`, [C], ones], [`${h}.ln_2.bias`, [C], zeros],
      [`${h}.mlp.c_fc.bias`, [4 * C], zeros], [`${h}.mlp.c_proj.bias`, [C], zeros],
    );
  }
  plain.push(['ln_f.weight', [C], ones], ['ln_f.bias', [C], zeros]);
  // Heads start at zero (the spec: reward and value heads are zero-initialised).
  if (heads.score) {
    decayed.push(['score.weight', [1, C], zeros]);
    plain.push(['score.bias', [1], zeros]);
  }
  if (heads.value) {
    decayed.push(['v_head.summary.weight', [1, C], zeros]);
    plain.push(['v_head.summary.bias', [1], zeros]);
  }
  const specs: ParamSpec[] = [];
  let offset = 0;
  const place = (list: [string, number[], Init][], decay: boolean) => {
    for (const [name, shape, init] of list) {
      const size = shape.reduce((a, b) => a * b, 1);
      specs.push({ name, shape, offset, size, decay, init });
      offset += Math.ceil(size / VIEW_ALIGN) * VIEW_ALIGN;
    }
  };
  place(decayed, true);
  const decayEnd = offset;
  place(plain, false);
  return { specs, byName: new Map(specs.map((s) => [s.name, s])), total: offset, decayEnd };
}

/** Parameters of a layout without its alignment padding. */
export function parameterCount(layout: ParamLayout): number {
  return layout.specs.reduce((n, s) => n + s.size, 0);
}
