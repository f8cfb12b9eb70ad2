// The keys every trainer shares, named as Hugging Face TrainingArguments names them, so a
// TRL config file carries over.
import { ConfigError } from '../../errors.js';
import type { BackendChoice } from '../../runtime/create_runtime.js';
import { PEFT_KEYS, type PeftKeys } from './peft.js';
import { booleanKey, enumKey, integerKey, numberKey, stringKey, type KeySpec } from './schema.js';

/**
 * Learning-rate schedules (src/training/schedule.ts). Each warms up linearly over the warm-up
 * steps; "constant_with_warmup" is the same as "constant" (TRL configs use both names).
 */
export type SchedulerType = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';
export const SCHEDULER_TYPES: readonly SchedulerType[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export interface TrainingConfig extends PeftKeys {
  output_dir: string;
  seed: number;
  learning_rate: number;
  lr_scheduler_type: SchedulerType;
  warmup_steps: number;
  warmup_ratio: number;
  num_train_epochs: number;
  max_steps: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  gradient_accumulation_steps: number;
  logging_steps: number;
  eval_steps: number | null;
  save_steps: number;
  save_total_limit: number | null;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  weight_decay: number;
  max_grad_norm: number;
  gradient_checkpointing: boolean;
  model_name_or_path: string | null;
  train_file: string | null;
  eval_file: string | null;
  skip_bad_lines: boolean;
  backend: BackendChoice;
  /** false: start afresh; true: the newest complete checkpoint in output_dir; a string: that checkpoint folder. */
  resume_from_checkpoint: boolean | string;
}

/**
 * The shared keys for `trainer` ("sft", ...: the default output_dir is runs/<trainer>), with
 * the trainer's own learning-rate default and its doc line.
 */
export function trainingKeys(trainer: string, learningRate: { value: number; doc: string }): { [K in keyof TrainingConfig]: KeySpec } {
  return {
    output_dir: stringKey(`runs/${trainer}`, 'Where the run writes config.json, metrics.jsonl, checkpoints and the final model folder.'),
    seed: integerKey(42, 'Seed of every random choice (initialisation, data order, sampling): same seed, same run.', { min: 0 }),
    learning_rate: numberKey(learningRate.value, learningRate.doc, { min: 0 }),
    lr_scheduler_type: enumKey(SCHEDULER_TYPES, 'linear', 'Learning-rate schedule after warm-up: constant, linear decay to 0, or half-cosine decay to 0 (Transformers\' default: linear).'),
    warmup_steps: integerKey(0, 'Steps of linear warm-up from 0 to learning_rate; when > 0 it wins over warmup_ratio.', { min: 0 }),
    warmup_ratio: numberKey(0, 'Warm-up as a fraction of the total steps (rounded up), used when warmup_steps is 0.', { min: 0, max: 1 }),
    num_train_epochs: numberKey(1, 'Passes over the training data (fractions allowed); ignored when max_steps > 0.', { min: 0, minExclusive: true }),
    max_steps: integerKey(-1, 'Optimizer steps to train for; -1 (or 0): from num_train_epochs.', { min: -1 }),
    per_device_train_batch_size: integerKey(8, 'Examples per forward/backward pass in training.', { min: 1 }),
    per_device_eval_batch_size: integerKey(8, 'Examples per forward pass in evaluation.', { min: 1 }),
    gradient_accumulation_steps: integerKey(1, 'Passes whose gradients are summed before each optimizer step (the batch of a step is this × per_device_train_batch_size).', { min: 1 }),
    logging_steps: integerKey(1, 'Write a metrics.jsonl line every this many optimizer steps.', { min: 1 }),
    eval_steps: integerKey(null, 'Evaluate on eval_file every this many optimizer steps; null: only at the end of training.', { min: 1, nullable: true }),
    save_steps: integerKey(500, 'Write a checkpoint every this many optimizer steps; the end of training writes final/ instead.', { min: 1 }),
    save_total_limit: integerKey(null, 'Keep only the newest this many checkpoints (older ones are deleted); null: keep all.', { min: 1, nullable: true }),
    adam_beta1: numberKey(0.9, "AdamW's β1 (Transformers' default).", { min: 0, max: 1, maxExclusive: true }),
    adam_beta2: numberKey(0.999, "AdamW's β2 (Transformers' default).", { min: 0, max: 1, maxExclusive: true }),
    adam_epsilon: numberKey(1e-8, "AdamW's ε (Transformers' default).", { min: 0, minExclusive: true }),
    weight_decay: numberKey(0, 'Decoupled weight decay of AdamW (Transformers\' default: 0).', { min: 0 }),
    max_grad_norm: numberKey(1, 'Clip the global gradient norm to this before each step; 0 turns clipping off (Transformers\' default: 1).', { min: 0 }),
    gradient_checkpointing: booleanKey(false, 'Keep only each block\'s input in the forward and recompute its activations in the backward: activation memory of one block instead of all, for one more forward per step (trained models only).'),
    model_name_or_path: stringKey(null, 'The model folder to start from (config.json + model.safetensors and its tokenizer); required on the command line.', { nullable: true }),
    train_file: stringKey(null, 'The training dataset, JSONL (docs/FORMATS.md); required on the command line.', { nullable: true }),
    eval_file: stringKey(null, 'An evaluation dataset in the same format; null: no evaluation.', { nullable: true }),
    skip_bad_lines: booleanKey(false, 'Skip dataset lines that are not JSON or lack a field, and report how many, instead of stopping with an error.'),
    backend: enumKey(['auto', 'webgpu', 'wasm'] as const, 'auto', 'Where the math runs: WebGPU, WebAssembly, or auto (WebGPU when a GPU is usable).'),
    ...PEFT_KEYS,
    resume_from_checkpoint: {
      type: ['boolean', 'string'],
      default: false,
      doc: 'true (--resume): continue from the newest complete checkpoint in output_dir; false: start afresh. A checkpoint path is not supported yet.',
      flags: ['resume'],
    },
  };
}

/** Checks between the shared keys; `source` names the config in the message. */
export function checkTrainingConfig(config: Pick<TrainingConfig, 'warmup_steps' | 'max_steps'>, source: string): void {
  if (config.warmup_steps > 0 && config.max_steps > 0 && config.warmup_steps > config.max_steps) {
    throw new ConfigError(`${source}: warmup_steps (${config.warmup_steps}) is more than max_steps (${config.max_steps}); lower warmup_steps or raise max_steps`);
  }
}
