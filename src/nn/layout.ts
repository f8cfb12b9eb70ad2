import { VIEW_ALIGN, type StoragePart } from '../backend/backend.js';
import { viewAlign, type DType } from '../backend/dtype.js';
import type { Architecture } from './architecture.js';
import { decoderTensors } from './decoder_tensors.js';

/** Which optional heads a model carries besides the tied LM head. */
export interface HeadOptions {
  /** Scalar (reward) head `score.*`, read at each sequence's last real token. */
  score?: boolean;
  /** Per-token value head `v_head.summary.*` (PPO critic, TRL's name). */
  value?: boolean;
}

/** The tensors of each optional head (weight, bias), as checkpoints name them. */
export const HEAD_TENSORS: Readonly<Record<keyof HeadOptions, readonly [string, string]>> = {
  score: ['score.weight', 'score.bias'],
  value: ['v_head.summary.weight', 'v_head.summary.bias'],
};

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

/** One parameter tensor's place in the contiguous parameter buffer. */
export interface ParamSpec {
  /** The Hugging Face name (`h.0.attn.c_attn.weight`, `model.layers.0.self_attn.q_proj.weight`). */
  name: string;
  shape: number[];
  /** Element offset in the buffer: a multiple of VIEW_ALIGN (of 128 for a 16-bit store), so each tensor can be viewed. */
  offset: number;
  size: number;
  /** AdamW weight decay applies (matrices and embeddings; not biases or norms). */
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
  /**
   * The tensors' offsets and row widths: where a buffer of this layout may be cut should it
   * need several device buffers (StorageOptions.parts): between tensors, or between the rows
   * of one larger than a buffer.
   */
  parts: StoragePart[];
}

/**
 * The weights of a model (decoderTensors: Hugging Face names and layouts) plus its heads,
 * placed in one buffer (packParameters), aligned for views of `dtype` (the matrices' storage).
 */
export function parameterLayout(arch: Architecture, heads: HeadOptions = {}, dtype: DType = 'f32'): ParamLayout {
  const C = arch.hiddenSize;
  const tensors: TensorInit[] = decoderTensors(arch).map(({ name, shape, init }) => ({ name, shape, init }));
  // Heads start at zero (the spec: reward and value heads are zero-initialised).
  const zeros: Init = { kind: 'zeros' };
  if (heads.score) tensors.push({ name: 'score.weight', shape: [1, C], init: zeros }, { name: 'score.bias', shape: [1], init: zeros });
  if (heads.value) tensors.push({ name: 'v_head.summary.weight', shape: [1, C], init: zeros }, { name: 'v_head.summary.bias', shape: [1], init: zeros });
  return packParameters(tensors, viewAlign(dtype));
}

/** A tensor to place in a parameter buffer. */
export interface TensorInit {
  name: string;
  shape: number[];
  init: Init;
}

/**
 * Places tensors in one buffer, each at a multiple of `align` elements (VIEW_ALIGN; 128,
 * viewAlign('bf16'), where the matrices are stored in 16 bits). Matrices come first: AdamW
 * decays them and not the vectors (biases, LayerNorm), so an update is two dispatches over
 * two ranges, not one per tensor; a 16-bit store keeps the matrices [0, decayEnd) in 16 bits
 * and the vectors in f32.
 */
export function packParameters(tensors: readonly TensorInit[], align = VIEW_ALIGN): ParamLayout {
  const specs: ParamSpec[] = [];
  let offset = 0;
  const place = (decay: boolean) => {
    for (const { name, shape, init } of tensors.filter((t) => (t.shape.length > 1) === decay)) {
      const size = shape.reduce((a, b) => a * b, 1);
      specs.push({ name, shape, offset, size, decay, init });
      offset += Math.ceil(size / align) * align;
    }
  };
  place(true);
  const decayEnd = offset;
  place(false);
  const parts = specs.map((s) => ({ offset: s.offset, width: s.shape.length > 1 ? s.shape[s.shape.length - 1]! : s.size }));
  return { specs, byName: new Map(specs.map((s) => [s.name, s])), total: offset, decayEnd, parts };
}

/** Parameters of a layout without its alignment padding. */
export function parameterCount(layout: ParamLayout): number {
  return layout.specs.reduce((n, s) => n + s.size, 0);
}
