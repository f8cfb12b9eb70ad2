// RewardConfig: a Bradley–Terry reward model on preference pairs (TRL's RewardConfig names).
import { booleanKey, integerKey, numberKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

export interface RewardConfig extends TrainingConfig {
  max_length: number;
  center_rewards_coefficient: number | null;
  drop_identical: boolean;
}

export const REWARD_CONFIG: ConfigSchema<RewardConfig> = {
  name: 'reward',
  keys: {
    ...trainingKeys('reward', { value: 1e-4, doc: "AdamW's learning rate (TRL RewardConfig's default)." }),
    max_length: integerKey(1024, "Tokens per sequence at most (prompt + chosen or rejected, and at most the model's n_positions); a longer one keeps the end of its prompt and cuts the completion from the right (TRL's default length).", { min: 1 }),
    center_rewards_coefficient: numberKey(null, 'Adds this × mean((r_chosen + r_rejected)²) to the loss, pulling rewards towards mean 0 (TRL suggests 0.01); null: off.', { min: 0, nullable: true }),
    drop_identical: booleanKey(true, 'Leave out pairs whose chosen and rejected are the same text (they teach nothing), and report how many.'),
  },
  check: checkTrainingConfig,
};

/** The full reward-model config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function rewardConfig(options: Partial<RewardConfig> = {}): RewardConfig {
  return resolveConfig(REWARD_CONFIG, options, 'reward options');
}
