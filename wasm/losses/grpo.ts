// GRPO's and RLOO's policy loss on the CPU (see grpoLoss in src/ops/grpo_loss.ts and
// kernels/losses/grpo.wgsl). Sums are f64. Σm comes first, so every row's weight (bnpo's
// 1/Σm included) is known when its gradient is written.
import { at, masked, put } from '../lib/scalar';

// GRPO_LOSS_TYPES and IMPORTANCE_SAMPLING_LEVELS, by index.
const BNPO = 1;
const DR_GRPO = 2;
const DAPO = 3;
const RLOO = 4;
const TOKEN = 0;
const SEQUENCE = 1;

// policy()'s results (the stub runtime allocates nothing, so no tuple).
let pg: f64 = 0;
let dpg: f64 = 0;
let clippedLow: f64 = 0;
let clippedHigh: f64 = 0;

/**
 * pg = −min(c1·A, c2·A) at ratio ρ and ∂pg/∂logw (torch: a tie of min gives each side half,
 * clamps pass the gradient inside their bounds, inclusive); TRL's clip indicators of c1.
 * delta 0: no cap.
 */
function policy(rho: f64, a: f64, epsilonLow: f64, epsilonHigh: f64, delta: f64): void {
  const lo = 1 - epsilonLow;
  const hi = 1 + epsilonHigh;
  const capped = delta > 0;
  const c1 = capped ? Math.min(rho, delta) : rho;
  const c2 = Math.min(Math.max(rho, lo), hi);
  const u1 = c1 * a;
  const u2 = c2 * a;
  const s1: f64 = u1 == u2 ? 0.5 : u1 < u2 ? 1 : 0;
  const d1: f64 = !capped || rho <= delta ? rho : 0;
  const d2: f64 = rho >= lo && rho <= hi ? rho : 0;
  pg = -Math.min(u1, u2);
  dpg = -a * (s1 * d1 + (1 - s1) * d2);
  clippedLow = c1 < lo && a < 0 ? 1 : 0;
  clippedHigh = c1 > hi && a > 0 ? 1 : 0;
}

export function grpo_loss(
  logprobs: usize, oldLogprobs: usize, refLogprobs: usize, rowAdvantages: usize, tokenAdvantages: usize, mask: usize, entropies: usize,
  dLogprobs: usize, stats: usize, R: i32, T: i32, lossType: i32, level: i32,
  epsilonLow: f64, epsilonHigh: f64, delta: f64, beta: f64, maxCompletionLength: f64, tokensInBatch: f64, accumulationSteps: f64, klCorrection: f64, tokenLevel: i32,
): void {
  const perToken = level == TOKEN;
  const rloo = lossType == RLOO;
  let total: f64 = 0;
  for (let k = 0; k < R * T; k++) if (masked(mask, k)) total++;
  let loss: f64 = 0, kl: f64 = 0, entropy: f64 = 0, lows: f64 = 0, highs: f64 = 0;
  let lowMin = Infinity, highMax = -Infinity;
  for (let r = 0; r < R; r++) {
    const base = r * T;
    let n: f64 = 0, sumD: f64 = 0;
    for (let k = base; k < base + T; k++) {
      if (masked(mask, k)) {
        n++;
        sumD += at(logprobs, k) - at(oldLogprobs, k);
      }
    }
    // The row's tokens' loss weight.
    let w: f64 = 1 / (Math.max(n, 1) * R * accumulationSteps);
    if (lossType == BNPO) w = 1 / (Math.max(total, 1) * accumulationSteps);
    else if (lossType == DR_GRPO) w = 1 / (R * maxCompletionLength * accumulationSteps);
    else if (lossType == DAPO) w = 1 / Math.max(tokensInBatch, 1);
    else if (rloo) w = 1 / (R * accumulationSteps);
    const rowA = at(rowAdvantages, r);
    const logw = level == SEQUENCE ? sumD / Math.max(n, 1) : perToken ? 0 : sumD;
    const rowRho = Math.exp(logw);
    let rowLoss: f64 = 0, dLogw: f64 = 0, low: f64 = 0, high: f64 = 0;
    for (let k = base; k < base + T; k++) {
      if (!masked(mask, k)) {
        put(dLogprobs, k, 0);
        continue;
      }
      let g: f64 = 0;
      if (!rloo) {
        // tokenLevel 0: tokenAdvantages is bound to something else, unread.
        const a = tokenLevel != 0 ? rowA + at(tokenAdvantages, k) : rowA;
        policy(perToken ? Math.exp(at(logprobs, k) - at(oldLogprobs, k)) : rowRho, a, epsilonLow, epsilonHigh, delta);
        rowLoss += pg;
        if (perToken) g = dpg;
        else dLogw += dpg;
        low += clippedLow;
        high += clippedHigh;
      }
      if (beta != 0) {
        const x = at(refLogprobs, k) - at(logprobs, k);
        const e = Math.exp(x);
        // With the correction, β·k3·ρ: ρ (not detached) adds k3·ρ·∂logw to the gradient.
        const corrected = klCorrection != 0;
        const rho: f64 = corrected ? (perToken ? Math.exp(at(logprobs, k) - at(oldLogprobs, k)) : rowRho) : 1;
        const k3 = (e - x - 1) * rho;
        rowLoss += beta * k3;
        kl += k3;
        g += beta * (1 - e) * rho;
        if (corrected) {
          if (perToken) g += beta * k3;
          else dLogw += beta * k3;
        }
      }
      entropy += at(entropies, k);
      put(dLogprobs, k, w * g);
    }
    if (!perToken) {
      policy(rowRho, rowA, epsilonLow, epsilonHigh, delta);
      if (rloo) {
        rowLoss = pg;
        dLogw = dpg;
      }
      // ∂logw/∂logprobs_k: m_k/max(n, 1) ('sequence'), m_k ('sequence_sum').
      const dRow = w * dLogw * (level == SEQUENCE ? 1 / Math.max(n, 1) : 1);
      for (let k = base; k < base + T; k++) if (masked(mask, k)) put(dLogprobs, k, at(dLogprobs, k) + dRow);
    }
    // TRL's shapes: (B, 1) indicators at sequence levels without per-token advantages, else (B, T).
    if (!perToken && tokenLevel == 0) {
      low = clippedLow;
      high = clippedHigh;
      lowMin = Math.min(lowMin, low);
      highMax = Math.max(highMax, high);
    } else if (n > 0) {
      lowMin = Math.min(lowMin, low / n);
      highMax = Math.max(highMax, high / n);
    }
    loss += w * rowLoss;
    lows += low;
    highs += high;
  }
  const inv = 1 / Math.max(total, 1);
  const clipScale = perToken || tokenLevel != 0 ? inv : 1 / <f64>R;
  put(stats, 0, loss);
  put(stats, 1, kl * inv);
  put(stats, 2, entropy * inv);
  put(stats, 3, lows * clipScale);
  put(stats, 4, highs * clipScale);
  // low and high never meet (A < 0 against A > 0): region is their sum.
  put(stats, 5, (lows + highs) * clipScale);
  put(stats, 6, lowMin == Infinity ? 0 : lowMin);
  put(stats, 7, highMax == -Infinity ? 0 : highMax);
}
