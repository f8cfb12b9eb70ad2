import type { Tensor } from '../backend/backend.js';
import { NonFiniteLossError } from '../errors.js';
import type { AdamW } from '../nn/adamw.js';

export interface AppliedUpdate {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The tensors asked for, read in the same wait as the norm. */
  values: Float32Array[];
}

/** One optimizer's update: the tensors to read with its gradient norm, and the loss among them. */
export interface UpdateRequest {
  optimizer: AdamW;
  reads: Tensor[];
  loss: (values: Float32Array[]) => number;
}

/**
 * The end of every training step: measures each optimizer's gradient norm on the device, reads
 * the norms back with the step's loss statistics in one wait, and applies the AdamW updates
 * only if every loss is finite: a NaN/Inf loss throws NonFiniteLossError with all parameters
 * untouched. Several optimizers (PPO's policy and value model) share the one wait.
 */
export async function applyUpdates(requests: UpdateRequest[], lr: number): Promise<AppliedUpdate[]> {
  const read = (t: Tensor) => t.backend.read(t);
  const norms = requests.map((r) => r.optimizer.measureGradients());
  const results = await Promise.all(requests.map((r, i) => Promise.all([read(norms[i]!), ...r.reads.map(read)])));
  requests.forEach((r, i) => {
    const value = r.loss(results[i]!.slice(1));
    if (!Number.isFinite(value)) throw new NonFiniteLossError(r.optimizer.step + 1, value);
  });
  for (const r of requests) r.optimizer.apply(lr);
  return results.map(([normSquared, ...values]) => ({ gradNorm: Math.sqrt(normSquared![0]!), values }));
}

/** applyUpdates for one optimizer. */
export async function applyUpdate(optimizer: AdamW, reads: Tensor[], loss: (values: Float32Array[]) => number, lr: number): Promise<AppliedUpdate> {
  return (await applyUpdates([{ optimizer, reads, loss }], lr))[0]!;
}

/** Named statistics from a stats tensor read back, in the order its op documents. */
export function namedStats(names: readonly string[], values: Float32Array, prefix = ''): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [prefix + n, values[i]!]));
}
