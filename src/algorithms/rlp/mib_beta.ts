import { ConfigError } from '../../errors.js';

/** Where the optional annealing of β starts (ALGORITHMS.md §4: from 1e-3 to β). */
export const MIB_BETA_START = 1e-3;

export interface MIBBetaOptions {
  /** β of L_M = −I_JSD + β·D_SKL (`mib_beta`, default 1 in the spec). */
  beta: number;
  /** Grow β exponentially over training instead of holding it. */
  anneal?: boolean;
}

/**
 * β at optimisation step `step` (0-based) of `totalSteps`: `beta` throughout, or with `anneal`
 * MIB_BETA_START·(beta / MIB_BETA_START)^(step / (totalSteps − 1)), geometric from 1e-3 at the
 * first step to `beta` at the last (and after it). A beta at or below 1e-3 is not annealed.
 */
export function mibBeta(step: number, totalSteps: number, o: MIBBetaOptions): number {
  if (typeof o.beta !== 'number' || !Number.isFinite(o.beta) || o.beta < 0) throw new ConfigError(`mibBeta: beta (mib_beta) must be a finite number ≥ 0, got ${JSON.stringify(o.beta)}`);
  if (!Number.isInteger(step) || step < 0) throw new ConfigError(`mibBeta: step must be an integer ≥ 0 (0-based), got ${step}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new ConfigError(`mibBeta: totalSteps must be an integer ≥ 1, got ${totalSteps}`);
  if (!o.anneal || o.beta <= MIB_BETA_START) return o.beta;
  const progress = totalSteps === 1 ? 1 : Math.min(1, step / (totalSteps - 1));
  return MIB_BETA_START * (o.beta / MIB_BETA_START) ** progress;
}
