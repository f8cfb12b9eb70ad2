// DPOConfig: direct preference optimisation against a frozen reference (TRL's DPOConfig names).
import { ConfigError } from '../../errors.js';
import { booleanKey, enumKey, integerKey, numberKey, resolveConfig, stringKey, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

/** DPO losses; only the sigmoid loss of ALGORITHMS.md §6 so far. */
export type DPOLossType = 'sigmoid';

export interface DPOConfig extends TrainingConfig {
  beta: number;
  loss_type: DPOLossType;
  max_length: number;
  max_prompt_length: number;
  ref_model_name_or_path: string | null;
  drop_identical: boolean;
}

export const DPO_CONFIG: ConfigSchema<DPOConfig> = {
  name: 'DPO',
  keys: {
    ...trainingKeys('dpo', { value: 1e-6, doc: "AdamW's learning rate (TRL DPOConfig's default)." }),
    beta: numberKey(0.1, 'β: how far the policy may move from the reference; higher stays closer (TRL default).', { min: 0, minExclusive: true }),
    loss_type: enumKey(['sigmoid'] as const, 'sigmoid', 'The DPO loss: sigmoid is −log σ(β·margin) (ALGORITHMS.md §6).'),
    max_length: integerKey(1024, "Tokens per sequence at most (prompt + completion, and at most the model's n_positions); the completion is truncated from the right (TRL default).", { min: 1 }),
    max_prompt_length: integerKey(512, 'Prompt tokens at most; longer prompts keep their last tokens (TRL default).', { min: 1 }),
    ref_model_name_or_path: stringKey(null, 'The frozen reference model folder; null: a copy of the starting policy (model_name_or_path).', { nullable: true }),
    drop_identical: booleanKey(true, 'Leave out pairs whose chosen and rejected are the same text (their loss is log 2 whatever the model), and report how many.'),
  },
  check(config, source) {
    checkTrainingConfig(config, source);
    if (config.max_prompt_length >= config.max_length) {
      throw new ConfigError(
        `${source}: max_prompt_length (${config.max_prompt_length}) must be less than max_length (${config.max_length}) to leave room for the completion; lower max_prompt_length or raise max_length`,
      );
    }
  },
};

/** The full DPO config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function dpoConfig(options: Partial<DPOConfig> = {}): DPOConfig {
  return resolveConfig(DPO_CONFIG, options, 'DPO options');
}
