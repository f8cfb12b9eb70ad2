// RLMECConfig: RLMEC's policy objective (ALGORITHMS.md §5) on judged samples, with the
// shared TrainingArguments keys. Defaults follow the paper: 3 epochs, cosine, 3% warm-up.
import { integerKey, numberKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { checkTrainingConfig, trainingKeys, type TrainingConfig } from '../../training/config/training.js';

export interface RLMECConfig extends TrainingConfig {
  cliprange: number;
  imitation_weight: number;
  max_length: number;
}

/** The policy objective's keys (the `webrlhf rlmec` command adds the pipeline's own). */
const SHARED = trainingKeys('rlmec', {
  value: 3e-4,
  doc: "AdamW's learning rate of the policy (the paper used 5e-6 on 7B models; the default suits the built-in task's small model).",
});

export const RLMEC_KEYS = {
  ...SHARED,
  lr_scheduler_type: { ...SHARED.lr_scheduler_type, default: 'cosine' },
  warmup_ratio: { ...SHARED.warmup_ratio, default: 0.03 },
  num_train_epochs: { ...SHARED.num_train_epochs, default: 3 },
  cliprange: numberKey(0.3, 'ε of the clipped importance weight w = min(ρr, clip(ρ, 1−ε, 1+ε)·r) (the paper: 0.3).', { min: 0 }),
  imitation_weight: numberKey(1, 'λ of L = L_RL + λ·L_reg, the imitation regulariser on the rewrites (the paper: 1.0).', { min: 0 }),
  max_length: integerKey(1024, "Tokens per row at most (prompt + sample or rewrite, and at most the model's n_positions).", { min: 2 }),
} as const;

export const RLMEC_CONFIG: ConfigSchema<RLMECConfig> = { name: 'RLMEC', keys: RLMEC_KEYS, check: checkTrainingConfig };

/** The full RLMEC config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function rlmecConfig(options: Partial<RLMECConfig> = {}): RLMECConfig {
  return resolveConfig(RLMEC_CONFIG, options, 'RLMEC options');
}
