// Research-pipeline settings small enough for a test: the pipeline suites share them.
import type { RLPRunConfig } from 'webrlhf';

/** A built-in RLP run of seconds. */
export const RLP_TINY: Partial<RLPRunConfig> = {
  n_embd: 32, n_layer: 1, n_head: 2, n_positions: 80, sft_max_steps: 40, sft_learning_rate: 1e-2, max_new_tokens: 12,
  task_sft_prompts: 200, task_preference_prompts: 24, task_unlabeled_prompts: 8, task_eval_prompts: 8,
  reward_num_train_epochs: 2, reward_batch_size: 8, ppo_total_episodes: 16, ppo_batch_size: 8, best_of_n: 2, rlp_num_samples: 4, spg_gamma: 0, generation_batch_size: 64,
  eval_samples_per_prompt: 2, eval_bootstrap_resamples: 50, spg_ablation: [],
};
