// The RLOO trainer (ALGORITHMS.md §7; TRL's RLOOTrainer): the KL to the reference enters the
// reward (k1, summed over the completion), each completion's baseline is the mean reward of
// the other completions of its prompt, and the loss is the clipped sequence-level ratio
// (exp of the summed log-ratio) times the advantage, averaged over completions.
import { rlooAdvantages, type Advantages } from '../grpo/advantages.js';
import { GroupTrainer, type GenerationLogprobs, type GroupTrainerInit } from '../grpo/group_trainer.js';
import type { RLOOConfig } from './config.js';

export type RLOOTrainerInit = GroupTrainerInit<RLOOConfig>;

export class RLOOTrainer extends GroupTrainer<RLOOConfig> {
  readonly name = 'rloo';

  constructor(init: RLOOTrainerInit) {
    super(init, 'RLOO');
  }

  protected get klInLoss(): boolean {
    return false;
  }

  protected override get takesTokenRewards(): boolean {
    return false;
  }

  /** π_old's log-probs also make the KL of the reward (TRL: old − ref, per token). */
  protected logprobsNeeded() {
    return { old: this.oldLogprobsNeeded || this.usesReference, ref: this.usesReference };
  }

  protected advantagesOf(rewards: Float64Array, rows: { keep: number }[], logprobs: GenerationLogprobs, metrics: Record<string, number>): Advantages {
    const c = this.config;
    let r = rewards;
    if (c.reward_clip_range) {
      const [lo, hi] = c.reward_clip_range as [number, number];
      r = r.map((x) => Math.min(Math.max(x, lo), hi));
    }
    if (this.usesReference) {
      // Per completion Σ_t (log π_old − log π_ref) over the tokens in the loss.
      const kl = logprobs.old!.map((old, i) => rows[i]!.keep * old.reduce((a, lp, t) => a + lp - logprobs.ref![i]![t]!, 0));
      const tokens = rows.reduce((n, row, i) => n + row.keep * logprobs.old![i]!.length, 0);
      metrics.kl = kl.reduce((a, x) => a + x, 0) / Math.max(tokens, 1);
      r = r.map((x, i) => x - c.beta * kl[i]!);
    }
    return rlooAdvantages(r, c.num_generations, c.normalize_advantages);
  }

  protected lossOptions() {
    const c = this.config;
    return { lossType: 'rloo' as const, importanceSamplingLevel: 'sequence_sum' as const, epsilonLow: c.epsilon, epsilonHigh: c.epsilon_high ?? c.epsilon, delta: null, beta: 0 };
  }
}
