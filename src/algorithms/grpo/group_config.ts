// The keys GRPOConfig and RLOOConfig share (TRL's names and defaults, ALGORITHMS.md §7): how
// many completions per prompt, how they are sampled and batched, the clipped ratio, the
// reward functions and their weights.
import { ConfigError } from '../../errors.js';
import { booleanKey, integerKey, numberKey, numberListKey, stringListKey, type KeySpec } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

export interface GroupConfig extends TrainingConfig {
  num_generations: number;
  max_completion_length: number;
  generation_batch_size: number | null;
  steps_per_generation: number | null;
  temperature: number;
  top_p: number;
  top_k: number;
  beta: number;
  num_iterations: number;
  epsilon: number;
  epsilon_high: number | null;
  reward_funcs: string[] | null;
  reward_weights: number[] | null;
  mask_truncated_completions: boolean;
  shuffle_dataset: boolean;
  disable_dropout: boolean;
}

/** The shared keys, with the trainer's own defaults where TRL's differ (GRPO: 8 generations, β 0; RLOO: 2, β 0.05). */
export function groupKeys(trainer: 'grpo' | 'rloo', d: { num_generations: number; beta: number; betaDoc: string }): { [K in keyof GroupConfig]: KeySpec } {
  return {
    ...trainingKeys(trainer, { value: 1e-6, doc: `AdamW's learning rate (TRL ${trainer === 'grpo' ? 'GRPOConfig' : 'RLOOConfig'}'s default).` }),
    per_device_train_batch_size: integerKey(8, 'Completions (not prompts, as in TRL) per micro-batch: per forward/backward pass.', { min: 1 }),
    num_generations: integerKey(d.num_generations, 'Completions sampled per prompt (G): the group the advantages compare within; generation_batch_size must be a multiple of it.', { min: 2 }),
    max_completion_length: integerKey(512, 'Tokens per completion at most (TRL default); a completion that reaches it without EOS is truncated.', { min: 1 }),
    generation_batch_size: integerKey(null, 'Completions per generation (a multiple of num_generations): sampled and scored together, then split into steps_per_generation micro-batches of per_device_train_batch_size; null: per_device_train_batch_size × steps_per_generation.', { min: 1, nullable: true }),
    steps_per_generation: integerKey(null, 'Micro-batches each generation is split into; null: gradient_accumulation_steps (one generation per optimizer step).', { min: 1, nullable: true }),
    temperature: numberKey(1, 'Sampling temperature; the log-probs of the loss use the same temperature (TRL).', { min: 0, minExclusive: true }),
    top_p: numberKey(1, 'Nucleus sampling: keep the smallest set of likely tokens whose probability reaches top_p (1: off).', { min: 0, max: 1, minExclusive: true }),
    top_k: integerKey(0, 'Keep only the k most likely tokens when sampling (0: off).', { min: 0 }),
    beta: numberKey(d.beta, d.betaDoc, { min: 0 }),
    num_iterations: integerKey(1, 'μ: optimisation passes over each generation; beyond the first, the ratio is against the log-probs the policy had when it sampled (π_old).', { min: 1 }),
    epsilon: numberKey(0.2, 'ε of the clipped ratio: its lower bound is 1 − epsilon (and its upper 1 + epsilon unless epsilon_high is set).', { min: 0, minExclusive: true }),
    epsilon_high: numberKey(null, 'The upper clip bound 1 + epsilon_high (DAPO\'s clip-higher recommends 0.28); null: epsilon.', { min: 0, minExclusive: true, nullable: true }),
    reward_funcs: stringListKey(null, 'Command line: the reward functions, each a module file (./rewards.mjs: its exported functions; ./rewards.mjs#name: one), a built-in (accuracy, format, soft_overlong, repetition), or a model folder with a score head; the library takes functions instead.', { nullable: true }),
    reward_weights: numberListKey(null, 'A weight per reward function, in their order; null: 1 each.', { nullable: true }),
    mask_truncated_completions: booleanKey(false, 'Leave completions that reached max_completion_length without EOS out of the loss (DAPO).'),
    shuffle_dataset: booleanKey(true, 'Shuffle the prompts each epoch (seeded); false: the file\'s order.'),
    disable_dropout: booleanKey(false, 'Turn LoRA dropout off in the policy (TRL\'s key; its default keeps dropout on).'),
  };
}

/** The batch arithmetic both trainers check at construction, as TRL's __post_init__ does. */
export function checkGroupConfig(c: GroupConfig, source: string): void {
  checkTrainingConfig(c, source);
  if (c.generation_batch_size !== null && c.steps_per_generation !== null) {
    throw new ConfigError(`${source}: set generation_batch_size or steps_per_generation, not both (each decides the other, as in TRL)`);
  }
  const steps = c.steps_per_generation ?? c.gradient_accumulation_steps;
  const generation = c.generation_batch_size ?? c.per_device_train_batch_size * steps;
  if (generation % c.num_generations !== 0) {
    throw new ConfigError(`${source}: generation_batch_size (${generation}${c.generation_batch_size === null ? ` = per_device_train_batch_size × steps_per_generation` : ''}) must be a multiple of num_generations (${c.num_generations}); change either`);
  }
  if (generation % c.per_device_train_batch_size !== 0) {
    throw new ConfigError(`${source}: generation_batch_size (${generation}) must be a multiple of per_device_train_batch_size (${c.per_device_train_batch_size}): a generation splits into whole micro-batches`);
  }
  if (c.reward_funcs !== null && c.reward_weights !== null && c.reward_funcs.length !== c.reward_weights.length) {
    throw new ConfigError(`${source}: reward_weights has ${c.reward_weights.length} weight(s) for ${c.reward_funcs.length} reward function(s); give one weight per function`);
  }
}

/** A generation's size and how it splits, resolved from the keys. */
export function generationShape(c: GroupConfig): { completions: number; prompts: number; microBatches: number } {
  const microBatches = c.steps_per_generation ?? c.gradient_accumulation_steps;
  const completions = c.generation_batch_size ?? c.per_device_train_batch_size * microBatches;
  return { completions, prompts: completions / c.num_generations, microBatches: completions / c.per_device_train_batch_size };
}
