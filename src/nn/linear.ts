// The two layers every family's block is built from, over a model's weights by name: linear
// maps in either storage layout, and LayerNorm or RMSNorm.
import type { Tensor } from '../backend/backend.js';
import { columnSum, matmul } from '../ops/core.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from '../ops/layers.js';
import type { LinearRef, NormRef } from './decoder_tensors.js';

/** A model's weights (or their gradients) by Hugging Face name. */
export type Weights = (name: string) => Tensor;

/** out (+)= x·W + b for W stored as the ref says. */
export function linear(w: Weights, x: Tensor, ref: LinearRef, out: Tensor, accumulate = false): void {
  const bias = ref.bias ? w(ref.bias) : undefined;
  matmul(x, w(ref.weight), { transB: !ref.inputMajor, ...(bias ? { bias } : {}), out, accumulate });
}

/**
 * The backward of linear for ∂L/∂y = dy: adds ∂L/∂W and ∂L/∂b into the gradients, and
 * writes ∂L/∂x into dx (adds with accumulateDx).
 */
export function linearBackward(w: Weights, g: Weights, x: Tensor, dy: Tensor, ref: LinearRef, dx: Tensor, accumulateDx = false): void {
  if (ref.inputMajor) matmul(x, dy, { transA: true, out: g(ref.weight), accumulate: true });
  else matmul(dy, x, { transA: true, out: g(ref.weight), accumulate: true });
  if (ref.bias) columnSum(dy, g(ref.bias));
  matmul(dy, w(ref.weight), { transB: ref.inputMajor, out: dx, accumulate: accumulateDx });
}

/** What a norm's forward keeps for its backward: rstd per row, and the mean for LayerNorm. */
export interface NormStats {
  mean: Tensor | undefined;
  rstd: Tensor;
}

/** LayerNorm when the ref has a bias, RMSNorm otherwise (rows of x [N, width]). */
export function norm(w: Weights, x: Tensor, ref: NormRef, out: Tensor, stats: NormStats, eps: number): void {
  if (ref.bias) layerNorm(x, w(ref.weight), w(ref.bias), out, stats.mean!, stats.rstd, eps);
  else rmsNorm(x, w(ref.weight), out, stats.rstd, eps);
}

/** Adds the norm's gradients into dx and the weight's (and bias's) gradients. */
export function normBackward(w: Weights, g: Weights, dout: Tensor, x: Tensor, ref: NormRef, stats: NormStats, dx: Tensor): void {
  if (ref.bias) layerNormBackward(dout, x, w(ref.weight), stats.mean!, stats.rstd, dx, g(ref.weight), g(ref.bias));
  else rmsNormBackward(dout, x, w(ref.weight), stats.rstd, dx, g(ref.weight));
}
