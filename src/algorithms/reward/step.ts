// One Bradley–Terry step of a reward model (ALGORITHMS.md §2), and its evaluation on held-out
// pairs: chosen and rejected responses in one batch, the scalar head at each last token.
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { BRADLEY_TERRY_STATS, bradleyTerryLoss } from '../../ops/preference_losses.js';
import { applyUpdate, namedStats } from '../../training/apply_update.js';
import { averageStats } from '../../training/average_stats.js';
import { preferenceBatch, type EncodedPreference } from '../preference/preference_batch.js';

export interface RewardStepOptions {
  /** TRL's center_rewards_coefficient; 0 or undefined: off. */
  centerCoefficient?: number;
  /** Id filling the left of shorter rows (masked out). */
  pad: number;
}

/** loss, accuracy, margin, mean_reward (and grad_norm for a training step). */
export type RewardMetrics = Record<string, number>;

/** Scores the pairs and runs the Bradley–Terry loss op; returns the device tensors the caller reads (dispose them). */
export function scorePairs(model: CausalLM, pairs: EncodedPreference[], o: RewardStepOptions) {
  const be = model.backend;
  const r = preferenceBatch(pairs, o.pad);
  model.forward(r.batch, { logits: false });
  const scores = model.scores();
  const dScores = be.zeros([r.B, 1]);
  const stats = be.zeros([BRADLEY_TERRY_STATS.length]);
  bradleyTerryLoss(scores, dScores, stats, { centerCoefficient: o.centerCoefficient ?? 0 });
  return { dScores, stats, dispose: () => (dScores.dispose(), stats.dispose()) };
}

export async function rewardTrainStep(model: CausalLM, optimizer: AdamW, pairs: EncodedPreference[], lr: number, o: RewardStepOptions): Promise<RewardMetrics> {
  model.zeroGrad();
  const s = scorePairs(model, pairs, o);
  try {
    model.backward({ dScores: s.dScores });
    const { gradNorm, values } = await applyUpdate(optimizer, [s.stats], (v) => v[0]![0]!, lr);
    return { ...namedStats(BRADLEY_TERRY_STATS, values[0]!), grad_norm: gradNorm };
  } finally {
    s.dispose();
  }
}

/** Loss, accuracy, margin and mean reward over `pairs` (batches of batchSize), without updating. */
export async function evaluateRewardModel(model: CausalLM, pairs: EncodedPreference[], batchSize: number, o: RewardStepOptions): Promise<RewardMetrics> {
  return averageStats(BRADLEY_TERRY_STATS, pairs, batchSize, (chunk) => scorePairs(model, chunk, o));
}
