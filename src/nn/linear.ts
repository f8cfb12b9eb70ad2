// The two layers every family's block is built from, over a model's weights by name: linear
// maps in either storage layout, and LayerNorm or RMSNorm.
import type { Tensor } from '../backend/backend.js';
import { TensorStateError } from '../errors.js';
import { columnSum, matmul } from '../ops/core.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from '../ops/layers.js';
import type { LinearRef, NormRef } from './decoder_tensors.js';
import type { LowRankUpdate } from './lora/lora_adapter.js';

/** A model's weights (or their gradients) by Hugging Face name. */
export type Weights = (name: string) => Tensor;

/** Gradients by name: undefined for a frozen weight (an adapted model's base), whose gradient is not computed. */
export type Gradients = (name: string) => Tensor | undefined;

/** out (+)= x·W + b for W stored as the ref says, plus a LoRA adapter's update on this map. */
export function linear(w: Weights, x: Tensor, ref: LinearRef, out: Tensor, accumulate = false, lora?: LowRankUpdate): void {
  const bias = ref.bias ? w(ref.bias) : undefined;
  matmul(x, w(ref.weight), { transB: !ref.inputMajor, ...(bias ? { bias } : {}), out, accumulate });
  lora?.forward(x, ref, out);
}

/**
 * The backward of linear for ∂L/∂y = dy: adds ∂L/∂W and ∂L/∂b into the gradients (those
 * that are not frozen), the adapter's gradients, and writes ∂L/∂x into dx (adds with accumulateDx).
 */
export function linearBackward(w: Weights, g: Gradients, x: Tensor, dy: Tensor, ref: LinearRef, dx: Tensor, accumulateDx = false, lora?: LowRankUpdate): void {
  const dW = g(ref.weight);
  if (dW && ref.inputMajor) matmul(x, dy, { transA: true, out: dW, accumulate: true });
  else if (dW) matmul(dy, x, { transA: true, out: dW, accumulate: true });
  const db = ref.bias ? g(ref.bias) : undefined;
  if (db) columnSum(dy, db);
  matmul(dy, w(ref.weight), { transB: ref.inputMajor, out: dx, accumulate: accumulateDx });
  lora?.backward(x, dy, ref, dx);
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

/**
 * Adds the norm's gradients into dx and the weight's (and bias's) gradients. The kernels
 * always write the latter: a frozen norm's Gradients gives a scratch tensor, not undefined.
 */
export function normBackward(w: Weights, g: Gradients, dout: Tensor, x: Tensor, ref: NormRef, stats: NormStats, dx: Tensor): void {
  const grad = (name: string) => {
    const t = g(name);
    if (!t) throw new TensorStateError(`normBackward: no gradient tensor for ${name}; give frozen norms a scratch gradient`);
    return t;
  };
  if (ref.bias) layerNormBackward(dout, x, w(ref.weight), stats.mean!, stats.rstd, dx, grad(ref.weight), grad(ref.bias));
  else rmsNormBackward(dout, x, w(ref.weight), stats.rstd, dx, grad(ref.weight));
}
