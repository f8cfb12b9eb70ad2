// GRPO's and RLOO's policy loss (TRL's GRPOTrainer and RLOOTrainer, compute_loss) with its
// gradient (kernels/losses/grpo.wgsl, wasm/losses/grpo.ts) over a batch's tokens: in f32 on
// WebGPU (two single-workgroup dispatches) and f64 on WASM (one call).
import { ConfigError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkChoice, checkNumber, distinctOutputs, expectSize, expectSizes, kernelsOf, tokenRowsOf } from './checks.js';

/** TRL's loss_type values (their index is the kernels' code). */
export const GRPO_LOSS_TYPES = ['grpo', 'bnpo', 'dr_grpo', 'dapo', 'rloo'] as const;
export type GRPOLossType = (typeof GRPO_LOSS_TYPES)[number];
/** TRL's importance_sampling_level values, and RLOO's sum over the sequence (their index is the kernels' code). */
export const IMPORTANCE_SAMPLING_LEVELS = ['token', 'sequence', 'sequence_sum'] as const;
export type ImportanceSamplingLevel = (typeof IMPORTANCE_SAMPLING_LEVELS)[number];
/** What the stats tensor holds, in order (TRL's metric names). */
export const GRPO_STATS = ['loss', 'kl', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'clip_ratio/low_min', 'clip_ratio/high_max'] as const;

export interface GRPOLossOptions {
  lossType: GRPOLossType;
  importanceSamplingLevel: ImportanceSamplingLevel;
  /** ε_low: the ratio's lower clip bound is 1 − epsilonLow. */
  epsilonLow: number;
  /** ε_high: the upper bound is 1 + epsilonHigh (DAPO's clip-higher; TRL: epsilon_high ?? epsilon). */
  epsilonHigh: number;
  /** INTELLECT-2's two-sided clipping: the unclipped ratio is capped at delta; null: off. */
  delta: number | null;
  /** β of the k3 KL penalty to the reference; 0: refLogprobs is not read. */
  beta: number;
  /** dr_grpo's constant: the loss divides by rows × maxCompletionLength. */
  maxCompletionLength: number;
  /** dapo's normaliser: TRL's num_items_in_batch, the whole generation's completion tokens, rescaled to one accumulation window (× gradient_accumulation_steps / steps_per_generation; TRL 1.13). */
  tokensInBatch: number;
  /** Gradient-accumulation steps the loss is divided by (grpo, bnpo, dr_grpo, rloo; not dapo, whose normaliser is already global). */
  accumulationSteps: number;
  /**
   * TRL's use_bias_correction_kl (its default since 1.13): the KL term is β·k3·ρ with the
   * importance weight ρ (not detached), the unbiased reverse-KL gradient of DeepSeek-V3.2;
   * its gradient changes even where ρ = 1. Default false: β·k3.
   */
  klCorrection?: boolean;
}

export interface GRPOLossKernels {
  grpo_loss(p: Record<string, Tensor | number>): void;
}

export const grpoLossFamily = opFamily<GRPOLossKernels>('GRPO loss', {
  webgpu: (gpu) => ({
    // Two single-workgroup dispatches, each within the 8 storage buffers a stage is
    // guaranteed (grpo.wgsl): the loss, gradient and stats, then the entropy stat.
    grpo_loss({ entropies, ...plan }) {
      gpu.singleWorkgroup('grpoLoss', 'grpo_loss', plan);
      gpu.singleWorkgroup('grpoLoss', 'grpo_loss__entropy', { mask: plan.mask!, entropies: entropies!, stats: plan.stats!, R: plan.R!, T: plan.T! });
    },
  }),
  wasm: (cpu) => cpu.direct<GRPOLossKernels>(['grpo_loss']),
});

/**
 * The clipped policy loss of GRPO (and its variants) and RLOO over R rows of T tokens
 * (R = rowAdvantages.size; every other tensor but stats has R·T elements, any shape); m is
 * the mask, n_r the row's masked tokens, off-mask values are never read (they may be NaN).
 * With d = logprobs − oldLogprobs, the log importance weight is logw = d per token ('token'),
 * Σm·d / max(n_r, 1) per row ('sequence', GSPO) or Σm·d per row ('sequence_sum', RLOO);
 * ρ = e^logw, c1 = min(ρ, δ) (ρ when delta is null), c2 = clip(ρ, 1 − ε_low, 1 + ε_high),
 * A = rowAdvantages[r] (+ tokenAdvantages when given; RLOO takes none),
 * pg = −min(c1·A, c2·A), ℓ = pg + β·k3 with k3 = e^(ref − lp) − (ref − lp) − 1, times ρ with
 * klCorrection. L (GA = accumulationSteps): grpo mean over rows of Σm·ℓ / max(n_r, 1), / GA;
 * bnpo Σm·ℓ / max(Σm, 1) / GA; dr_grpo Σm·ℓ / (R·maxCompletionLength) / GA; dapo
 * Σm·ℓ / max(tokensInBatch, 1); rloo the mean over rows of the row's pg (one per row, ρ = 1
 * for an empty row) / GA. This is TRL's compute_loss line for line (per_token_loss, its
 * loss_type branches and the division by current_gradient_accumulation_steps), and
 * dLogprobs = ∂L/∂logprobs as torch's autograd gives it: min's backward splits a tie in
 * halves, clamp's passes inside its bounds inclusive; exactly 0 off the mask.
 * stats [8] (GRPO_STATS), this call's: L, the masked means of k3 (times ρ with klCorrection,
 * as TRL logs it) and `entropies`, and TRL's clip ratios (c1 < 1 − ε_low with A < 0,
 * c1 > 1 + ε_high with A > 0) in TRL's shapes: per token (level 'token', or any level with
 * tokenAdvantages: TRL's (B, T) advantages) as means over masked tokens and min / max over
 * non-empty rows of the row's fraction; else per row (A = rowAdvantages), mean / min / max
 * over all rows.
 * Inputs may alias each other (oldLogprobs = logprobs for μ = 1, refLogprobs = logprobs for
 * β = 0); outputs may not. 'rloo' takes 'sequence_sum' and β = 0, and only it takes 'sequence_sum'.
 */
export function grpoLoss(
  i: { logprobs: Tensor; oldLogprobs: Tensor; refLogprobs: Tensor; rowAdvantages: Tensor; tokenAdvantages?: Tensor; mask: Tensor; entropies: Tensor },
  out: { dLogprobs: Tensor; stats: Tensor },
  o: GRPOLossOptions,
): void {
  const op = 'grpoLoss';
  const ins = [i.logprobs, i.oldLogprobs, i.refLogprobs, i.rowAdvantages, ...(i.tokenAdvantages ? [i.tokenAdvantages] : []), i.mask, i.entropies];
  const kernels = kernelsOf(op, grpoLossFamily, ...ins, out.dLogprobs, out.stats);
  const R = i.rowAdvantages.size;
  const T = tokenRowsOf(op, i.logprobs, R);
  const { oldLogprobs, refLogprobs, mask, entropies } = i;
  expectSizes(op, { oldLogprobs, refLogprobs, mask, entropies, dLogprobs: out.dLogprobs, ...(i.tokenAdvantages ? { tokenAdvantages: i.tokenAdvantages } : {}) }, R * T);
  expectSize(op, 'stats', out.stats, GRPO_STATS.length);
  distinctOutputs(op, [out.dLogprobs, out.stats], ins);
  const options = checkOptions(op, o);
  if (i.tokenAdvantages && o.lossType === 'rloo') throw new ConfigError(`${op}: lossType 'rloo' takes one advantage per row; leave tokenAdvantages out`);
  // Without tokenAdvantages the kernels bind the mask in its place and never read it.
  const tokenLevel = Number(i.tokenAdvantages !== undefined);
  kernels.grpo_loss({ ...i, tokenAdvantages: i.tokenAdvantages ?? i.mask, ...out, R, T, tokenLevel, ...options });
}

/** The options as the kernels' numbers, after checking them. */
function checkOptions(op: string, o: GRPOLossOptions): Record<string, number> {
  const lossType = checkChoice(op, 'lossType', GRPO_LOSS_TYPES, o.lossType);
  const level = checkChoice(op, 'importanceSamplingLevel', IMPORTANCE_SAMPLING_LEVELS, o.importanceSamplingLevel);
  const beta = checkNumber(op, 'beta', o.beta, 0);
  const rloo = o.lossType === 'rloo';
  if (rloo !== (o.importanceSamplingLevel === 'sequence_sum')) {
    throw new ConfigError(rloo
      ? `${op}: lossType 'rloo' takes importanceSamplingLevel 'sequence_sum' (RLOO's ratio is one per sequence, of the summed log-ratio), got ${JSON.stringify(o.importanceSamplingLevel)}`
      : `${op}: importanceSamplingLevel 'sequence_sum' is RLOO's; lossType ${JSON.stringify(o.lossType)} takes 'token' or 'sequence'`);
  }
  if (rloo && beta !== 0) throw new ConfigError(`${op}: lossType 'rloo' takes beta 0 (RLOO puts the KL penalty in the reward), got ${beta}`);
  let delta = 0; // the kernels' code for null: off
  if (o.delta !== null) {
    delta = checkNumber(op, 'delta', o.delta, 0);
    if (delta === 0) throw new ConfigError(`${op}: delta must be > 0 (the cap of the unclipped ratio, > 1 in practice) or null (off), got 0`);
  }
  return {
    lossType, level, beta, delta,
    epsilonLow: checkNumber(op, 'epsilonLow', o.epsilonLow, 0),
    epsilonHigh: checkNumber(op, 'epsilonHigh', o.epsilonHigh, 0),
    maxCompletionLength: checkNumber(op, 'maxCompletionLength', o.maxCompletionLength, 1),
    tokensInBatch: checkNumber(op, 'tokensInBatch', o.tokensInBatch, 0),
    accumulationSteps: checkNumber(op, 'accumulationSteps', o.accumulationSteps, 1),
    klCorrection: Number(o.klCorrection === true),
  };
}
