// PEFT's LoraConfig, with its keys, defaults and adapter_config.json: what an adapter is, as
// PEFT writes it, so a folder made here loads in PEFT and one made by PEFT loads here.
import { ConfigError } from '../../errors.js';
import type { ModelType } from '../architecture.js';

/** PEFT's task types this library's models are: a language model, or a scalar-head classifier (reward model). */
export type LoraTaskType = 'CAUSAL_LM' | 'SEQ_CLS';

/** The LoraConfig keys webrlhf reads, with PEFT's names. */
export interface LoraConfig {
  /** Rank of the update (PEFT default 8). */
  r: number;
  /** Scale numerator: the update is (lora_alpha / r)·B·A, or lora_alpha/√r with use_rslora (PEFT default 8). */
  lora_alpha: number;
  /** Dropout on a targeted layer's input before A (training only; PEFT default 0). */
  lora_dropout: number;
  /**
   * Modules to adapt: a list of names (a module matches a name equal to it or ending in
   * "." + it), one regular expression (matched against the whole module name), "all-linear"
   * (every linear map but the output layer), or null: PEFT's default for the family.
   */
  target_modules: string[] | string | null;
  /** Scale by lora_alpha/√r instead of lora_alpha/r (Rank-Stabilised LoRA). */
  use_rslora: boolean;
  /** Modules trained in full beside the adapter and saved with it (e.g. a reward model's `score`). */
  modules_to_save: string[] | null;
  task_type: LoraTaskType;
  /** Recorded in adapter_config.json: which base the adapter belongs to. */
  base_model_name_or_path: string | null;
  /** true: A as PEFT (Kaiming-uniform, a = √5), B zero; false: both random (tests); 'gaussian': A ~ N(0, 1/r). */
  init_lora_weights: boolean | 'gaussian';
}

export const LORA_DEFAULTS: LoraConfig = {
  r: 8, lora_alpha: 8, lora_dropout: 0, target_modules: null, use_rslora: false, modules_to_save: null,
  task_type: 'CAUSAL_LM', base_model_name_or_path: null, init_lora_weights: true,
};

/** PEFT's defaults when target_modules is null (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_TARGET_MODULES: Readonly<Record<ModelType, readonly string[]>> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
};

/**
 * PEFT keys that change what an adapter computes and that webrlhf does not implement: an
 * adapter_config.json setting one of them to anything but its neutral value is refused,
 * not silently misread.
 */
const NEUTRAL_KEYS: Record<string, (v: unknown) => boolean> = {
  bias: (v) => v === undefined || v === 'none',
  use_dora: (v) => !v,
  lora_bias: (v) => !v,
  layers_to_transform: (v) => v === undefined || v === null,
  layers_pattern: (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0),
  rank_pattern: (v) => v === undefined || v === null || (typeof v === 'object' && Object.keys(v as object).length === 0),
  alpha_pattern: (v) => v === undefined || v === null || (typeof v === 'object' && Object.keys(v as object).length === 0),
  exclude_modules: (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0),
  trainable_token_indices: (v) => v === undefined || v === null,
};

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * A complete, checked LoraConfig from PEFT's keys (defaults for the rest). `where` names the
 * source in messages (a file, "lora options"). Unknown keys are ignored as PEFT ignores
 * them; keys that change the math and are not supported are ConfigErrors.
 */
export function loraConfig(options: Partial<LoraConfig> | Record<string, unknown> = {}, where = 'LoRA config'): LoraConfig {
  const given = options as Record<string, unknown>;
  for (const [key, neutral] of Object.entries(NEUTRAL_KEYS)) {
    if (!neutral(given[key])) throw new ConfigError(`${where}: ${key} = ${JSON.stringify(given[key])} is not supported; webrlhf's LoRA is plain LoRA (bias "none", no DoRA, every layer, one rank and alpha)`);
  }
  if (given.peft_type !== undefined && given.peft_type !== 'LORA') throw new ConfigError(`${where}: peft_type ${JSON.stringify(given.peft_type)} is not LoRA; webrlhf loads LoRA adapters only`);
  const c = { ...LORA_DEFAULTS } as LoraConfig;
  for (const key of Object.keys(LORA_DEFAULTS) as (keyof LoraConfig)[]) {
    // PEFT writes null for some keys it leaves at their default (task_type).
    const v = given[key];
    if (v !== undefined && !(v === null && LORA_DEFAULTS[key] !== null)) (c as unknown as Record<string, unknown>)[key] = v;
  }
  if (!Number.isInteger(c.r) || c.r <= 0) throw new ConfigError(`${where}: r must be a positive integer (the adapter's rank), got ${JSON.stringify(c.r)}`);
  if (typeof c.lora_alpha !== 'number' || !Number.isFinite(c.lora_alpha) || c.lora_alpha <= 0) {
    throw new ConfigError(`${where}: lora_alpha must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  }
  if (typeof c.lora_dropout !== 'number' || !(c.lora_dropout >= 0 && c.lora_dropout < 1)) {
    throw new ConfigError(`${where}: lora_dropout must be in [0, 1), got ${JSON.stringify(c.lora_dropout)}`);
  }
  const t = c.target_modules;
  if (!(t === null || typeof t === 'string' || (isStringList(t) && t.length > 0))) {
    throw new ConfigError(`${where}: target_modules must be a list of module names, one regular expression, "all-linear" or null, got ${JSON.stringify(t)}`);
  }
  if (typeof t === 'string' && t !== 'all-linear') {
    try {
      new RegExp(t);
    } catch (e) {
      throw new ConfigError(`${where}: target_modules ${JSON.stringify(t)} is not a valid regular expression (${(e as Error).message})`);
    }
  }
  if (!(c.modules_to_save === null || isStringList(c.modules_to_save))) {
    throw new ConfigError(`${where}: modules_to_save must be a list of module names or null, got ${JSON.stringify(c.modules_to_save)}`);
  }
  if (c.task_type !== 'CAUSAL_LM' && c.task_type !== 'SEQ_CLS') {
    throw new ConfigError(`${where}: task_type ${JSON.stringify(c.task_type)} is not supported; use "CAUSAL_LM" (a language model) or "SEQ_CLS" (a reward model)`);
  }
  if (typeof c.use_rslora !== 'boolean') throw new ConfigError(`${where}: use_rslora must be true or false`);
  if (!(typeof c.init_lora_weights === 'boolean' || c.init_lora_weights === 'gaussian')) {
    throw new ConfigError(`${where}: init_lora_weights must be true, false or "gaussian", got ${JSON.stringify(c.init_lora_weights)}`);
  }
  return c;
}

/** The factor on B·A: lora_alpha/r, or lora_alpha/√r with use_rslora. */
export function loraScaling(c: Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora'>): number {
  return c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
}

/**
 * adapter_config.json as PEFT writes it. `targets` are the module names the adapter holds:
 * for "all-linear" or null, PEFT (0.21) records them in full; `fanInFanOut` is true for GPT-2's
 * Conv1D layers, whose weights are stored [in, out].
 */
export function adapterConfigJson(c: LoraConfig, targets: readonly string[], fanInFanOut: boolean): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: c.task_type,
    base_model_name_or_path: c.base_model_name_or_path,
    r: c.r,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: Array.isArray(c.target_modules) || (typeof c.target_modules === 'string' && c.target_modules !== 'all-linear') ? c.target_modules : [...targets].sort(),
    use_rslora: c.use_rslora,
    modules_to_save: c.modules_to_save,
    fan_in_fan_out: fanInFanOut,
    bias: 'none',
    init_lora_weights: c.init_lora_weights,
    inference_mode: true,
    use_dora: false,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
    auto_mapping: null,
  };
}
