// Every weight of a decoder in its Hugging Face name, shape and layout, and the role each
// plays in a block: the one list the parameter layout, the driver, the incremental decoder
// and the folder checks share.
import type { Architecture } from './architecture.js';
import type { Init } from './layout.js';

/**
 * A linear map y = x·W (+ b). GPT-2's Conv1D stores W input-major [in, out]; nn.Linear
 * (the Llama family) stores it output-major [out, in].
 */
export interface LinearRef {
  weight: string;
  bias: string | undefined;
  in: number;
  out: number;
  inputMajor: boolean;
}

/** A LayerNorm (weight and bias) or an RMSNorm (weight only) over rows of `width`. */
export interface NormRef {
  weight: string;
  bias: string | undefined;
  width: number;
}

export interface BlockRefs {
  attnNorm: NormRef;
  /** GPT-2's c_attn (q, k, v side by side in its output) or three projections. */
  qkv: { fused: LinearRef } | { q: LinearRef; k: LinearRef; v: LinearRef };
  /** Qwen3's per-head norms of q and k (width head_dim). */
  qNorm: NormRef | undefined;
  kNorm: NormRef | undefined;
  o: LinearRef;
  mlpNorm: NormRef;
  /** SwiGLU's gate; absent for GPT-2's GELU MLP. */
  gate: LinearRef | undefined;
  up: LinearRef;
  down: LinearRef;
}

export interface DecoderRefs {
  /** Token embedding [V, C]. */
  embed: string;
  /** GPT-2's position table [P, C]; undefined with rotary positions. */
  positions: string | undefined;
  blocks: BlockRefs[];
  finalNorm: NormRef;
  /** The LM head's [V, C] matrix: the embedding when tied, else lm_head.weight. */
  lmHead: string;
}

/** One weight: its name, shape, initial values, and (for messages) the config keys its shape comes from. */
export interface TensorSpec {
  name: string;
  shape: number[];
  init: Init;
  because: string;
}

/** The roles of a model's weights, named as transformers names them in this family's checkpoints. */
export function decoderRefs(a: Architecture): DecoderRefs {
  const gpt2 = a.modelType === 'gpt2';
  const C = a.hiddenSize;
  const linear = (weight: string, inDim: number, out: number, bias: boolean): LinearRef =>
    ({ weight: `${weight}.weight`, bias: bias ? `${weight}.bias` : undefined, in: inDim, out, inputMajor: gpt2 });
  const norm = (name: string, width = C): NormRef => ({ weight: `${name}.weight`, bias: a.norm === 'layernorm' ? `${name}.bias` : undefined, width });
  const blocks: BlockRefs[] = [];
  for (let l = 0; l < a.layers; l++) {
    if (gpt2) {
      const h = `h.${l}`;
      blocks.push({
        attnNorm: norm(`${h}.ln_1`), qkv: { fused: linear(`${h}.attn.c_attn`, C, 3 * C, true) }, qNorm: undefined, kNorm: undefined,
        o: linear(`${h}.attn.c_proj`, C, C, true), mlpNorm: norm(`${h}.ln_2`), gate: undefined,
        up: linear(`${h}.mlp.c_fc`, C, a.intermediateSize, true), down: linear(`${h}.mlp.c_proj`, a.intermediateSize, C, true),
      });
      continue;
    }
    const h = `model.layers.${l}`;
    const attn = `${h}.self_attn`;
    const [qw, kvw] = [a.heads * a.headDim, a.kvHeads * a.headDim];
    blocks.push({
      attnNorm: norm(`${h}.input_layernorm`),
      qkv: { q: linear(`${attn}.q_proj`, C, qw, a.qkvBias), k: linear(`${attn}.k_proj`, C, kvw, a.qkvBias), v: linear(`${attn}.v_proj`, C, kvw, a.qkvBias) },
      qNorm: a.qkNorm ? norm(`${attn}.q_norm`, a.headDim) : undefined,
      kNorm: a.qkNorm ? norm(`${attn}.k_norm`, a.headDim) : undefined,
      o: linear(`${attn}.o_proj`, qw, C, a.outputBias),
      mlpNorm: norm(`${h}.post_attention_layernorm`),
      gate: linear(`${h}.mlp.gate_proj`, C, a.intermediateSize, a.mlpBias),
      up: linear(`${h}.mlp.up_proj`, C, a.intermediateSize, a.mlpBias),
      down: linear(`${h}.mlp.down_proj`, a.intermediateSize, C, a.mlpBias),
    });
  }
  const embed = gpt2 ? 'wte.weight' : 'model.embed_tokens.weight';
  return {
    embed,
    positions: gpt2 ? 'wpe.weight' : undefined,
    blocks,
    finalNorm: norm(gpt2 ? 'ln_f' : 'model.norm'),
    lmHead: a.tiedHead ? embed : 'lm_head.weight',
  };
}

/** The attention's linear maps: q, k, v (or GPT-2's fused one), then the output projection. */
export function attentionLinears(b: BlockRefs): LinearRef[] {
  return [...('fused' in b.qkv ? [b.qkv.fused] : [b.qkv.q, b.qkv.k, b.qkv.v]), b.o];
}

/** The MLP's linear maps: gate (SwiGLU), up, down. */
export function mlpLinears(b: BlockRefs): LinearRef[] {
  return [...(b.gate ? [b.gate] : []), b.up, b.down];
}

/**
 * Every weight of the model, in checkpoint order, with its Hugging Face name and layout.
 * Inits follow the family: GPT-2's N(0, 0.02) with residual projections scaled by 1/√(2L)
 * and a position table of std 0.01; the Llama family's N(0, 0.02) (initializer_range).
 */
export function decoderTensors(a: Architecture, refs = decoderRefs(a)): TensorSpec[] {
  const keys = a.modelType === 'gpt2'
    ? { V: 'vocab_size', C: 'n_embd', P: 'n_positions', F: 'n_inner', H: 'n_head', D: 'n_embd / n_head' }
    : { V: 'vocab_size', C: 'hidden_size', P: 'max_position_embeddings', F: 'intermediate_size', H: 'num_attention_heads', D: 'head_dim' };
  const dimName = (n: number) => {
    if (n === a.hiddenSize) return `${keys.C} ${n}`;
    if (n === a.intermediateSize) return `${keys.F} ${n}`;
    if (n === a.vocabSize) return `${keys.V} ${n}`;
    if (n === a.headDim) return `${keys.D} ${n}`;
    if (n === a.heads * a.headDim) return `${keys.H} ${a.heads} × ${keys.D} ${a.headDim}`;
    if (n === a.kvHeads * a.headDim) return `num_key_value_heads ${a.kvHeads} × ${keys.D} ${a.headDim}`;
    return `${keys.C} ${a.hiddenSize}`;
  };
  const because = (shape: number[]) => [...new Set(shape.map(dimName))].join(', ');
  const normal = (std: number): Init => ({ kind: 'normal', std });
  const residual = a.scaledResidualInit ? 0.02 / Math.sqrt(2 * a.layers) : 0.02;
  const out: TensorSpec[] = [];
  const add = (name: string, shape: number[], init: Init, why = because(shape)) => out.push({ name, shape, init, because: why });
  const addNorm = (n: NormRef | undefined) => {
    if (!n) return;
    add(n.weight, [n.width], { kind: 'ones' });
    if (n.bias) add(n.bias, [n.width], { kind: 'zeros' });
  };
  const addLinear = (l: LinearRef, std: number) => {
    add(l.weight, l.inputMajor ? [l.in, l.out] : [l.out, l.in], normal(std));
    if (l.bias) add(l.bias, [l.out], { kind: 'zeros' });
  };
  add(refs.embed, [a.vocabSize, a.hiddenSize], normal(0.02));
  if (refs.positions) add(refs.positions, [a.maxPositions, a.hiddenSize], normal(0.01), `${keys.P} ${a.maxPositions}, ${keys.C} ${a.hiddenSize}`);
  // GPT-2's order (ln_1, c_attn, c_proj, ln_2, c_fc, c_proj) fixes the order of its seeded init.
  for (const b of refs.blocks) {
    addNorm(b.attnNorm);
    for (const l of attentionLinears(b)) addLinear(l, l === b.o ? residual : 0.02);
    addNorm(b.qNorm);
    addNorm(b.kNorm);
    addNorm(b.mlpNorm);
    for (const l of mlpLinears(b)) addLinear(l, l === b.down ? residual : 0.02);
  }
  addNorm(refs.finalNorm);
  if (!a.tiedHead) add(refs.lmHead, [a.vocabSize, a.hiddenSize], normal(0.02));
  return out;
}
