// The settings of `webrlhf rlmec`: the whole RLMEC pipeline (ALGORITHMS.md §5) on the
// built-in arithmetic task or a user's problems — the starting policy, sampling, the
// teacher and the GRM, the RLMEC objective (RLMECConfig's keys), rounds — and the baselines
// trained on the same samples and budget for the comparison table.
import { RLMEC_KEYS, type RLMECConfig } from '../../algorithms/rlmec/config.js';
import { GRM_REWRITE_MODES, type GRMRewriteMode } from '../../algorithms/rlmec/rewrite_start.js';
import { ConfigError } from '../../errors.js';
import { booleanKey, enumKey, integerKey, numberKey, resolveConfig, stringKey, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig } from '../../training/config/training.js';
import { builtinPolicyKeys, type BuiltinPolicyConfig } from '../builtin_policy.js';

export interface RLMECRunConfig extends RLMECConfig, BuiltinPolicyConfig {
  seeds: number;
  baselines: boolean;
  rounds: number;
  task_difficulty: number;
  task_sft_problems: number;
  task_rl_problems: number;
  task_test_problems: number;
  num_samples: number;
  temperature: number;
  top_p: number;
  max_new_tokens: number;
  generation_batch_size: number;
  rewrites_file: string | null;
  grm_model_name_or_path: string | null;
  grm_max_steps: number;
  grm_learning_rate: number;
  grm_batch_size: number;
  grm_rewrite_mode: GRMRewriteMode;
  baseline_learning_rate: number;
  dpo_learning_rate: number;
  dpo_beta: number;
  ppo_learning_rate: number;
  ppo_batch_size: number;
  grpo_learning_rate: number;
  grpo_batch_size: number;
  tokens_html_samples: number;
}

export const RLMEC_RUN_CONFIG: ConfigSchema<RLMECRunConfig> = {
  name: 'RLMEC run',
  keys: {
    ...RLMEC_KEYS,
    num_train_epochs: { ...RLMEC_KEYS.num_train_epochs, default: 4, doc: 'Passes of RLMEC over its rows (the paper: 3; 4 here, with 4 samples per problem, gives the small model ~500 steps, which it needs to gain).' },
    output_dir: stringKey('runs/rlmec', 'Where the run writes config.json, results.json, samples.jsonl, tokens.html and a folder per seed and method (metrics.jsonl, final/).'),
    learning_rate: numberKey(2e-3, "AdamW's learning rate of the RLMEC policy (the paper used 5e-6 on 7B models; the default suits the built-in task's small model).", { min: 0 }),
    per_device_train_batch_size: integerKey(16, 'Samples per RLMEC step (an erroneous sample brings its rewrite row too).', { min: 1 }),
    per_device_eval_batch_size: integerKey(64, 'Rows per forward pass when the reference scores the samples.', { min: 1 }),
    save_steps: integerKey(100000, 'Write a checkpoint every this many optimizer steps (the stages are short; final/ is always written).', { min: 1 }),
    model_name_or_path: stringKey(null, 'The policy to start from (a model folder with its tokenizer); null: a small GPT-2 trained by SFT on the built-in task first (the n_* and sft_* keys).', { nullable: true }),
    train_file: stringKey(null, 'Problems to sample on, JSONL {question, solution, answer} (docs/FORMATS.md); null: the built-in arithmetic task.', { nullable: true }),
    eval_file: stringKey(null, 'Test problems for the accuracy table, JSONL {question, solution, answer}; required with train_file.', { nullable: true }),
    seeds: integerKey(1, 'Repeat the whole pipeline with seeds seed, seed+1, …; the table gives mean ± standard error over them.', { min: 1 }),
    baselines: booleanKey(true, 'Also train SFT (more steps), RFT, DPO (correct vs wrong), PPO, RLOO and GRPO (correctness reward) and GRPO + GRM token rewards from the same start on the same problems and budget, for the table.'),
    rounds: integerKey(1, 'RLMEC rounds: each after the first re-samples from the current policy and re-rewards with the GRM (offline within a round).', { min: 1 }),
    task_difficulty: integerKey(2, 'Built-in task: 1 = one +/− step, 2 = two steps, 3 = three steps with ×.', { min: 1, max: 3 }),
    task_sft_problems: integerKey(1000, 'Built-in task: problems with solutions for the starting policy\'s SFT.', { min: 1 }),
    task_rl_problems: integerKey(600, 'Built-in task: problems the policy samples on (the RL methods\' data).', { min: 1 }),
    task_test_problems: integerKey(300, 'Built-in task: held-out problems for test accuracy.', { min: 1 }),
    ...builtinPolicyKeys({ n_positions: 384, positionsWhy: 'the GRM, a copy, reads the problem, solution, prediction and rewrite in it', sft_max_steps: 700, data: "the task's solutions" }),
    num_samples: integerKey(4, 'Solutions sampled per problem, and the group size of the RLOO and GRPO baselines (the paper: 5; with 4 the 3-seed table took 14 minutes on 2 CPU cores before the RLOO and GRPO rows).', { min: 1 }),
    temperature: numberKey(0.7, 'Sampling temperature (the paper: 0.7).', { min: 0, minExclusive: true }),
    top_p: numberKey(0.95, 'Nucleus sampling (the paper: 0.95).', { min: 0, max: 1, minExclusive: true }),
    max_new_tokens: integerKey(48, 'Tokens per solution (and per GRM rewrite) at most.', { min: 1 }),
    generation_batch_size: integerKey(128, 'Sequences per device batch when sampling, rewriting and scoring.', { min: 1 }),
    rewrites_file: stringKey(null, 'The teacher: rewrites of this run\'s samples by another model, JSONL {question, prediction, rewrite}; null: the built-in step checker (built-in task) or the reference solution line by line.', { nullable: true }),
    grm_model_name_or_path: stringKey(null, 'The GRM to train; null: a copy of the starting policy.', { nullable: true }),
    grm_max_steps: integerKey(800, 'SFT steps of the GRM on the locate/rewrite/copy examples (at 400 it rewrote 18% of one seed\'s wrong samples right, against 91–95% at 800; docs/RLMEC.md).', { min: 1 }),
    grm_learning_rate: numberKey(2e-3, 'SFT learning rate of the GRM.', { min: 0 }),
    grm_batch_size: integerKey(12, 'GRM examples per SFT step.', { min: 1 }),
    grm_rewrite_mode: enumKey(GRM_REWRITE_MODES, 'locate_then_rewrite', 'How the trained GRM rewrites a wrong sample: locate_then_rewrite (as the RLMEC authors\' code: it first answers the locate prompt, then continues the rewrite after the prediction\'s steps before the located one; an unusable locate answer falls back to the free rewrite, counted) or free (the whole rewrite generated). The report gives both modes\' rewrite success.'),
    baseline_learning_rate: numberKey(2e-3, 'Learning rate of the SFT (more steps) and RFT baselines.', { min: 0 }),
    dpo_learning_rate: numberKey(2e-5, 'Learning rate of the DPO baseline.', { min: 0 }),
    dpo_beta: numberKey(0.1, 'β of the DPO baseline.', { min: 0, minExclusive: true }),
    ppo_learning_rate: numberKey(1e-4, 'Learning rate of the PPO baseline (policy and value model).', { min: 0 }),
    ppo_batch_size: integerKey(32, 'Rollouts per PPO step; PPO samples as many solutions in all as the others got.', { min: 1 }),
    grpo_learning_rate: numberKey(3e-5, 'Learning rate of the RLOO, GRPO and GRPO + GRM token rewards baselines (on the built-in task, 1e-4 and 3e-4 lowered test accuracy more; docs/RLMEC.md).', { min: 0 }),
    grpo_batch_size: integerKey(32, 'Completions per step of the RLOO, GRPO and GRPO + GRM baselines (their per_device_train_batch_size): num_samples of each of grpo_batch_size / num_samples problems, so a multiple of num_samples; they sample as many completions in all as the others got.', { min: 1 }),
    tokens_html_samples: integerKey(24, 'Samples shown in tokens.html (erroneous and correct alternately).', { min: 0 }),
  },
  check(config, source) {
    checkTrainingConfig(config, source);
    if (config.n_embd % config.n_head !== 0) throw new ConfigError(`${source}: n_head (${config.n_head}) must divide n_embd (${config.n_embd})`);
    if ((config.train_file === null) !== (config.eval_file === null)) {
      throw new ConfigError(`${source}: train_file and eval_file go together (your problems and your test problems); set both, or neither for the built-in task`);
    }
    if (config.baselines && config.grpo_batch_size % config.num_samples !== 0) {
      throw new ConfigError(`${source}: grpo_batch_size (${config.grpo_batch_size}) must be a multiple of num_samples (${config.num_samples}): the GRPO and RLOO baselines take every step's completions as whole groups of num_samples per problem; e.g. grpo_batch_size ${config.num_samples * Math.max(1, Math.round(config.grpo_batch_size / config.num_samples))}`);
    }
    if (config.train_file !== null && config.model_name_or_path === null) {
      throw new ConfigError(`${source}: train_file needs model_name_or_path, the policy to start from (an SFT model of your task, e.g. from webrlhf sft)`);
    }
  },
};

/** The full run config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function rlmecRunConfig(options: Partial<RLMECRunConfig> = {}): RLMECRunConfig {
  return resolveConfig(RLMEC_RUN_CONFIG, options, 'RLMEC run options');
}
