// The LoRA keys of TRL's scripts (trl.ModelConfig: use_peft, lora_r, lora_alpha, ...), shared
// by every trainer: with use_peft a trainer trains a LoRA adapter on its frozen model instead
// of the model itself (docs/TRAINING.md).
import { CausalLM } from '../../nn/causal_lm.js';
import type { HeadOptions } from '../../nn/layout.js';
import { loraConfig, type LoraConfig, type LoraTaskType } from '../../nn/lora/lora_config.js';
import { ConfigError } from '../../errors.js';
import { booleanKey, enumKey, integerKey, numberKey, stringKey, type KeySpec } from './schema.js';

export interface PeftKeys {
  use_peft: boolean;
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target_modules: string | null;
  lora_modules_to_save: string | null;
  use_rslora: boolean;
  dtype: ModelDType;
}

/** TRL's names for the base's storage (ModelConfig.dtype), and webrlhf's. */
export const MODEL_DTYPES = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' } as const;
export type ModelDType = keyof typeof MODEL_DTYPES;

export const PEFT_KEYS: { [K in keyof PeftKeys]: KeySpec } = {
  use_peft: booleanKey(false, 'Train a LoRA adapter (PEFT\'s files) on the frozen model instead of the whole model (TRL\'s key).'),
  lora_r: integerKey(16, 'LoRA rank r (TRL\'s default).', { min: 1 }),
  lora_alpha: numberKey(32, 'LoRA scale numerator: the update is (lora_alpha / lora_r)·B·A (TRL\'s default).', { min: 0, minExclusive: true }),
  lora_dropout: numberKey(0.05, 'Dropout on an adapted layer\'s input in SFT and reward training (TRL\'s default; DPO, PPO and RLMEC turn it off, as TRL\'s disable_dropout does).', { min: 0, max: 1, maxExclusive: true }),
  lora_target_modules: stringKey(null, 'Modules to adapt: comma-separated names (q_proj,v_proj) or all-linear; null: PEFT\'s default for the family.', { nullable: true }),
  lora_modules_to_save: stringKey(null, 'Comma-separated modules trained in full and saved with the adapter (e.g. embed_tokens).', { nullable: true }),
  use_rslora: booleanKey(false, 'Scale the update by lora_alpha/√r instead of lora_alpha/r (Rank-Stabilised LoRA).'),
  dtype: enumKey(Object.keys(MODEL_DTYPES) as ModelDType[], 'float32', 'How the frozen base is stored with use_peft: bfloat16 or float16 halve its memory (computed in f32; TRL ModelConfig\'s dtype). Full fine-tuning trains float32 weights.'),
};

/** dtype other than float32 needs use_peft: a 16-bit model is frozen. */
export function checkPeftKeys(c: Pick<PeftKeys, 'use_peft' | 'dtype'>, source: string): void {
  if (c.dtype !== 'float32' && !c.use_peft) {
    throw new ConfigError(`${source}: dtype ${c.dtype} stores the model frozen in 16 bits, so only an adapter can train on it; set use_peft true, or dtype float32 for full fine-tuning`);
  }
}

const list = (v: string | null) => (v === null ? null : v === 'all-linear' ? v : v.split(',').map((s) => s.trim()).filter(Boolean));

/** The LoraConfig the keys describe, for a model of `task` (a reward model is SEQ_CLS). */
export function peftConfig(c: PeftKeys, task: LoraTaskType = 'CAUSAL_LM', base: string | null = null): LoraConfig {
  return loraConfig({
    r: c.lora_r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, target_modules: list(c.lora_target_modules),
    modules_to_save: list(c.lora_modules_to_save) as string[] | null, use_rslora: c.use_rslora, task_type: task, base_model_name_or_path: base,
  });
}

/**
 * The model a trainer trains: `model` itself, or with use_peft a new adapter on it (its
 * weights shared, frozen) with the heads asked for. `model` stays usable: the base itself,
 * e.g. DPO's reference.
 */
export async function trainedRole(model: CausalLM, c: PeftKeys, options: { task?: LoraTaskType; heads?: HeadOptions; base?: string | null } = {}): Promise<CausalLM> {
  if (!c.use_peft) return options.heads ? model.withHeads(options.heads) : model;
  return model.withAdapter(peftConfig(c, options.task, options.base ?? null), options.heads ? { heads: options.heads } : {});
}

/**
 * A new model a pipeline stage trains from `model`, which the pipeline keeps using (an
 * evaluation row, other stages' start): a copy of it with the heads asked for, or with
 * use_peft an adapter on it (its weights shared, frozen), so that every role costs an adapter.
 */
export function trainedCopy(model: CausalLM, c: PeftKeys, options: { task?: LoraTaskType; heads?: HeadOptions; base?: string | null } = {}): Promise<CausalLM> {
  return c.use_peft || options.heads ? trainedRole(model, c, options) : Promise.resolve(model.clone());
}

/**
 * The starting model a pipeline adapts, stored as `dtype` says: with use_peft and a 16-bit
 * dtype, a frozen 16-bit copy of `model` (trained here in f32), which is then disposed; else
 * `model` itself.
 */
export async function pipelineBase(model: CausalLM, c: PeftKeys): Promise<CausalLM> {
  const dtype = MODEL_DTYPES[c.dtype];
  // A model loaded in 16 bits already (loadModel's dtype) is kept as it is.
  if (!c.use_peft || dtype === 'f32' || model.params.dtype !== 'f32') return model;
  try {
    const weights = await model.readParameters();
    const o = { heads: model.heads, dtype, gradientCheckpointing: model.gradientCheckpointing, logitsChunkRows: model.logitsChunkRows };
    return CausalLM.fromWeights(model.backend, model.config, (s) => weights.get(s.name), { ...o, ...(model.generationConfig ? { generationConfig: model.generationConfig } : {}) });
  } finally {
    model.dispose();
  }
}
