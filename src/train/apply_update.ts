import type { Tensor } from '../backend/backend.js';
import { NonFiniteLossError } from '../errors.js';
import type { AdamW } from '../nn/adamw.js';

export interface AppliedUpdate {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The tensors asked for, read in the same wait as the norm. */
  values: Float32Array[];
}

/**
 * The end of every training step: measures the gradient norm on the device, reads it back with
 * the step's loss statistics in one wait, and applies the AdamW update only if `loss(values)`
 * is finite: a NaN/Inf loss throws NonFiniteLossError with the parameters untouched.
 */
export async function applyUpdate(optimizer: AdamW, reads: Tensor[], loss: (values: Float32Array[]) => number, lr: number): Promise<AppliedUpdate> {
  const be = optimizer.model.backend;
  const norm = optimizer.measureGradients();
  const [normSquared, ...values] = await Promise.all([be.read(norm), ...reads.map((t) => be.read(t))]);
  const value = loss(values);
  if (!Number.isFinite(value)) throw new NonFiniteLossError(optimizer.step + 1, value);
  optimizer.apply(lr);
  return { gradNorm: Math.sqrt(normSquared![0]!), values };
}

/** Named statistics from a stats tensor read back, in the order its op documents. */
export function namedStats(names: readonly string[], values: Float32Array, prefix = ''): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [prefix + n, values[i]!]));
}
