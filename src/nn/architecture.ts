// A model family as the decoder driver sees it: the widths, and a small description of how
// a block is built (norm, positions, MLP, attention layout, biases, tied head). One driver
// (causal_lm.ts) runs every family from this description.
import { ConfigError } from '../errors.js';
import { checkGPTConfig, type GPTConfig } from './config.js';
import { checkLlamaConfig, rotaryOf, type LlamaConfig, type LlamaModelType } from './llama_config.js';
import type { RopeScaling } from './rotary.js';

export type ModelType = 'gpt2' | LlamaModelType;

/** A model's config.json: GPT-2's keys or the Llama family's. */
export type ModelConfig = GPTConfig | LlamaConfig;

/** The transformers classes webrlhf loads and saves, by model_type. */
export const SUPPORTED_ARCHITECTURES: Readonly<Record<ModelType, string>> = {
  gpt2: 'GPT2LMHeadModel',
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
};

export interface Architecture {
  modelType: ModelType;
  /** The transformers class (config.json's architectures[0]). */
  className: string;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  /** Key/value heads: fewer than `heads` is grouped-query attention. */
  kvHeads: number;
  headDim: number;
  /** MLP width. */
  intermediateSize: number;
  /** Longest sequence: rows of GPT-2's position table, max_position_embeddings for rotary models. */
  maxPositions: number;
  normEps: number;
  norm: 'layernorm' | 'rmsnorm';
  /** GELU MLP (GPT-2) or SiLU-gated (SwiGLU: down(silu(gate x) ⊙ up x)). */
  mlp: 'gelu' | 'swiglu';
  /** Learned position table (GPT-2), or rotary embeddings (base θ, scaling or null). */
  rotary: { theta: number; scaling: RopeScaling | null } | null;
  /** q, k and v from one projection (GPT-2's c_attn), or three. */
  fusedQKV: boolean;
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
  /** Per-head RMSNorm of q and k before the rotation (Qwen3). */
  qkNorm: boolean;
  /** The LM head is the token embedding (true) or its own lm_head.weight. */
  tiedHead: boolean;
  /** GPT-2's init scales the projections into the residual stream by 1/√(2L). */
  scaledResidualInit: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which family a config.json is: model_type, else architectures[0]; GPT-2 keys without either are GPT-2. */
export function modelTypeOf(raw: Record<string, unknown>, complain: (problem: string) => Error): ModelType {
  const supported = Object.entries(SUPPORTED_ARCHITECTURES).map(([t, cls]) => `${cls} (${t})`).join(', ');
  const arch = Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
  if (raw.architectures !== undefined && (!Array.isArray(raw.architectures) || !raw.architectures.every((a) => typeof a === 'string'))) {
    throw complain(`architectures is ${JSON.stringify(raw.architectures)}; it must be a list of strings`);
  }
  const type = raw.model_type;
  if (typeof type === 'string' && type in SUPPORTED_ARCHITECTURES) return type as ModelType;
  const byClass = Object.entries(SUPPORTED_ARCHITECTURES).find(([, cls]) => cls === arch);
  if (type === undefined && byClass) return byClass[0] as ModelType;
  if (type === undefined && arch === undefined && 'n_embd' in raw) return 'gpt2';
  const typeText = type !== undefined ? `model_type ${JSON.stringify(type)}` : undefined;
  const named = typeof arch === 'string' ? (typeText ? `${arch} (${typeText})` : arch) : (typeText ?? 'a config without model_type or architectures');
  throw complain(`${named} is not supported; webrlhf runs ${supported}`);
}

/**
 * A config.json checked as its family's transformers class reads it, with that class's
 * defaults filled in (GPT-2: n_positions from n_ctx, layer_norm_epsilon); other keys are kept.
 * Problems become `complain`'s error (ConfigError by default; CheckpointError for a file).
 */
export function checkModelConfig(config: unknown, complain: (problem: string) => Error = (p) => new ConfigError(`model config: ${p}`)): ModelConfig {
  return checkTyped(config, complain).config;
}

function checkTyped(config: unknown, complain: (problem: string) => Error): { type: 'gpt2'; config: GPTConfig } | { type: LlamaModelType; config: LlamaConfig } {
  if (!isObject(config)) throw complain(`it is ${Array.isArray(config) ? 'an array' : JSON.stringify(config)}, not a JSON object`);
  const type = modelTypeOf(config, complain);
  if (type === 'gpt2') return { type, config: checkGPTConfig(config as GPTConfig & Record<string, unknown>, complain) };
  return { type, config: checkLlamaConfig({ ...(config as LlamaConfig), model_type: type }, complain) };
}

/** The architecture of a config.json (GPT-2's keys or the Llama family's), checked as checkModelConfig does. */
export function architectureOf(config: ModelConfig | Record<string, unknown>, complain: (problem: string) => Error = (p) => new ConfigError(`model config: ${p}`)): Architecture {
  const checked = checkTyped(config, complain);
  if (checked.type === 'gpt2') {
    const c = checked.config;
    const C = c.n_embd;
    return {
      modelType: 'gpt2', className: SUPPORTED_ARCHITECTURES.gpt2, vocabSize: c.vocab_size, hiddenSize: C, layers: c.n_layer,
      heads: c.n_head, kvHeads: c.n_head, headDim: C / c.n_head, intermediateSize: c.n_inner ?? 4 * C,
      maxPositions: c.n_positions, normEps: c.layer_norm_epsilon, norm: 'layernorm', mlp: 'gelu', rotary: null,
      fusedQKV: true, qkvBias: true, outputBias: true, mlpBias: true, qkNorm: false, tiedHead: true, scaledResidualInit: true,
    };
  }
  const { type, config: c } = checked;
  const bias = c.attention_bias ?? false;
  return {
    modelType: type, className: SUPPORTED_ARCHITECTURES[type], vocabSize: c.vocab_size, hiddenSize: c.hidden_size,
    layers: c.num_hidden_layers, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads, intermediateSize: c.intermediate_size,
    maxPositions: c.max_position_embeddings, normEps: c.rms_norm_eps ?? 1e-6, norm: 'rmsnorm', mlp: 'swiglu',
    rotary: rotaryOf(c, complain), fusedQKV: false,
    qkvBias: type === 'qwen2' ? true : bias, outputBias: type === 'qwen2' ? false : bias, mlpBias: c.mlp_bias ?? false,
    qkNorm: type === 'qwen3', tiedHead: c.tie_word_embeddings ?? false, scaledResidualInit: false,
  };
}

/** The architecture fields that fix a checkpoint's tensors (and norms), by the config.json key that sets each. */
export function shapeKeys(arch: Pick<Architecture, 'modelType'>): [field: keyof Architecture, key: string][] {
  if (arch.modelType === 'gpt2') {
    return [['vocabSize', 'vocab_size'], ['maxPositions', 'n_positions'], ['hiddenSize', 'n_embd'], ['layers', 'n_layer'], ['heads', 'n_head'], ['normEps', 'layer_norm_epsilon']];
  }
  return [
    ['modelType', 'model_type'], ['vocabSize', 'vocab_size'], ['hiddenSize', 'hidden_size'], ['intermediateSize', 'intermediate_size'],
    ['layers', 'num_hidden_layers'], ['heads', 'num_attention_heads'], ['kvHeads', 'num_key_value_heads'], ['headDim', 'head_dim'],
    ['tiedHead', 'tie_word_embeddings'], ['qkvBias', 'attention_bias'], ['normEps', 'rms_norm_eps'],
  ];
}

/** The config.json key of the context length, for messages. */
export function positionsKey(arch: Pick<Architecture, 'modelType'>): string {
  return arch.modelType === 'gpt2' ? 'n_positions' : 'max_position_embeddings';
}

/**
 * config.json for a model of this config: the keys as given, with architectures and
 * model_type, and the weights' dtype (dtype, 4.x's torch_dtype) float32, as webrlhf saves them.
 */
export function configJson(config: ModelConfig): Record<string, unknown> {
  const arch = architectureOf(config);
  const dtypes = Object.fromEntries(['dtype', 'torch_dtype'].filter((k) => k in config).map((k) => [k, 'float32']));
  config = { ...config, ...dtypes };
  if (arch.modelType === 'gpt2') {
    const c = config as GPTConfig;
    return { architectures: [arch.className], model_type: 'gpt2', ...c, n_ctx: c.n_positions, activation_function: 'gelu_new', tie_word_embeddings: true };
  }
  return { architectures: [arch.className], ...config, model_type: arch.modelType };
}

/**
 * A checkpoint's tensor name as webrlhf names it, or ignore: GPT2LMHeadModel's "transformer."
 * prefix goes; a tied lm_head.weight (the embedding again), GPT-2's attention-mask buffers
 * (attn.bias, attn.masked_bias) and the rotary inv_freq buffers of old checkpoints are ignored.
 */
export function checkpointTensorName(arch: Pick<Architecture, 'modelType' | 'tiedHead'>, name: string): { name: string; ignore: boolean } {
  if (arch.modelType === 'gpt2') {
    const bare = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
    return { name: bare, ignore: bare === 'lm_head.weight' || /(^|\.)attn\.(bias|masked_bias)$/.test(bare) };
  }
  return { name, ignore: (arch.tiedHead && name === 'lm_head.weight') || name.endsWith('.rotary_emb.inv_freq') };
}
