// The preference losses (ALGORITHMS.md §2, §6): Bradley–Terry for reward models and DPO's
// sigmoid loss (kernels/losses/bradley_terry.wgsl, dpo.wgsl; wasm/losses/preference.ts). One
// dispatch each over a batch's scores or tokens, in f32 on WebGPU (one workgroup) and f64 on
// WASM. Pairs come as 2P rows: rows 0..P−1 chosen, P..2P−1 rejected.
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkNumber, distinctOutputs, expectSize, expectSizes, kernelsOf, tokenRowsOf } from './checks.js';

/** What each op's stats tensor holds, in order. */
export const BRADLEY_TERRY_STATS = ['loss', 'accuracy', 'margin', 'mean_reward'] as const;
export const DPO_STATS = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const;

export interface BradleyTerryOptions {
  /** Adds coefficient·mean((r_w + r_l)²) (TRL's center_rewards_coefficient); 0: off. */
  centerCoefficient?: number;
}

export interface DPOOptions {
  beta: number;
}

type Plan = Record<string, Tensor | number>;

export interface PreferenceLossKernels {
  bradley_terry(p: Plan): void;
  dpo(p: Plan): void;
}

const OPS = { bradley_terry: 'bradleyTerryLoss', dpo: 'dpoLoss' } as const;

export const preferenceLossFamily = opFamily<PreferenceLossKernels>('preference losses', {
  webgpu: (gpu) => gpu.singleWorkgroups<PreferenceLossKernels>(OPS),
  wasm: (cpu) => cpu.direct<PreferenceLossKernels>(['bradley_terry', 'dpo']),
});

/**
 * The Bradley–Terry loss of 2P scores, rows 0..P−1 chosen (r_w) and P..2P−1 rejected (r_l):
 * L = −mean log σ(r_w − r_l) + centerCoefficient·mean((r_w + r_l)²). dScores = ∂L/∂scores.
 * stats [4] (BRADLEY_TERRY_STATS): L, accuracy (r_w > r_l), mean margin, mean reward.
 */
export function bradleyTerryLoss(scores: Tensor, dScores: Tensor, stats: Tensor, o: BradleyTerryOptions = {}): void {
  const op = 'bradleyTerryLoss';
  const k = kernelsOf(op, preferenceLossFamily, scores, dScores, stats);
  if (scores.size % 2 !== 0 || scores.size === 0) throw new ShapeError(`${op}: scores has ${scores.size} values; give 2P: P chosen, then P rejected`);
  expectSize(op, 'dScores', dScores, scores.size);
  expectSize(op, 'stats', stats, BRADLEY_TERRY_STATS.length);
  const center = checkNumber(op, 'centerCoefficient', o.centerCoefficient ?? 0, 0);
  distinctOutputs(op, [dScores, stats], [scores]);
  k.bradley_terry({ scores, dScores, stats, P: scores.size / 2, center });
}

/**
 * DPO's sigmoid loss over 2P rows of tokens, rows 0..P−1 chosen and P..2P−1 rejected,
 * with sequence log-probs s = Σ_mask logprobs (s_ref from refLogprobs):
 * h = (s_w − s_ref,w) − (s_l − s_ref,l), L = −mean log σ(β·h). dLogprobs = ∂L/∂logprobs
 * (each masked token of a row gets its row's gradient). stats [7] (DPO_STATS, TRL's names):
 * L, rewards β(s − s_ref) of chosen and rejected, accuracy, margin, and mean s of each.
 */
export function dpoLoss(i: { logprobs: Tensor; refLogprobs: Tensor; mask: Tensor }, out: { dLogprobs: Tensor; stats: Tensor }, o: DPOOptions & { rows: number }): void {
  const op = 'dpoLoss';
  const k = kernelsOf(op, preferenceLossFamily, i.logprobs, i.refLogprobs, i.mask, out.dLogprobs, out.stats);
  if (!Number.isInteger(o.rows) || o.rows < 2 || o.rows % 2 !== 0) throw new ShapeError(`${op}: rows is ${o.rows}; give 2P rows: P chosen, then P rejected`);
  const T = tokenRowsOf(op, i.logprobs, o.rows);
  expectSizes(op, { refLogprobs: i.refLogprobs, mask: i.mask, dLogprobs: out.dLogprobs }, i.logprobs.size);
  expectSize(op, 'stats', out.stats, DPO_STATS.length);
  const beta = checkNumber(op, 'beta', o.beta, 0);
  distinctOutputs(op, [out.dLogprobs, out.stats], [i.logprobs, i.refLogprobs, i.mask]);
  k.dpo({ logprobs: i.logprobs, refLogprobs: i.refLogprobs, mask: i.mask, dLogprobs: out.dLogprobs, stats: out.stats, P: o.rows / 2, T, beta });
}
