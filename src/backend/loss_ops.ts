// Options, checks and output layouts of the reward-loss ops (ALGORITHMS.md §2–§6):
// Backend.ppoRewards, maskedWhiten, gae, ppoPolicyLoss, ppoValueLoss, bradleyTerryLoss,
// dpoLoss, rlmecLoss, and RLP-UML's gaussianReparameterize and mibLoss. Each runs as one small dispatch over per-token or per-row values (kernels/losses/,
// wasm/losses/); the backends receive the checked plans below. Token tensors hold R rows of
// T tokens each, flattened (any shape of R·T elements); masks are 1 on response tokens, 0
// elsewhere, and values under a 0 mask are never used (they may be NaN).
import { ConfigError, ShapeError } from '../errors.js';
import type { Tensor } from './backend.js';

/** Per-token KL estimators, Δ = log π_θ − log π_ref: k1 Δ; k3 (e^−Δ − 1) + Δ; clamped max(Δ, 0). */
export const KL_ESTIMATORS = ['k1', 'k3', 'clamped'] as const;
export type KLEstimator = (typeof KL_ESTIMATORS)[number];

/** What each op's stats tensor holds, in order. */
export const PPO_REWARD_STATS = ['kl', 'entropy', 'non_score_reward', 'scores'] as const;
export const PPO_POLICY_STATS = ['policy_loss', 'clipfrac', 'approxkl', 'ratio', 'entropy'] as const;
export const PPO_VALUE_STATS = ['value_loss', 'clipfrac'] as const;
export const BRADLEY_TERRY_STATS = ['loss', 'accuracy', 'margin', 'mean_reward'] as const;
export const RLMEC_STATS = ['loss', 'rl_loss', 'imitation_loss', 'ratio', 'clipfrac'] as const;
export const DPO_STATS = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const;
/** RLP-UML's multi-view bottleneck (ALGORITHMS.md §4): L_M = −I_JSD + β·D_SKL, I_JSD, D_SKL. */
export const MIB_STATS = ['mib_loss', 'mi_jsd', 'skl'] as const;

/** σ = softplus(raw) + MIB_SIGMA_FLOOR (the spec's 1e-7): σ stays positive when softplus underflows. */
export const MIB_SIGMA_FLOOR = 1e-7;

export interface PPORewardOptions {
  /** β of r_t = −β·kl_t. */
  klCoef: number;
  klEstimator: KLEstimator;
}

export interface GAEOptions {
  gamma: number;
  lam: number;
}

export interface WhitenOptions {
  /** true: (x − μ)/σ; false: (x − μ)/σ + μ (the deviations rescaled, the mean kept). */
  shiftMean: boolean;
}

export interface PPOPolicyLossOptions {
  /** ε of clip(ρ, 1 − ε, 1 + ε). */
  cliprange: number;
}

export interface PPOValueLossOptions {
  /** ε_v of clip(V, V_old − ε_v, V_old + ε_v). */
  cliprangeValue: number;
  /** The value loss's weight in L = L_pg + vf_coef·L_vf: dValues is ∂(vf_coef·L_vf)/∂V. */
  vfCoef: number;
}

export interface BradleyTerryOptions {
  /** Adds coefficient·mean((r_w + r_l)²) (TRL's center_rewards_coefficient); 0: off. */
  centerCoefficient?: number;
}

export interface RLMECLossOptions {
  /** ε of w = min(ρr, clip(ρ, 1 − ε, 1 + ε)·r) (the spec's 0.3). */
  cliprange: number;
  /** λ of L = L_RL + λ·L_reg (imitation_weight, the spec's 1.0). */
  imitationWeight: number;
}

export interface DPOOptions {
  beta: number;
}

export interface MIBLossOptions {
  /** β of L_M = −I_JSD + β·D_SKL (`mib_beta`, the spec's 1; see mibBeta for its annealing). */
  beta: number;
  /**
   * Scales every gradient (not the stats): they become ∂(weight·L_M)/∂·, so a caller that
   * adds λ·L_M to another loss passes λ here. Default 1.
   */
  weight?: number;
}

export interface ReparameterizeBackwardOptions {
  /** Add into dMu and dRawSigma (gradient accumulation) instead of overwriting them. */
  accumulate?: boolean;
}

/** The tensors of a mibLoss call, all [B, K] but the critic's outputs (B values each). */
export interface MIBLossInputs {
  mu1: Tensor; sigma1: Tensor; z1: Tensor;
  mu2: Tensor; sigma2: Tensor; z2: Tensor;
  /** T(z1_i, z2_i). */
  tPos: Tensor;
  /** T(z1_{i−1 mod B}, z2_i). */
  tNeg: Tensor;
}

export interface MIBLossOutputs {
  dMu1: Tensor; dSigma1: Tensor; dZ1: Tensor;
  dMu2: Tensor; dSigma2: Tensor; dZ2: Tensor;
  dTPos: Tensor; dTNeg: Tensor;
  /** [3]: MIB_STATS. */
  stats: Tensor;
}

/** A checked mibLoss call: B rows of K latent dimensions. */
export interface MIBLossPlan {
  B: number;
  K: number;
  beta: number;
  weight: number;
}

export function expectSize(op: string, name: string, t: Tensor, size: number): void {
  if (t.size !== size) throw new ShapeError(`${op}: ${name} has ${t.size} elements (shape [${t.shape.join(', ')}]), expected ${size}`);
}

/** A finite number ≥ min (and ≤ max when given); else a ConfigError naming the option. */
export function checkNumber(op: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${op}: ${name} must be a finite number in [${min}, ${max === Infinity ? '∞' : max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkEstimator(op: string, v: unknown): number {
  const i = KL_ESTIMATORS.indexOf(v as KLEstimator);
  if (i < 0) throw new ConfigError(`${op}: klEstimator must be one of ${KL_ESTIMATORS.join(', ')}, got ${JSON.stringify(v)}`);
  return i;
}

/** R rows of T tokens from a token tensor of R·T elements. */
export function rowsOf(op: string, tokens: Tensor, rows: number): number {
  if (!Number.isInteger(rows) || rows < 1 || tokens.size % rows !== 0) {
    throw new ShapeError(`${op}: ${tokens.size} tokens do not split into ${rows} rows of equal length`);
  }
  return tokens.size / rows;
}

/** A checked ppoRewards call: R rows of T tokens; estimator is its index in KL_ESTIMATORS. */
export interface PPORewardPlan {
  R: number;
  T: number;
  klCoef: number;
  estimator: number;
}

/** A checked gae call: R rows of T tokens. */
export interface GAEPlan {
  R: number;
  T: number;
  gamma: number;
  lam: number;
}
