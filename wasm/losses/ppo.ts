// PPO's losses on the CPU (see ppoRewards, maskedWhiten, gae, ppoPolicyLoss and
// ppoValueLoss in src/ops/ppo_losses.ts, and the WGSL twins in kernels/losses/). Sums are f64.
import { at, masked, put } from '../lib/scalar';

function klEstimate(d: f64, estimator: i32): f64 {
  if (estimator == 1) return Math.exp(-d) - 1 + d;
  if (estimator == 2) return Math.max(d, 0);
  return d;
}

export function ppo_rewards(logprobs: usize, refLogprobs: usize, mask: usize, scores: usize, rewards: usize, kl: usize, stats: usize, R: i32, T: i32, estimator: i32, klCoef: f64): void {
  let klSum: f64 = 0, entropy: f64 = 0, scoreSum: f64 = 0;
  for (let r = 0; r < R; r++) {
    let last = -1;
    for (let t = 0; t < T; t++) {
      const i = r * T + t;
      let k: f64 = 0;
      if (masked(mask, i)) {
        k = klEstimate(at(logprobs, i) - at(refLogprobs, i), estimator);
        klSum += k;
        entropy -= at(logprobs, i);
        last = i;
      }
      put(kl, i, k);
      put(rewards, i, -klCoef * k);
    }
    if (last >= 0) put(rewards, last, at(rewards, last) + at(scores, r));
    scoreSum += at(scores, r);
  }
  put(stats, 0, klSum / R);
  put(stats, 1, entropy / R);
  put(stats, 2, (-klCoef * klSum) / R);
  put(stats, 3, scoreSum / R);
}

export function masked_whiten(x: usize, mask: usize, out: usize, N: i32, shiftMean: i32): void {
  let sum: f64 = 0, n: f64 = 0;
  for (let i = 0; i < N; i++) if (masked(mask, i)) { sum += at(x, i); n++; }
  const mean = sum / Math.max(n, 1);
  let squares: f64 = 0;
  for (let i = 0; i < N; i++) if (masked(mask, i)) { const d = at(x, i) - mean; squares += d * d; }
  const variance = n > 1 ? squares / (n - 1) : 0;
  const inv = 1 / Math.sqrt(variance + 1e-8);
  const back = shiftMean ? 0 : mean;
  for (let i = 0; i < N; i++) put(out, i, masked(mask, i) ? (at(x, i) - mean) * inv + back : 0);
}

export function gae(rewards: usize, values: usize, mask: usize, advantages: usize, returns: usize, R: i32, T: i32, gamma: f64, lam: f64): void {
  for (let r = 0; r < R; r++) {
    let nextValue: f64 = 0, nextAdvantage: f64 = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = r * T + t;
      if (!masked(mask, i)) {
        nextValue = 0;
        nextAdvantage = 0;
        put(advantages, i, 0);
        put(returns, i, 0);
        continue;
      }
      const v = at(values, i);
      const a = (at(rewards, i) + gamma * nextValue - v) + gamma * lam * nextAdvantage;
      put(advantages, i, a);
      put(returns, i, a + v);
      nextValue = v;
      nextAdvantage = a;
    }
  }
}

export function ppo_policy_loss(logprobs: usize, oldLogprobs: usize, advantages: usize, mask: usize, entropies: usize, dLogprobs: usize, stats: usize, N: i32, cliprange: f64): void {
  let n: f64 = 0, loss: f64 = 0, clipped: f64 = 0, approxkl: f64 = 0, ratios: f64 = 0, entropy: f64 = 0;
  for (let i = 0; i < N; i++) {
    if (!masked(mask, i)) continue;
    const d = at(logprobs, i) - at(oldLogprobs, i);
    const ratio = Math.exp(d);
    const a = at(advantages, i);
    const unclipped = -a * ratio;
    const clip = -a * Math.min(Math.max(ratio, 1 - cliprange), 1 + cliprange);
    n++;
    loss += Math.max(unclipped, clip);
    if (clip > unclipped) clipped++;
    approxkl += 0.5 * d * d;
    ratios += ratio;
    entropy += at(entropies, i);
  }
  const inv = 1 / Math.max(n, 1);
  for (let i = 0; i < N; i++) {
    let g: f64 = 0;
    if (masked(mask, i)) {
      const ratio = Math.exp(at(logprobs, i) - at(oldLogprobs, i));
      const a = at(advantages, i);
      // The max takes the unclipped term (ties included: equal there, and clip passes ρ through).
      if (-a * ratio >= -a * Math.min(Math.max(ratio, 1 - cliprange), 1 + cliprange)) g = -a * ratio * inv;
    }
    put(dLogprobs, i, g);
  }
  put(stats, 0, loss * inv);
  put(stats, 1, clipped * inv);
  put(stats, 2, approxkl * inv);
  put(stats, 3, ratios * inv);
  put(stats, 4, entropy * inv);
}

export function ppo_value_loss(values: usize, oldValues: usize, returns: usize, mask: usize, dValues: usize, stats: usize, N: i32, cliprangeValue: f64, vfCoef: f64): void {
  let n: f64 = 0, loss: f64 = 0, clipped: f64 = 0;
  for (let i = 0; i < N; i++) {
    if (!masked(mask, i)) continue;
    const a = at(values, i) - at(returns, i);
    const b = Math.min(Math.max(at(values, i), at(oldValues, i) - cliprangeValue), at(oldValues, i) + cliprangeValue) - at(returns, i);
    n++;
    loss += 0.5 * Math.max(a * a, b * b);
    if (b * b > a * a) clipped++;
  }
  const inv = 1 / Math.max(n, 1);
  for (let i = 0; i < N; i++) {
    let g: f64 = 0;
    if (masked(mask, i)) {
      const a = at(values, i) - at(returns, i);
      const b = Math.min(Math.max(at(values, i), at(oldValues, i) - cliprangeValue), at(oldValues, i) + cliprangeValue) - at(returns, i);
      // Where the clipped term wins, V is outside the clip range and the loss is flat in V.
      if (a * a >= b * b) g = vfCoef * a * inv;
    }
    put(dValues, i, g);
  }
  put(stats, 0, loss * inv);
  put(stats, 1, clipped * inv);
}
