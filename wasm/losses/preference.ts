// The pairwise losses on the CPU (see bradleyTerryLoss and dpoLoss in src/ops/preference_losses.ts, and the WGSL
// twins in kernels/losses/): P chosen rows, then P rejected rows. Sums are f64.
import { at, logSigmoid, masked, put, sigmoid } from '../lib/scalar';

export function bradley_terry(scores: usize, dScores: usize, stats: usize, P: i32, center: f64): void {
  const inv = 1 / <f64>P;
  let loss: f64 = 0, correct: f64 = 0, margin: f64 = 0, centring: f64 = 0, total: f64 = 0;
  for (let i = 0; i < P; i++) {
    const w = at(scores, i);
    const l = at(scores, P + i);
    const d = w - l;
    const sum = w + l;
    loss -= logSigmoid(d);
    if (d > 0) correct++;
    margin += d;
    centring += sum * sum;
    total += sum;
    // ∂/∂r_w −log σ(d) = −σ(−d); the centring term adds 2c(r_w + r_l) to both.
    const g = sigmoid(-d);
    const c = 2 * center * sum;
    put(dScores, i, (c - g) * inv);
    put(dScores, P + i, (c + g) * inv);
  }
  put(stats, 0, (loss + center * centring) * inv);
  put(stats, 1, correct * inv);
  put(stats, 2, margin * inv);
  put(stats, 3, total * inv * 0.5);
}

function rowSum(values: usize, mask: usize, r: i32, T: i32): f64 {
  let s: f64 = 0;
  for (let t = 0; t < T; t++) if (masked(mask, r * T + t)) s += at(values, r * T + t);
  return s;
}

function fillRow(out: usize, mask: usize, r: i32, T: i32, g: f64): void {
  for (let t = 0; t < T; t++) put(out, r * T + t, masked(mask, r * T + t) ? g : 0);
}

export function dpo(logprobs: usize, refLogprobs: usize, mask: usize, dLogprobs: usize, stats: usize, P: i32, T: i32, beta: f64): void {
  const inv = 1 / <f64>P;
  let loss: f64 = 0, chosen: f64 = 0, rejected: f64 = 0, correct: f64 = 0, lpChosen: f64 = 0, lpRejected: f64 = 0;
  for (let i = 0; i < P; i++) {
    const sw = rowSum(logprobs, mask, i, T);
    const sl = rowSum(logprobs, mask, P + i, T);
    const rw = beta * (sw - rowSum(refLogprobs, mask, i, T));
    const rl = beta * (sl - rowSum(refLogprobs, mask, P + i, T));
    const z = rw - rl;
    loss -= logSigmoid(z);
    chosen += rw;
    rejected += rl;
    if (z > 0) correct++;
    lpChosen += sw;
    lpRejected += sl;
    // ∂/∂s_w −log σ(β·h) = −β·σ(−β·h); the rejected row gets the opposite.
    const g = beta * sigmoid(-z) * inv;
    fillRow(dLogprobs, mask, i, T, -g);
    fillRow(dLogprobs, mask, P + i, T, g);
  }
  put(stats, 0, loss * inv);
  put(stats, 1, chosen * inv);
  put(stats, 2, rejected * inv);
  put(stats, 3, correct * inv);
  put(stats, 4, (chosen - rejected) * inv);
  put(stats, 5, lpChosen * inv);
  put(stats, 6, lpRejected * inv);
}
