// RLMEC's loss on the CPU (see rlmecLoss in src/ops/rlmec_loss.ts and kernels/losses/rlmec.wgsl). Sums are f64.
import { at, put } from '../lib/scalar';

@inline function ratioOf(logprobs: usize, ref: usize, i: i32): f64 {
  return Math.exp(at(logprobs, i) - at(ref, i));
}

@inline function clipped(ratio: f64, eps: f64): f64 {
  return Math.min(Math.max(ratio, 1 - eps), 1 + eps);
}

export function rlmec(logprobs: usize, refLogprobs: usize, rewards: usize, imitation: usize, dLogprobs: usize, stats: usize, N: i32, cliprange: f64, imitationWeight: f64): void {
  let n: f64 = 0, rl: f64 = 0, ratios: f64 = 0, clips: f64 = 0, nc: f64 = 0, reg: f64 = 0;
  for (let i = 0; i < N; i++) {
    const r = at(rewards, i);
    if (r != 0) {
      const ratio = ratioOf(logprobs, refLogprobs, i);
      const full = ratio * r;
      const clip = clipped(ratio, cliprange) * r;
      n++;
      rl -= Math.min(full, clip) * at(logprobs, i);
      ratios += ratio;
      if (clip < full) clips++;
    }
    const c = at(imitation, i);
    if (c != 0) {
      nc++;
      reg -= c * at(logprobs, i);
    }
  }
  const invN = 1 / Math.max(n, 1);
  const invNc = 1 / Math.max(nc, 1);
  for (let i = 0; i < N; i++) {
    let g: f64 = 0;
    const r = at(rewards, i);
    if (r != 0) {
      const ratio = ratioOf(logprobs, refLogprobs, i);
      g -= Math.min(ratio * r, clipped(ratio, cliprange) * r) * invN;
    }
    const c = at(imitation, i);
    if (c != 0) g -= imitationWeight * c * invNc;
    put(dLogprobs, i, g);
  }
  put(stats, 0, rl * invN + imitationWeight * reg * invNc);
  put(stats, 1, rl * invN);
  put(stats, 2, reg * invNc);
  put(stats, 3, ratios * invN);
  put(stats, 4, clips * invN);
}
