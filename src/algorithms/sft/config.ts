// SFTConfig: supervised fine-tuning on {prompt, completion} data (TRL's SFTConfig names).
import { booleanKey, integerKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

export interface SFTConfig extends TrainingConfig {
  max_length: number;
  completion_only_loss: boolean;
  assistant_only_loss: boolean;
}

export const SFT_CONFIG: ConfigSchema<SFTConfig> = {
  name: 'SFT',
  keys: {
    ...trainingKeys('sft', { value: 2e-5, doc: "AdamW's learning rate (TRL SFTConfig's default)." }),
    max_length: integerKey(1024, "Tokens per example at most (prompt + completion, and at most the model's n_positions); a longer one keeps the end of its prompt and cuts the completion from the right (TRL's default length).", { min: 1 }),
    completion_only_loss: booleanKey(true, 'Cross-entropy on the completion tokens only; false: on the prompt tokens too.'),
    assistant_only_loss: booleanKey(false, "Cross-entropy on every assistant turn of conversational ({messages}) records, as the chat template writes it up to its end-of-turn token; other records are an error (TRL's key)."),
  },
  check: checkTrainingConfig,
};

/** The full SFT config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function sftConfig(options: Partial<SFTConfig> = {}): SFTConfig {
  return resolveConfig(SFT_CONFIG, options, 'SFT options');
}
