// Float64 references of sampleTokens and tokenLogprobs, written from their definitions
// (sorts and plain sums, not the backends' bisections), for the sampling suite.

export interface SampleRefOptions {
  temperature: number;
  topK?: number;
  topP?: number;
}

export interface SampleRef {
  token: number;
  /** The kept set, ascending (empty for greedy). */
  kept: number[];
  /**
   * How close the row came to a different answer: the least distance, relative to the mass
   * involved, between a running mass and the threshold it was compared with (the topP cut,
   * the u · total target). f32 sums on a device may flip a decision closer than ~1e-5.
   */
  margin: number;
}

/** Backend.sampleTokens for one row and its uniform u, in float64. */
export function sampleRef(logits: ArrayLike<number>, u: number, o: SampleRefOptions): SampleRef {
  const V = logits.length;
  const l = Array.from(logits);
  let max = -Infinity;
  let argmax = 0;
  l.forEach((x, i) => {
    if (x > max) [max, argmax] = [x, i];
  });
  if (o.temperature === 0) return { token: argmax, kept: [], margin: Infinity };
  const w = l.map((x) => Math.exp((x - max) / o.temperature));
  let keep = l.map(() => true);
  const k = o.topK ?? 0;
  if (k > 0 && k < V) {
    const tau = [...l].sort((a, b) => b - a)[k - 1]!;
    keep = l.map((x) => x >= tau);
  }
  let margin = Infinity;
  const topP = o.topP ?? 1;
  if (topP < 1) {
    // Whole groups of equal logits, most probable first, until their mass reaches topP·Z.
    const order = l.map((_, i) => i).filter((i) => keep[i]).sort((a, b) => l[b]! - l[a]!);
    const Z = order.reduce((s, i) => s + w[i]!, 0);
    const cut = topP * Z;
    let cum = 0;
    let tau = -Infinity;
    for (let g = 0; g < order.length;) {
      const value = l[order[g]!]!;
      const before = cum;
      for (; g < order.length && l[order[g]!] === value; g++) cum += w[order[g]!]!;
      if (cum >= cut) {
        tau = value;
        margin = Math.min(cum - cut, cut - before) / Z;
        break;
      }
    }
    keep = keep.map((kp, i) => kp && l[i]! >= tau);
  }
  const kept = l.map((_, i) => i).filter((i) => keep[i]);
  const total = kept.reduce((s, i) => s + w[i]!, 0);
  const target = u * total;
  let run = 0;
  for (const i of kept) {
    const before = run;
    run += w[i]!;
    if (run > target) return { token: i, kept, margin: Math.min(margin, (target - before) / total, (run - target) / total) };
  }
  return { token: kept[kept.length - 1]!, kept, margin: 0 };
}

/** log softmax(scale · logits)[target] (NaN for a target outside 0..V-1) and the entropy −Σ p log p. */
export function tokenLogprobRef(logits: ArrayLike<number>, target: number, scale: number): { logprob: number; entropy: number } {
  const x = Array.from(logits, (v) => v * scale);
  const m = x.reduce((a, b) => Math.max(a, b), -Infinity);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  const entropy = x.reduce((s, v) => s + Math.exp(v - lse) * (lse - v), 0);
  const valid = Number.isInteger(target) && target >= 0 && target < x.length;
  return { logprob: valid ? x[target]! - lse : NaN, entropy };
}

/** softmax(logits / temperature) over the given tokens (the others 0): the distribution sampleTokens draws from. */
export function keptDistribution(logits: ArrayLike<number>, temperature: number, kept: number[]): Float64Array {
  const max = kept.reduce((a, i) => Math.max(a, logits[i]!), -Infinity);
  const p = new Float64Array(logits.length);
  for (const i of kept) p[i] = Math.exp((logits[i]! - max) / temperature);
  const Z = p.reduce((s, v) => s + v, 0);
  return p.map((v) => v / Z);
}
