// RLOOConfig: REINFORCE leave-one-out (ALGORITHMS.md §7) with TRL's RLOOConfig names and
// defaults. TRL's RLOO puts the KL in the reward (k1, summed over the completion): the only
// place its current trainer offers.
import { ConfigError } from '../../errors.js';
import { booleanKey, numberListKey, resolveConfig, type ConfigSchema } from '../../training/config/schema.js';
import { checkGroupConfig, groupKeys, type GroupConfig } from '../grpo/group_config.js';

export interface RLOOConfig extends GroupConfig {
  normalize_advantages: boolean;
  reward_clip_range: number[] | null;
}

export const RLOO_CONFIG: ConfigSchema<RLOOConfig> = {
  name: 'RLOO',
  keys: {
    ...groupKeys('rloo', { num_generations: 2, beta: 0.05, betaDoc: 'β of the KL penalty in the reward: r − β·Σ_t (log π_old − log π_ref) over the completion (TRL default 0.05); 0: no reference model is kept.' }),
    normalize_advantages: booleanKey(false, 'Normalise the advantages over the generation batch: (A − mean)/(std + 1e-4).'),
    reward_clip_range: numberListKey(null, 'Clip each completion\'s total reward to [min, max] before the KL and the baseline; null: no clipping.', { nullable: true }),
  },
  check(config, source) {
    checkGroupConfig(config, source);
    const r = config.reward_clip_range;
    if (r !== null && (r.length !== 2 || r[0]! > r[1]!)) throw new ConfigError(`${source}: reward_clip_range must be [min, max] with min ≤ max, got ${JSON.stringify(r)}`);
  },
};

/** The full RLOO config from options (unset keys take TRL's defaults); throws ConfigError naming a bad key. */
export function rlooConfig(options: Partial<RLOOConfig> = {}): RLOOConfig {
  return resolveConfig(RLOO_CONFIG, options, 'RLOO options');
}
