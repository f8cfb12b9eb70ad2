// AdamW, elementwise over whole parameter buffers (kernels/adamw.wgsl, wasm/adamw.ts). The
// step's constants are prepared once here, in float64, for both kernels alike.
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { expectShape, kernelsOf, noAlias } from './checks.js';

/** One AdamW update (PyTorch semantics: decoupled decay p ← p − lr·wd·p, bias-corrected moments). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for the bias corrections 1 − βᵗ. */
  step: number;
  /**
   * Global-norm clipping: the gradient is multiplied by min(1, maxGradNorm / (‖g‖ + 1e-6)),
   * with ‖g‖² read from `gradSumSquares` ([1], e.g. `sumSquares(grads)`) on the device, so
   * clipping needs no readback. Omit (or maxGradNorm ≤ 0) for no clipping.
   */
  gradSumSquares?: Tensor;
  maxGradNorm?: number;
}

/**
 * What both kernels compute with: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g² (1 − β in
 * f32), p ← p·decay − stepSize·m / (√v·invSqrtBc2 + eps).
 */
interface AdamWPlan {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
  n: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·wd. */
  decay: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** 1 / √(1 − β2ᵗ). */
  invSqrtBc2: number;
  /** Set when clipping: the squared global norm [1], and the norm to clip to. */
  gradSumSquares: Tensor | undefined;
  maxGradNorm: number;
}

export interface OptimizerKernels {
  adamw(p: AdamWPlan): void;
}

/** Invocations per workgroup of adamw.wgsl, and values per invocation (one vec4). */
const WG = 64;
const PER_INVOCATION = 4;

export const optimizerFamily = opFamily<OptimizerKernels>('optimizer', {
  webgpu: (gpu) => ({
    adamw({ param, grad, m, v, gradSumSquares, n, ...constants }) {
      gpu.elementwise('adamw', 'adamw', { param, grad, m, v }, n, {
        wg: WG, per: PER_INVOCATION, params: { clip: Number(!!gradSumSquares), ...constants }, whole: { gradSumSquares: gradSumSquares ?? gpu.unused },
      });
    },
  }),
  wasm: (cpu) => cpu.direct<OptimizerKernels>(['adamw']),
});

/** One AdamW step on param in place, with its gradient and moments m, v (same shapes). */
export function adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamWStep): void {
  const k = kernelsOf('adamw', optimizerFamily, param, grad, m, v, step.gradSumSquares);
  for (const [name, t] of [['grad', grad], ['m', m], ['v', v]] as const) expectShape('adamw', name, t, param.shape);
  if (step.gradSumSquares) expectShape('adamw', 'gradSumSquares', step.gradSumSquares, [1]);
  if (!Number.isInteger(step.step) || step.step < 1) throw new ShapeError(`adamw: step must be an integer ≥ 1, got ${step.step}`);
  noAlias('adamw', [param, m, v], [grad, ...(step.gradSumSquares ? [step.gradSumSquares] : [])]);
  const clip = step.gradSumSquares !== undefined && (step.maxGradNorm ?? 0) > 0;
  k.adamw({
    param, grad, m, v, n: param.size,
    beta1: step.beta1, beta2: step.beta2, eps: step.eps,
    // Bias corrections in float64, rounded once to f32 by the kernels.
    decay: 1 - step.lr * step.weightDecay,
    stepSize: step.lr / (1 - Math.pow(step.beta1, step.step)),
    invSqrtBc2: 1 / Math.sqrt(1 - Math.pow(step.beta2, step.step)),
    gradSumSquares: clip ? step.gradSumSquares : undefined,
    maxGradNorm: clip ? step.maxGradNorm! : 0,
  });
}
