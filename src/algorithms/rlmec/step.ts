// One RLMEC step (ALGORITHMS.md §5): sample rows and rewrite rows in one batch through the
// policy; the loss op weighs the samples' tokens by their clipped importance-weighted rewards
// and the rewrites' tokens by their imitation weights; the gradient goes back through the
// policy's log-probs.
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { RLMEC_STATS, rlmecLoss } from '../../ops/rlmec_loss.js';
import { responseBatch } from '../../text/response_batch.js';
import { applyUpdate, namedStats } from '../../training/apply_update.js';
import type { RLMECRow } from './rlmec_rows.js';

/** A row with the frozen reference's log-probs of its response tokens (read where r_t ≠ 0). */
export interface ScoredRow extends RLMECRow {
  refLogprobs: number[];
}

export interface RLMECStepOptions {
  cliprange: number;
  imitationWeight: number;
  pad: number;
}

export async function rlmecTrainStep(policy: CausalLM, optimizer: AdamW, rows: ScoredRow[], lr: number, o: RLMECStepOptions): Promise<Record<string, number>> {
  const be = policy.backend;
  const r = responseBatch(rows, o.pad);
  const host = { rewards: new Float32Array(r.B * r.T), imitation: new Float32Array(r.B * r.T), ref: new Float32Array(r.B * r.T) };
  rows.forEach((row, b) => {
    const at = b * r.T + r.starts[b]!;
    host.rewards.set(row.rewards, at);
    host.imitation.set(row.imitation, at);
    host.ref.set(row.refLogprobs, at);
  });
  const rewards = be.tensor(host.rewards);
  const imitation = be.tensor(host.imitation);
  const refLogprobs = be.tensor(host.ref);
  const dLogprobs = be.zeros([r.B * r.T]);
  const stats = be.zeros([RLMEC_STATS.length]);
  try {
    policy.zeroGrad();
    policy.forward(r.batch);
    const { logprobs } = policy.tokenLogprobs();
    rlmecLoss({ logprobs, refLogprobs, rewards, imitation }, { dLogprobs, stats }, { cliprange: o.cliprange, imitationWeight: o.imitationWeight });
    policy.backward({ dLogprobs });
    const { gradNorm, values } = await applyUpdate(optimizer, [stats], (v) => v[0]![0]!, lr);
    return { ...namedStats(RLMEC_STATS, values[0]!), grad_norm: gradNorm };
  } finally {
    for (const t of [rewards, imitation, refLogprobs, dLogprobs, stats]) t.dispose();
  }
}
