// The paired difference of two methods evaluated on the same prompts: the mean per-prompt
// difference and a percentile bootstrap confidence interval that resamples prompts (both
// methods' scores of a prompt move together, so the prompt-to-prompt spread they share cancels).
import { ConfigError } from '../errors.js';
import { philoxUniforms } from '../random/philox.js';
import { showValue } from '../training/config/schema.js';

export interface PairedBootstrapOptions {
  /** Seeds the resampling (Philox, resample r on stream r·n): the same seed gives the same interval. */
  seed: number;
  /** Bootstrap resamples; default 1000. */
  resamples?: number;
  /** Coverage of the interval; default 0.95. */
  confidence?: number;
}

export interface PairedDifference {
  /** mean(a − b) over the prompts. */
  mean: number;
  /** The interval's ends: the (1 − confidence)/2 and (1 + confidence)/2 quantiles of the resampled means. */
  low: number;
  high: number;
  /** Prompts. */
  n: number;
}

/** The q-quantile of sorted values, interpolating linearly between neighbours (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at), hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * a − b per prompt (a[i] and b[i] score the same prompt i), its mean and a paired percentile
 * bootstrap interval: each resample draws n prompts with replacement and averages their
 * differences. Identical a and b give the interval [0, 0].
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], o: PairedBootstrapOptions): PairedDifference {
  const resamples = o.resamples ?? 1000;
  const confidence = o.confidence ?? 0.95;
  if (a.length !== b.length) throw new ConfigError(`pairedBootstrap: ${a.length} scores against ${b.length}; pass both methods' scores of the same prompts, in the same order`);
  const n = a.length;
  if (n === 0) throw new ConfigError('pairedBootstrap: no prompts; evaluate both methods on at least one prompt');
  if (!Number.isInteger(resamples) || resamples < 1) throw new ConfigError(`pairedBootstrap: resamples must be a positive integer, got ${showValue(resamples)}`);
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError(`pairedBootstrap: confidence must be in (0, 1), got ${showValue(confidence)}`);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = a[i]! - b[i]!;
    if (!Number.isFinite(d[i]!)) throw new ConfigError(`pairedBootstrap: prompt ${i}'s scores ${showValue(a[i])} and ${showValue(b[i])} must be finite numbers`);
  }
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const u = philoxUniforms(n, { seed: o.seed, stream: r * n, offset: 0 });
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[Math.min(n - 1, Math.floor(u[i]! * n))]!;
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - confidence) / 2;
  return { mean: d.reduce((s, x) => s + x, 0) / n, low: quantile(means, tail), high: quantile(means, 1 - tail), n };
}
