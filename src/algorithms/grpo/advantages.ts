// Group-relative advantages on the host, in f64, exactly as TRL computes them (ALGORITHMS.md
// §7): completions come in groups of G consecutive ones (one prompt's num_generations), and
// NaN marks a completion no reward function applied to (TRL's "unscorable"), left out of the
// means and standard deviations and given advantage 0.

export type ScaleRewards = 'group' | 'batch' | 'none';
export const SCALE_REWARDS: readonly ScaleRewards[] = ['group', 'batch', 'none'];

/** Mean over the non-NaN values (NaN when there are none): torch.nanmean. */
export function nanMean(x: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]!)) (sum += x[i]!), n++;
  return n ? sum / n : NaN;
}

/** Standard deviation over the non-NaN values with Bessel's correction; NaN with fewer than two: TRL's nanstd. */
export function nanStd(x: ArrayLike<number>): number {
  const mean = nanMean(x);
  let squares = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]!)) (squares += (x[i]! - mean) ** 2), n++;
  return n > 1 ? Math.sqrt(squares / (n - 1)) : NaN;
}

/** torch.isclose(std, 0): |std| ≤ 1e-8 (NaN is not close). */
const isZero = (std: number) => Math.abs(std) <= 1e-8;

export interface Advantages {
  /** One per completion; 0 for an unscorable one. */
  advantages: Float64Array;
  /** Per completion: whether its group's rewards have zero spread (frac_reward_zero_std averages it). */
  zeroStd: boolean[];
}

function groupsOf<T>(n: number, G: number, f: (from: number, to: number) => T): T[] {
  if (n % G !== 0) throw new RangeError(`advantages: ${n} completions do not form groups of ${G}`);
  return Array.from({ length: n / G }, (_, g) => f(g * G, (g + 1) * G));
}

/**
 * GRPO's advantages (TRL's "sum_then_normalize"): A_i = r_i − mean of its group, divided by
 * std + 1e-4 where std is the group's (scale 'group'), the whole batch's ('batch'), or not
 * divided ('none'; the group's std still decides zeroStd).
 */
export function grpoAdvantages(rewards: ArrayLike<number>, G: number, scale: ScaleRewards): Advantages {
  const n = rewards.length;
  const advantages = new Float64Array(n);
  const zeroStd: boolean[] = [];
  const batchStd = nanStd(rewards);
  groupsOf(n, G, (from, to) => {
    const group = Array.prototype.slice.call(rewards, from, to) as number[];
    const mean = nanMean(group);
    const std = scale === 'batch' ? (n > 1 ? batchStd : 0) : G > 1 ? nanStd(group) : 0;
    for (let i = from; i < to; i++) {
      const a = scale === 'none' ? rewards[i]! - mean : (rewards[i]! - mean) / (std + 1e-4);
      advantages[i] = Number.isNaN(a) ? 0 : a;
      zeroStd.push(isZero(std));
    }
  });
  return { advantages, zeroStd };
}

/**
 * RLOO's advantages: A_i = r_i − b_i with the leave-one-out baseline b_i, the mean of the
 * other scorable rewards of its group; normalised over the batch ((A − mean)/(std + 1e-4))
 * with `normalize`. zeroStd is the group's reward spread, as GRPO's.
 */
export function rlooAdvantages(rewards: ArrayLike<number>, G: number, normalize: boolean): Advantages {
  const n = rewards.length;
  let advantages = new Float64Array(n);
  const zeroStd: boolean[] = [];
  groupsOf(n, G, (from, to) => {
    const group = Array.prototype.slice.call(rewards, from, to) as number[];
    const scorable = group.filter((r) => !Number.isNaN(r));
    const sum = scorable.reduce((a, r) => a + r, 0);
    const std = G > 1 ? nanStd(group) : 0;
    for (let i = from; i < to; i++) {
      advantages[i] = G > 1 ? rewards[i]! - (sum - rewards[i]!) / (scorable.length - 1) : 0;
      zeroStd.push(isZero(std));
    }
  });
  if (normalize) {
    const mean = nanMean(advantages);
    const std = nanStd(advantages);
    advantages = advantages.map((a) => (a - mean) / (std + 1e-4));
  }
  return { advantages: advantages.map((a) => (Number.isNaN(a) ? 0 : a)), zeroStd };
}
