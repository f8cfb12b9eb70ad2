// A float64 reference of grpoLoss, written the way TRL's GRPOTrainer/RLOOTrainer compute_loss
// reads (per-token tensors, then the loss_type branch), with the gradient torch's autograd
// would give (min's tie split in halves, clamps passing inside their bounds, inclusive):
// what the kernels are checked against, and whose loss the finite differences differentiate.
import type { GRPOLossOptions } from 'webrlhf';

type Vec = ArrayLike<number>;

export interface GRPOInputs {
  logprobs: Vec;
  oldLogprobs: Vec;
  refLogprobs: Vec;
  rowAdvantages: Vec;
  /** Absent: the op is called without it (one advantage per row). */
  tokenAdvantages?: Vec;
  mask: Vec;
  entropies: Vec;
}

/** pg = −min(c1·A, c2·A), ∂pg/∂logw, and TRL's clip indicators (of c1, after the delta cap). */
function policy(rho: number, a: number, o: GRPOLossOptions) {
  const lo = 1 - o.epsilonLow;
  const hi = 1 + o.epsilonHigh;
  const c1 = o.delta === null ? rho : Math.min(rho, o.delta);
  const dc1 = o.delta === null || rho <= o.delta ? rho : 0; // ∂c1/∂logw
  const c2 = Math.min(Math.max(rho, lo), hi);
  const dc2 = rho >= lo && rho <= hi ? rho : 0;
  const [u1, u2] = [c1 * a, c2 * a];
  const [s1, s2] = u1 < u2 ? [1, 0] : u1 > u2 ? [0, 1] : [0.5, 0.5];
  return {
    pg: -Math.min(u1, u2),
    dpg: -a * (s1 * dc1 + s2 * dc2),
    low: Number(c1 < lo && a < 0),
    high: Number(c1 > hi && a > 0),
  };
}

export function grpoLoss(x: GRPOInputs, o: GRPOLossOptions): { loss: number; dLogprobs: number[]; stats: number[] } {
  const R = x.rowAdvantages.length;
  const T = x.logprobs.length / R;
  const GA = o.accumulationSteps;
  const m = (k: number) => (x.mask[k] ? 1 : 0);
  const rows = Array.from({ length: R }, (_, r) => Array.from({ length: T }, (_, t) => r * T + t));
  const n = rows.map((ks) => ks.reduce((s, k) => s + m(k), 0));
  const N = n.reduce((a, b) => a + b, 0);
  // log_importance_weights: per token, or one per row.
  const logRatio = (k: number) => (m(k) ? x.logprobs[k]! - x.oldLogprobs[k]! : 0);
  const rowSum = rows.map((ks) => ks.reduce((s, k) => s + logRatio(k), 0));
  const logw = (r: number, k: number) =>
    o.importanceSamplingLevel === 'token' ? logRatio(k) : o.importanceSamplingLevel === 'sequence' ? rowSum[r]! / Math.max(n[r]!, 1) : rowSum[r]!;
  /** ∂logw(r, ·)/∂logprobs_k for k in row r. */
  const dLogw = (r: number, k: number, j: number) =>
    !m(k) ? 0 : o.importanceSamplingLevel === 'token' ? Number(j === k) : o.importanceSamplingLevel === 'sequence' ? 1 / Math.max(n[r]!, 1) : 1;
  const advantage = (r: number, k: number) => x.rowAdvantages[r]! + (x.tokenAdvantages ? x.tokenAdvantages[k]! : 0);
  const klOf = (k: number) => {
    const d = x.refLogprobs[k]! - x.logprobs[k]!;
    return { kl: Math.exp(d) - d - 1, dkl: 1 - Math.exp(d) };
  };
  /** The loss weight of row r's masked tokens. */
  const weight = (r: number) => {
    switch (o.lossType) {
      case 'grpo': return 1 / (R * Math.max(n[r]!, 1) * GA);
      case 'bnpo': return 1 / (Math.max(N, 1) * GA);
      case 'dr_grpo': return 1 / (R * o.maxCompletionLength * GA);
      case 'dapo': return 1 / Math.max(o.tokensInBatch, 1);
      case 'rloo': return 1 / (R * GA);
    }
  };

  let loss = 0;
  let klSum = 0;
  let entropySum = 0;
  const d = new Array<number>(R * T).fill(0);
  const clips = { low: [] as number[], high: [] as number[] }; // per token, or per row
  const rowFractions = { low: [] as number[], high: [] as number[] };
  for (let r = 0; r < R; r++) {
    const W = weight(r);
    const ks = rows[r]!;
    for (const k of ks) {
      if (!m(k)) continue;
      entropySum += x.entropies[k]!;
      if (o.beta !== 0) {
        const { kl, dkl } = klOf(k);
        if (o.klCorrection) {
          // TRL's use_bias_correction_kl: kl·ρ, with ρ = exp(logw) differentiable.
          const rho = Math.exp(logw(r, k));
          klSum += kl * rho;
          loss += W * o.beta * kl * rho;
          d[k]! += W * o.beta * dkl * rho;
          for (const j of ks) d[j]! += W * o.beta * kl * rho * dLogw(r, j, k);
        } else {
          klSum += kl;
          loss += W * o.beta * kl;
          d[k]! += W * o.beta * dkl;
        }
      }
    }
    if (o.lossType === 'rloo') {
      // One term per row, even a row with no tokens (ρ = 1 there).
      const p = policy(Math.exp(logw(r, -1)), x.rowAdvantages[r]!, o);
      loss += W * p.pg;
      for (const k of ks) d[k]! += W * p.dpg * dLogw(r, k, -1);
    } else {
      for (const j of ks) {
        if (!m(j)) continue;
        const p = policy(Math.exp(logw(r, j)), advantage(r, j), o);
        loss += W * p.pg;
        for (const k of ks) d[k]! += W * p.dpg * dLogw(r, k, j);
      }
    }
    // TRL's shapes: (B, T) clip indicators per token, or with (B, T) advantages; else (B, 1).
    if (o.importanceSamplingLevel === 'token' || x.tokenAdvantages) {
      const low = ks.reduce((s, k) => s + (m(k) ? policy(Math.exp(logw(r, k)), advantage(r, k), o).low : 0), 0);
      const high = ks.reduce((s, k) => s + (m(k) ? policy(Math.exp(logw(r, k)), advantage(r, k), o).high : 0), 0);
      clips.low.push(low);
      clips.high.push(high);
      if (n[r]) {
        rowFractions.low.push(low / n[r]!);
        rowFractions.high.push(high / n[r]!);
      }
    } else {
      const p = policy(Math.exp(logw(r, -1)), x.rowAdvantages[r]!, o);
      clips.low.push(p.low);
      clips.high.push(p.high);
      rowFractions.low.push(p.low);
      rowFractions.high.push(p.high);
    }
  }
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const clipDen = o.importanceSamplingLevel === 'token' || x.tokenAdvantages ? Math.max(N, 1) : R;
  const stats = [
    loss,
    klSum / Math.max(N, 1),
    entropySum / Math.max(N, 1),
    sum(clips.low) / clipDen,
    sum(clips.high) / clipDen,
    (sum(clips.low) + sum(clips.high)) / clipDen,
    rowFractions.low.length ? Math.min(...rowFractions.low) : 0,
    rowFractions.high.length ? Math.max(...rowFractions.high) : 0,
  ];
  return { loss, dLogprobs: d, stats };
}
