// One DPO step (ALGORITHMS.md §6): the policy and the frozen reference score the chosen and
// rejected responses of a batch of pairs; the sigmoid loss's gradient goes back through the
// policy's log-probs.
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { DPO_STATS, dpoLoss } from '../../ops/preference_losses.js';
import { applyUpdate, namedStats } from '../../training/apply_update.js';
import { averageStats } from '../../training/average_stats.js';
import { preferenceBatch, type EncodedPreference } from '../preference/preference_batch.js';

export interface DPOStepOptions {
  beta: number;
  pad: number;
}

/** Runs both models and the loss op; returns the device tensors the caller reads. */
function dpoBatchLoss(policy: CausalLM, reference: CausalLM, pairs: EncodedPreference[], o: DPOStepOptions) {
  const be = policy.backend;
  const r = preferenceBatch(pairs, o.pad);
  const mask = be.tensor(r.responseMask);
  reference.forward(r.batch);
  const refLogprobs = reference.tokenLogprobs().logprobs;
  policy.forward(r.batch);
  const { logprobs } = policy.tokenLogprobs();
  const dLogprobs = be.zeros([r.B * r.T]);
  const stats = be.zeros([DPO_STATS.length]);
  dpoLoss({ logprobs, refLogprobs, mask }, { dLogprobs, stats }, { beta: o.beta, rows: r.B });
  return { dLogprobs, stats, dispose: () => (mask.dispose(), dLogprobs.dispose(), stats.dispose()) };
}

export async function dpoTrainStep(policy: CausalLM, reference: CausalLM, optimizer: AdamW, pairs: EncodedPreference[], lr: number, o: DPOStepOptions): Promise<Record<string, number>> {
  policy.zeroGrad();
  const s = dpoBatchLoss(policy, reference, pairs, o);
  try {
    policy.backward({ dLogprobs: s.dLogprobs });
    const { gradNorm, values } = await applyUpdate(optimizer, [s.stats], (v) => v[0]![0]!, lr);
    return { ...namedStats(DPO_STATS, values[0]!), grad_norm: gradNorm };
  } finally {
    s.dispose();
  }
}

/** DPO's metrics over `pairs` without updating (eval: the margin and accuracy on held-out pairs). */
export async function evaluateDPO(policy: CausalLM, reference: CausalLM, pairs: EncodedPreference[], batchSize: number, o: DPOStepOptions): Promise<Record<string, number>> {
  return averageStats(DPO_STATS, pairs, batchSize, (chunk) => dpoBatchLoss(policy, reference, chunk, o));
}
