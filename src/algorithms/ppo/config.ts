// PPOConfig: RLHF with PPO (ALGORITHMS.md §3), with TRL's PPOConfig names and the "trl" and
// "alpacafarm" presets.
import { booleanKey, enumKey, integerKey, numberKey, resolveConfig, stringKey, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

import { KL_ESTIMATORS, type KLEstimator } from '../../ops/ppo_losses.js';
export type PPOPreset = 'trl' | 'alpacafarm';

/** PPO's keys. The policy model is sft_model_path (so there is no model_name_or_path). */
export interface PPOConfig extends Omit<TrainingConfig, 'model_name_or_path'> {
  sft_model_path: string | null;
  reward_model_path: string | null;
  value_model_path: string | null;
  preset: PPOPreset | null;
  num_ppo_epochs: number;
  num_mini_batches: number;
  kl_coef: number;
  kl_estimator: KLEstimator;
  cliprange: number;
  cliprange_value: number;
  vf_coef: number;
  gamma: number;
  lam: number;
  whiten_rewards: boolean;
  temperature: number;
  response_length: number;
  stop_token_id: number | null;
  missing_eos_penalty: number | null;
  total_episodes: number | null;
  local_rollout_forward_batch_size: number;
  adaptive_kl_ctrl: boolean;
  kl_target: number;
  adaptive_kl_rate: number;
}

/** ALGORITHMS.md §3, exactly: the defaults each preset sets. */
export const PPO_PRESETS: Readonly<Record<PPOPreset, Partial<PPOConfig>>> = {
  trl: {
    kl_coef: 0.05, kl_estimator: 'k1', cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1,
    gamma: 1, lam: 0.95, whiten_rewards: false, num_ppo_epochs: 4, temperature: 0.7,
  },
  alpacafarm: {
    kl_coef: 0.0067, kl_estimator: 'clamped', gamma: 1, lam: 1, whiten_rewards: true, num_ppo_epochs: 2,
    cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1, temperature: 1.0, adam_epsilon: 1e-5,
  },
};

const { model_name_or_path: _policyIsSftModelPath, ...shared } = trainingKeys('ppo', { value: 3e-6, doc: "AdamW's learning rate, for the policy and the value model (TRL PPOConfig's default)." });

export const PPO_CONFIG: ConfigSchema<PPOConfig> = {
  name: 'PPO',
  keys: {
    ...shared,
    sft_model_path: stringKey(null, 'The SFT model folder: the policy starts from it, and the frozen reference is a copy of it; required on the command line.', { nullable: true }),
    reward_model_path: stringKey(null, 'The reward model folder (frozen; scores each response); required on the command line.', { nullable: true }),
    value_model_path: stringKey(null, 'The value model folder; null: initialised from the reward model with a new zero value head.', { nullable: true }),
    preset: enumKey(['trl', 'alpacafarm'] as const, 'trl', 'A set of defaults from ALGORITHMS.md §3 (listed below); keys set in the file or on the command line win; null: the plain defaults (the same as trl).', { nullable: true }),
    num_ppo_epochs: integerKey(4, 'Passes over each rollout batch.', { min: 1 }),
    num_mini_batches: integerKey(1, 'Minibatches per rollout batch, one optimizer step each; as in TRL a rollout batch is per_device_train_batch_size × gradient_accumulation_steps × num_mini_batches responses.', { min: 1 }),
    kl_coef: numberKey(0.05, 'β of the per-token KL penalty −β·kl_t (the starting β with adaptive_kl_ctrl).', { min: 0 }),
    kl_estimator: enumKey(KL_ESTIMATORS, 'k1', 'Per-token KL estimate, Δ = log π_θ − log π_ref: k1 Δ; k3 (e^−Δ − 1) + Δ; clamped max(Δ, 0) (AlpacaFarm).'),
    cliprange: numberKey(0.2, 'ε of the clipped policy loss: the ratio is clipped to [1 − ε, 1 + ε].', { min: 0, minExclusive: true }),
    cliprange_value: numberKey(0.2, 'ε_v of the clipped value loss: new values stay within ±ε_v of the old.', { min: 0, minExclusive: true }),
    vf_coef: numberKey(0.1, 'Weight of the value loss in L = L_pg + vf_coef·L_vf.', { min: 0 }),
    gamma: numberKey(1, 'γ, the discount of future rewards in GAE (1: none).', { min: 0, max: 1 }),
    lam: numberKey(0.95, 'λ of GAE: how far advantages look ahead (1: the full return, as AlpacaFarm).', { min: 0, max: 1 }),
    whiten_rewards: booleanKey(false, 'Divide the per-token rewards by their standard deviation (masked; the mean is kept) before GAE.'),
    temperature: numberKey(0.7, 'Sampling temperature of the rollouts (the log-probs use the same temperature).', { min: 0, minExclusive: true }),
    response_length: integerKey(53, 'Tokens sampled per response at most (TRL default).', { min: 1 }),
    stop_token_id: integerKey(null, "The token that ends a response; null: the tokenizer's EOS.", { min: 0, nullable: true }),
    missing_eos_penalty: numberKey(null, 'Subtracted from the score of a response that did not end with stop_token_id; null: no penalty.', { min: 0, nullable: true }),
    total_episodes: integerKey(null, 'Responses to train on in all; null: num_train_epochs × the number of prompts.', { min: 1, nullable: true }),
    local_rollout_forward_batch_size: integerKey(64, 'Sequences per forward pass when sampling and scoring rollouts (TRL default).', { min: 1 }),
    adaptive_kl_ctrl: booleanKey(false, 'Adapt β towards kl_target: β ← β·(1 + adaptive_kl_rate·clip(KL/kl_target − 1, −0.2, 0.2)).'),
    kl_target: numberKey(6, 'The KL (nats per response) the adaptive controller aims at.', { min: 0, minExclusive: true }),
    adaptive_kl_rate: numberKey(0.1, 'k_β, how fast the adaptive controller moves β.', { min: 0 }),
  },
  presets: { key: 'preset', values: PPO_PRESETS },
  check: checkTrainingConfig,
};

/** The full PPO config from options (preset defaults filled in; keys given win); throws ConfigError naming a bad key. */
export function ppoConfig(options: Partial<PPOConfig> = {}): PPOConfig {
  return resolveConfig(PPO_CONFIG, options, 'PPO options');
}
