// The config schema of each trainer, by its command name.
import { DPO_CONFIG } from './dpo/config.js';
import { GRPO_CONFIG } from './grpo/config.js';
import { PPO_CONFIG } from './ppo/config.js';
import { REWARD_CONFIG } from './reward/config.js';
import { RLOO_CONFIG } from './rloo/config.js';
import { SFT_CONFIG } from './sft/config.js';

export const TRAINER_CONFIGS = { sft: SFT_CONFIG, reward: REWARD_CONFIG, dpo: DPO_CONFIG, ppo: PPO_CONFIG, grpo: GRPO_CONFIG, rloo: RLOO_CONFIG } as const;

export type TrainerName = keyof typeof TRAINER_CONFIGS;
