// Float64 references of the reward-loss ops (ALGORITHMS.md §2, §3, §6), written as plainly
// as the formulas: what the WGSL and WASM kernels are checked against, and what the
// finite-difference checks differentiate.
type Vec = ArrayLike<number>;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logSigmoid = (x: number) => -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));

export function maskedMean(x: Vec, mask: Vec): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (mask[i]) (s += x[i]!), n++;
  return n ? s / n : 0;
}

/** Unbiased (n − 1) variance over masked entries; 0 for fewer than two. */
export function maskedVar(x: Vec, mask: Vec): number {
  const mu = maskedMean(x, mask);
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (mask[i]) (s += (x[i]! - mu) ** 2), n++;
  return n > 1 ? s / (n - 1) : 0;
}

export function maskedWhiten(x: Vec, mask: Vec, shiftMean: boolean): number[] {
  const mu = maskedMean(x, mask);
  const inv = 1 / Math.sqrt(maskedVar(x, mask) + 1e-8);
  return Array.from(x, (v, i) => (mask[i] ? (v - mu) * inv + (shiftMean ? 0 : mu) : 0));
}

export function klEstimate(delta: number, estimator: 'k1' | 'k3' | 'clamped'): number {
  if (estimator === 'k1') return delta;
  if (estimator === 'k3') return Math.exp(-delta) - 1 + delta;
  return Math.max(delta, 0);
}

export function ppoRewards(logprobs: Vec, ref: Vec, mask: Vec, scores: Vec, klCoef: number, estimator: 'k1' | 'k3' | 'clamped') {
  const R = scores.length;
  const T = logprobs.length / R;
  const kl = new Array<number>(logprobs.length).fill(0);
  const rewards = new Array<number>(logprobs.length).fill(0);
  let klSum = 0;
  let entropy = 0;
  for (let r = 0; r < R; r++) {
    let last = -1;
    for (let t = 0; t < T; t++) {
      const i = r * T + t;
      if (!mask[i]) continue;
      kl[i] = klEstimate(logprobs[i]! - ref[i]!, estimator);
      rewards[i] = -klCoef * kl[i]!;
      klSum += kl[i]!;
      entropy -= logprobs[i]!;
      last = i;
    }
    if (last >= 0) rewards[last] = rewards[last]! + scores[r]!;
  }
  let scoreSum = 0;
  for (let r = 0; r < R; r++) scoreSum += scores[r]!;
  return { kl, rewards, stats: [klSum / R, entropy / R, (-klCoef * klSum) / R, scoreSum / R] };
}

export function gae(rewards: Vec, values: Vec, mask: Vec, rows: number, gamma: number, lam: number) {
  const T = rewards.length / rows;
  const advantages = new Array<number>(rewards.length).fill(0);
  const returns = new Array<number>(rewards.length).fill(0);
  for (let r = 0; r < rows; r++) {
    let nextValue = 0;
    let nextAdvantage = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = r * T + t;
      if (!mask[i]) {
        nextValue = 0;
        nextAdvantage = 0;
        continue;
      }
      const delta = rewards[i]! + gamma * nextValue - values[i]!;
      advantages[i] = delta + gamma * lam * nextAdvantage;
      returns[i] = advantages[i]! + values[i]!;
      nextValue = values[i]!;
      nextAdvantage = advantages[i]!;
    }
  }
  return { advantages, returns };
}

export function ppoPolicyLoss(logprobs: Vec, old: Vec, adv: Vec, mask: Vec, entropies: Vec, eps: number) {
  const n = Array.from(mask).filter(Boolean).length;
  const terms: number[] = [];
  const clipped: number[] = [];
  const kl: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < logprobs.length; i++) {
    const ratio = Math.exp(logprobs[i]! - old[i]!);
    const a = -adv[i]! * ratio;
    const b = -adv[i]! * Math.min(Math.max(ratio, 1 - eps), 1 + eps);
    terms.push(Math.max(a, b));
    clipped.push(Number(b > a));
    kl.push(0.5 * (logprobs[i]! - old[i]!) ** 2);
    ratios.push(ratio);
  }
  return {
    loss: maskedMean(terms, mask),
    stats: [maskedMean(terms, mask), maskedMean(clipped, mask), maskedMean(kl, mask), maskedMean(ratios, mask), maskedMean(entropies, mask)],
    n,
  };
}

export function ppoValueLoss(values: Vec, old: Vec, returns: Vec, mask: Vec, eps: number) {
  const terms: number[] = [];
  const clipped: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const a = (values[i]! - returns[i]!) ** 2;
    const vc = Math.min(Math.max(values[i]!, old[i]! - eps), old[i]! + eps);
    const b = (vc - returns[i]!) ** 2;
    terms.push(0.5 * Math.max(a, b));
    clipped.push(Number(b > a));
  }
  return { loss: maskedMean(terms, mask), stats: [maskedMean(terms, mask), maskedMean(clipped, mask)] };
}

export function bradleyTerryLoss(scores: Vec, center: number) {
  const P = scores.length / 2;
  let loss = 0;
  let correct = 0;
  let margin = 0;
  let centering = 0;
  let total = 0;
  for (let p = 0; p < P; p++) {
    const d = scores[p]! - scores[P + p]!;
    loss -= logSigmoid(d);
    correct += Number(d > 0);
    margin += d;
    centering += (scores[p]! + scores[P + p]!) ** 2;
    total += scores[p]! + scores[P + p]!;
  }
  const L = loss / P + center * (centering / P);
  return { loss: L, stats: [L, correct / P, margin / P, total / (2 * P)] };
}

export function dpoLoss(logprobs: Vec, ref: Vec, mask: Vec, rows: number, beta: number) {
  const T = logprobs.length / rows;
  const P = rows / 2;
  const seq = (v: Vec, r: number) => {
    let s = 0;
    for (let t = 0; t < T; t++) if (mask[r * T + t]) s += v[r * T + t]!;
    return s;
  };
  let loss = 0;
  const acc = { chosen: 0, rejected: 0, correct: 0, margin: 0, lpChosen: 0, lpRejected: 0 };
  for (let p = 0; p < P; p++) {
    const rw = beta * (seq(logprobs, p) - seq(ref, p));
    const rl = beta * (seq(logprobs, P + p) - seq(ref, P + p));
    loss -= logSigmoid(rw - rl);
    acc.chosen += rw;
    acc.rejected += rl;
    acc.correct += Number(rw > rl);
    acc.margin += rw - rl;
    acc.lpChosen += seq(logprobs, p);
    acc.lpRejected += seq(logprobs, P + p);
  }
  return {
    loss: loss / P,
    stats: [loss / P, acc.chosen / P, acc.rejected / P, acc.correct / P, acc.margin / P, acc.lpChosen / P, acc.lpRejected / P],
  };
}

/** Central differences of f at x (each coordinate in turn), step h. */
export function numericGradient(f: (x: number[]) => number, x: ArrayLike<number>, h = 1e-6): number[] {
  const v = Array.from(x);
  return v.map((_, i) => {
    const plus = v.slice();
    const minus = v.slice();
    plus[i]! += h;
    minus[i]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

export { sigmoid };

/**
 * RLMEC's loss. `weightsFrom` are the log-probs ρ is computed from (ρ carries no gradient:
 * finite differences hold them at the point of evaluation).
 */
export function rlmecLoss(logprobs: Vec, ref: Vec, rewards: Vec, imitation: Vec, eps: number, lambda: number, weightsFrom: Vec = logprobs) {
  let n = 0;
  let rl = 0;
  let ratios = 0;
  let clips = 0;
  let nc = 0;
  let reg = 0;
  for (let i = 0; i < logprobs.length; i++) {
    const r = rewards[i]!;
    if (r !== 0) {
      const ratio = Math.exp(weightsFrom[i]! - ref[i]!);
      const full = ratio * r;
      const clip = Math.min(Math.max(ratio, 1 - eps), 1 + eps) * r;
      n++;
      rl -= Math.min(full, clip) * logprobs[i]!;
      ratios += ratio;
      clips += Number(clip < full);
    }
    if (imitation[i]) {
      nc++;
      reg -= imitation[i]! * logprobs[i]!;
    }
  }
  const L = rl / Math.max(n, 1) + (lambda * reg) / Math.max(nc, 1);
  return { loss: L, stats: [L, rl / Math.max(n, 1), reg / Math.max(nc, 1), ratios / Math.max(n, 1), clips / Math.max(n, 1)] };
}
