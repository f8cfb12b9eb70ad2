// UMLRewardConfig: RLP-UML's reward model (ALGORITHMS.md §4): the Bradley–Terry loss on the
// labelled pairs plus λ·L_M, the multi-view information bottleneck on two policy samples of
// one prompt. The reward-model keys plus the bottleneck's (mib_*).
import { booleanKey, integerKey, numberKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { REWARD_CONFIG, type RewardConfig } from '../reward/config.js';

export interface UMLRewardConfig extends RewardConfig {
  mib_lambda: number;
  mib_beta: number;
  mib_beta_anneal: boolean;
  mib_latent: number;
  mib_hidden: number;
}

/** The bottleneck's keys (the `webrlhf rlp` command shares them). */
export const MIB_KEYS = {
  mib_lambda: numberKey(0.5, 'λ of L = L_BT + λ·L_M (the spec: 0.5).', { min: 0 }),
  mib_beta: numberKey(1, 'β of L_M = −I_JSD + β·D_SKL (the spec: 1).', { min: 0 }),
  mib_beta_anneal: booleanKey(false, "Anneal β exponentially from 1e-3 to mib_beta over the reward model's training."),
  mib_latent: integerKey(16, 'Size of the latent z of the information bottleneck.', { min: 1 }),
  mib_hidden: integerKey(64, 'Width of the μ, σ and critic MLPs (3 layers each).', { min: 1 }),
} as const;

export const UML_REWARD_CONFIG: ConfigSchema<UMLRewardConfig> = {
  name: 'RLP-UML reward',
  keys: { ...REWARD_CONFIG.keys, ...MIB_KEYS },
  check: REWARD_CONFIG.check as ConfigSchema<UMLRewardConfig>['check'],
};

/** The full RLP-UML reward config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function umlRewardConfig(options: Partial<UMLRewardConfig> = {}): UMLRewardConfig {
  return resolveConfig(UML_REWARD_CONFIG, options, 'RLP-UML reward options');
}
