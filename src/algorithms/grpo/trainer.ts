// The GRPO trainer (ALGORITHMS.md §7; TRL's GRPOTrainer): advantages relative to each prompt's
// group of completions, scaled as scale_rewards says, plus any token-level rewards; the
// clipped ratio (token or sequence level, clip-higher, delta) and β·k3 KL in the loss,
// normalised as loss_type says.
import { grpoAdvantages, type Advantages } from './advantages.js';
import type { GRPOConfig } from './config.js';
import { GroupTrainer, type GroupTrainerInit } from './group_trainer.js';

export type GRPOTrainerInit = GroupTrainerInit<GRPOConfig>;

export class GRPOTrainer extends GroupTrainer<GRPOConfig> {
  readonly name = 'grpo';

  constructor(init: GRPOTrainerInit) {
    super(init, 'GRPO');
  }

  protected get klInLoss(): boolean {
    return this.usesReference;
  }

  protected logprobsNeeded() {
    return { old: this.oldLogprobsNeeded, ref: this.usesReference };
  }

  protected advantagesOf(rewards: Float64Array): Advantages {
    return grpoAdvantages(rewards, this.config.num_generations, this.config.scale_rewards);
  }

  protected lossOptions() {
    const c = this.config;
    return { lossType: c.loss_type, importanceSamplingLevel: c.importance_sampling_level, epsilonLow: c.epsilon, epsilonHigh: c.epsilon_high ?? c.epsilon, delta: c.delta, beta: c.beta, klCorrection: c.use_bias_correction_kl };
  }
}

