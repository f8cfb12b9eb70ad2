// GRPOConfig: group relative policy optimisation (ALGORITHMS.md §7) with TRL's GRPOConfig
// names and defaults.
import { ConfigError } from '../../errors.js';
import { GRPO_LOSS_TYPES, IMPORTANCE_SAMPLING_LEVELS, type GRPOLossType } from '../../ops/grpo_loss.js';
import { booleanKey, enumKey, numberKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { SCALE_REWARDS, type ScaleRewards } from './advantages.js';
import { checkGroupConfig, groupKeys, type GroupConfig } from './group_config.js';

export interface GRPOConfig extends GroupConfig {
  loss_type: Exclude<GRPOLossType, 'rloo'>;
  scale_rewards: ScaleRewards;
  importance_sampling_level: 'token' | 'sequence';
  delta: number | null;
  use_bias_correction_kl: boolean;
}

export const GRPO_CONFIG: ConfigSchema<GRPOConfig> = {
  name: 'GRPO',
  keys: {
    ...groupKeys('grpo', { num_generations: 8, beta: 0, betaDoc: 'β of the k3 KL penalty to the reference, added per token to the loss; 0 (TRL default): no reference model is kept (DeepSeek-R1 used 0.001).' }),
    loss_type: enumKey(GRPO_LOSS_TYPES.filter((t) => t !== 'rloo'), 'dapo', 'How token losses are averaged: grpo per sequence then over sequences; bnpo over the micro-batch\'s tokens; dr_grpo over rows × max_completion_length; dapo (TRL default) over the whole generation\'s tokens.'),
    scale_rewards: enumKey(SCALE_REWARDS, 'group', 'Divide advantages by the group\'s reward std (group), the generation batch\'s (batch), or not at all (none: Dr. GRPO).'),
    importance_sampling_level: enumKey(IMPORTANCE_SAMPLING_LEVELS.filter((l) => l !== 'sequence_sum'), 'token', 'One ratio per token (token), or one per sequence from the mean log-ratio (sequence: GSPO).'),
    use_bias_correction_kl: booleanKey(true, 'Multiply the KL term by the importance ratio (not detached): the unbiased reverse-KL gradient of DeepSeek-V3.2 (TRL ≥ 1.13 default); it changes the KL gradient even at ratio 1. Only with beta > 0.'),
    delta: numberKey(null, 'INTELLECT-2\'s two-sided clipping: the unclipped ratio is capped at delta (> 1 + epsilon); null: off.', { min: 1, minExclusive: true, nullable: true }),
  },
  check(config, source) {
    checkGroupConfig(config, source);
    if (config.delta !== null && config.delta <= 1 + config.epsilon) throw new ConfigError(`${source}: delta (${config.delta}) must be greater than 1 + epsilon (${1 + config.epsilon}), or null`);
  },
};

/** The full GRPO config from options (unset keys take TRL's defaults); throws ConfigError naming a bad key. */
export function grpoConfig(options: Partial<GRPOConfig> = {}): GRPOConfig {
  return resolveConfig(GRPO_CONFIG, options, 'GRPO options');
}
