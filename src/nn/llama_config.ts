// The Llama family's config.json (LlamaForCausalLM: SmolLM2; Qwen2ForCausalLM: Qwen2.5;
// Qwen3ForCausalLM: Qwen3) under transformers' own keys, as 4.x writes them (rope_theta and
// rope_scaling at the top level) and as 5.x does (both inside rope_parameters).
import { ConfigError } from '../errors.js';
import { ROPE_TYPES, type RopeScaling } from './rotary.js';

export type LlamaModelType = 'llama' | 'qwen2' | 'qwen3';

/** config.json of a Llama-family model. Other keys are kept as they are, on load and on save. */
export interface LlamaConfig {
  model_type: LlamaModelType;
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped-query attention: KV heads (default num_attention_heads). */
  num_key_value_heads?: number;
  /** Default hidden_size / num_attention_heads (Qwen3 sets it apart). */
  head_dim?: number;
  rms_norm_eps?: number;
  max_position_embeddings: number;
  tie_word_embeddings?: boolean;
  /** Biases on q/k/v/o (Llama, Qwen3); Qwen2 always has q/k/v biases and no o bias. */
  attention_bias?: boolean;
  mlp_bias?: boolean;
  hidden_act?: string;
  /** transformers 4.x. */
  rope_theta?: number;
  rope_scaling?: RopeScaling | null;
  /** transformers 5.x: rope_theta, rope_type and the scaling keys together. */
  rope_parameters?: RopeScaling;
  [key: string]: unknown;
}

/** transformers' defaults where config.json leaves a key out (LlamaConfig, Qwen2Config, Qwen3Config). */
const DEFAULTS: Record<LlamaModelType, { rms_norm_eps: number; rope_theta: number }> = {
  llama: { rms_norm_eps: 1e-6, rope_theta: 10000 },
  qwen2: { rms_norm_eps: 1e-6, rope_theta: 10000 },
  qwen3: { rms_norm_eps: 1e-6, rope_theta: 10000 },
};

/** The rotary embedding a config asks for: base θ and the scaling (null: none). */
export interface Rotary {
  theta: number;
  scaling: RopeScaling | null;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** rope_theta and rope_scaling from either layout of config.json, checked. */
export function rotaryOf(c: LlamaConfig, complain: (problem: string) => Error): Rotary {
  const params = c.rope_parameters;
  if (params !== undefined && !isObject(params)) throw complain(`rope_parameters is ${JSON.stringify(params)}; it must be an object`);
  const legacy = c.rope_scaling;
  if (legacy !== undefined && legacy !== null && !isObject(legacy)) throw complain(`rope_scaling is ${JSON.stringify(legacy)}; it must be null or an object`);
  const theta = params?.rope_theta ?? c.rope_theta ?? DEFAULTS[c.model_type].rope_theta;
  if (typeof theta !== 'number' || !(theta > 0)) throw complain(`rope_theta is ${JSON.stringify(theta)}; it must be a positive number`);
  const scaling = params ?? legacy ?? null;
  const type = scaling ? (scaling.rope_type ?? scaling.type ?? 'default') : 'default';
  if (!(ROPE_TYPES as readonly unknown[]).includes(type)) {
    throw complain(`rope type ${JSON.stringify(type)} is not supported; webrlhf computes ${ROPE_TYPES.join(' and ')} rotary embeddings`);
  }
  return { theta, scaling: type === 'default' ? null : { ...scaling, rope_type: type } };
}

/**
 * Checks the keys that shape a Llama-family model, on a copy of a parsed config.json (other
 * keys are kept). `complain` turns a problem into the caller's error (ConfigError, or
 * CheckpointError for a file).
 */
export function checkLlamaConfig(raw: LlamaConfig, complain: (problem: string) => Error): LlamaConfig {
  const c: LlamaConfig = { ...raw };
  for (const key of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings'] as const) {
    if (!isPositiveInt(c[key])) throw complain(`${key} is ${c[key] === undefined ? 'missing' : JSON.stringify(c[key])}; it must be a positive integer`);
  }
  for (const key of ['num_key_value_heads', 'head_dim'] as const) {
    if (c[key] !== undefined && c[key] !== null && !isPositiveInt(c[key])) throw complain(`${key} is ${JSON.stringify(c[key])}; it must be a positive integer`);
  }
  const kv = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kv !== 0) {
    throw complain(`num_key_value_heads ${kv} does not divide num_attention_heads ${c.num_attention_heads}; grouped-query attention shares each KV head among a whole number of query heads`);
  }
  if (c.head_dim == null && c.hidden_size % c.num_attention_heads !== 0) {
    throw complain(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}; set head_dim`);
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (headDim % 2 !== 0) throw complain(`head_dim ${headDim} is odd; rotary embeddings rotate pairs of dimensions`);
  const eps = c.rms_norm_eps ?? DEFAULTS[c.model_type].rms_norm_eps;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw complain(`rms_norm_eps is ${JSON.stringify(eps)}; it must be a positive number`);
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') throw complain(`hidden_act is ${JSON.stringify(c.hidden_act)}; webrlhf's Llama family uses silu (SwiGLU)`);
  for (const key of ['tie_word_embeddings', 'attention_bias', 'mlp_bias'] as const) {
    if (c[key] !== undefined && typeof c[key] !== 'boolean') throw complain(`${key} is ${JSON.stringify(c[key])}; it must be true or false`);
  }
  const layerTypes = c.layer_types;
  const sliding = c.use_sliding_window === true || (Array.isArray(layerTypes) && layerTypes.some((t) => t !== 'full_attention'));
  if (sliding) throw complain('sliding-window attention (use_sliding_window / layer_types) is not supported; webrlhf attends over the full context');
  rotaryOf(c, complain);
  return c;
}

/** Checks a Llama-family config given in code (ConfigError). */
export function llamaConfig(raw: LlamaConfig): LlamaConfig {
  return checkLlamaConfig(raw, (problem) => new ConfigError(`${raw.model_type} config: ${problem}`));
}
