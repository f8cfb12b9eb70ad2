// PPO's losses (ALGORITHMS.md §3): per-token rewards with the KL penalty, masked whitening,
// generalised advantage estimation, and the clipped policy and value losses
// (kernels/losses/ppo_*.wgsl, masked_whiten.wgsl, gae.wgsl; wasm/losses/ppo.ts). Each is one
// dispatch over a batch's per-token values (small next to the model), in f32 on WebGPU (one
// workgroup) and f64 on WASM. Token tensors hold R rows of T tokens each, flattened (any
// shape of R·T elements); masks are 1 on response tokens, 0 elsewhere, and values under a 0
// mask are never used (they may be NaN).
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkChoice, checkNumber, checkTokenLoss, distinctOutputs, expectSize, expectSizes, kernelsOf, tokenRowsOf } from './checks.js';

/** Per-token KL estimators, Δ = log π_θ − log π_ref: k1 Δ; k3 (e^−Δ − 1) + Δ; clamped max(Δ, 0). */
export const KL_ESTIMATORS = ['k1', 'k3', 'clamped'] as const;
export type KLEstimator = (typeof KL_ESTIMATORS)[number];

/** What each op's stats tensor holds, in order. */
export const PPO_REWARD_STATS = ['kl', 'entropy', 'non_score_reward', 'scores'] as const;
export const PPO_POLICY_STATS = ['policy_loss', 'clipfrac', 'approxkl', 'ratio', 'entropy'] as const;
export const PPO_VALUE_STATS = ['value_loss', 'clipfrac'] as const;

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

type Plan = Record<string, Tensor | number>;

/** The kernels, by their WGSL and WASM name; each plan's keys are the kernels' own names. */
export interface PPOLossKernels {
  ppo_rewards(p: Plan): void;
  masked_whiten(p: Plan): void;
  gae(p: Plan): void;
  ppo_policy_loss(p: Plan): void;
  ppo_value_loss(p: Plan): void;
}

const OPS = { ppo_rewards: 'ppoRewards', masked_whiten: 'maskedWhiten', gae: 'gae', ppo_policy_loss: 'ppoPolicyLoss', ppo_value_loss: 'ppoValueLoss' } as const;

export const ppoLossFamily = opFamily<PPOLossKernels>('ppo losses', {
  webgpu: (gpu) => gpu.singleWorkgroups<PPOLossKernels>(OPS),
  wasm: (cpu) => cpu.direct<PPOLossKernels>(Object.keys(OPS) as (keyof PPOLossKernels)[]),
});

/**
 * PPO's per-token rewards. For row r (R = scores.size rows) and its response tokens
 * (mask 1), with Δ = logprobs − refLogprobs: kl = k1 Δ | k3 (e^−Δ − 1) + Δ | clamped
 * max(Δ, 0); rewards = −klCoef·kl, plus scores[r] at the row's last response token (an
 * explicit position, never one past it). kl and rewards are 0 off the mask. stats [4]
 * (PPO_REWARD_STATS), means over rows of per-row sums: kl, entropy (−logprobs),
 * non-score reward (−klCoef·kl), and the mean score.
 */
export function ppoRewards(
  i: { logprobs: Tensor; refLogprobs: Tensor; mask: Tensor; scores: Tensor },
  out: { rewards: Tensor; kl: Tensor; stats: Tensor },
  o: PPORewardOptions,
): void {
  const op = 'ppoRewards';
  const k = kernelsOf(op, ppoLossFamily, i.logprobs, i.refLogprobs, i.mask, i.scores, out.rewards, out.kl, out.stats);
  const R = i.scores.size;
  const T = tokenRowsOf(op, i.logprobs, R);
  expectSizes(op, { refLogprobs: i.refLogprobs, mask: i.mask, rewards: out.rewards, kl: out.kl }, R * T);
  expectSize(op, 'stats', out.stats, PPO_REWARD_STATS.length);
  const klCoef = checkNumber(op, 'klCoef', o.klCoef, 0);
  const estimator = checkChoice(op, 'klEstimator', KL_ESTIMATORS, o.klEstimator);
  distinctOutputs(op, [out.rewards, out.kl, out.stats], [i.logprobs, i.refLogprobs, i.mask, i.scores]);
  k.ppo_rewards({ logprobs: i.logprobs, refLogprobs: i.refLogprobs, mask: i.mask, scores: i.scores, rewards: out.rewards, kl: out.kl, stats: out.stats, R, T, estimator, klCoef });
}

/**
 * out = (x − μ)·(σ² + 1e-8)^−½ (+ μ unless shiftMean) on the mask, 0 off it; μ and the
 * unbiased σ² (Bessel's n − 1, n ≥ 2; σ² = 0 for a single token) run over masked entries.
 */
export function maskedWhiten(x: Tensor, mask: Tensor, out: Tensor, o: WhitenOptions): void {
  const k = kernelsOf('maskedWhiten', ppoLossFamily, x, mask, out);
  expectSize('maskedWhiten', 'mask', mask, x.size);
  expectSize('maskedWhiten', 'out', out, x.size);
  distinctOutputs('maskedWhiten', [out], [x, mask]);
  k.masked_whiten({ x, mask, out, N: x.size, shiftMean: Number(!!o.shiftMean) });
}

/**
 * Generalised advantage estimation along each of `rows` rows, over its response tokens
 * (mask 1, contiguous): δ_t = r_t + γV_{t+1} − V_t with V after the last token 0,
 * A_t = δ_t + γλA_{t+1}, returns R_t = A_t + V_t. 0 off the mask.
 */
export function gae(rewards: Tensor, values: Tensor, mask: Tensor, advantages: Tensor, returns: Tensor, o: GAEOptions & { rows: number }): void {
  const op = 'gae';
  const k = kernelsOf(op, ppoLossFamily, rewards, values, mask, advantages, returns);
  const T = tokenRowsOf(op, rewards, o.rows);
  expectSizes(op, { values, mask, advantages, returns }, rewards.size);
  const gamma = checkNumber(op, 'gamma', o.gamma, 0, 1);
  const lam = checkNumber(op, 'lam', o.lam, 0, 1);
  distinctOutputs(op, [advantages, returns], [rewards, values, mask]);
  k.gae({ rewards, values, mask, advantages, returns, R: o.rows, T, gamma, lam });
}

/**
 * PPO's clipped policy loss over the masked tokens, ρ = exp(logprobs − oldLogprobs):
 * L_pg = masked_mean(max(−Aρ, −A·clip(ρ, 1 − ε, 1 + ε))). dLogprobs = ∂L_pg/∂logprobs
 * (−Aρ/n where the unclipped term is the max, else 0). stats [5] (PPO_POLICY_STATS), masked
 * means: L_pg, clip fraction (clipped term strictly larger), ½Δ², ρ, and `entropies`.
 */
export function ppoPolicyLoss(
  i: { logprobs: Tensor; oldLogprobs: Tensor; advantages: Tensor; mask: Tensor; entropies: Tensor },
  out: { dLogprobs: Tensor; stats: Tensor },
  o: PPOPolicyLossOptions,
): void {
  const op = 'ppoPolicyLoss';
  const { kernels, N, tensors } = checkTokenLoss(op, ppoLossFamily, i, out, PPO_POLICY_STATS);
  kernels.ppo_policy_loss({ ...tensors, N, cliprange: checkNumber(op, 'cliprange', o.cliprange, 0) });
}

/**
 * PPO's clipped value loss over the masked tokens: L_vf = ½ masked_mean(max((V − R)²,
 * (clip(V, V_old ± ε_v) − R)²)). dValues = vfCoef·∂L_vf/∂V ((V − R)/n where the unclipped
 * term is the max, else 0). stats [2] (PPO_VALUE_STATS): L_vf and the clip fraction.
 */
export function ppoValueLoss(
  i: { values: Tensor; oldValues: Tensor; returns: Tensor; mask: Tensor },
  out: { dValues: Tensor; stats: Tensor },
  o: PPOValueLossOptions,
): void {
  const op = 'ppoValueLoss';
  const { kernels, N, tensors } = checkTokenLoss(op, ppoLossFamily, i, out, PPO_VALUE_STATS);
  kernels.ppo_value_loss({ ...tensors, N, cliprangeValue: checkNumber(op, 'cliprangeValue', o.cliprangeValue, 0), vfCoef: checkNumber(op, 'vfCoef', o.vfCoef, 0) });
}
