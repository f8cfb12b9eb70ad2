import { NonFiniteLossError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { TokenBatch, PreparedBatch } from '../../nn/batch.js';
import type { CausalLM } from '../../nn/causal_lm.js';

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * One language-modelling training step: forward, loss, backward, then the AdamW update —
 * only if the loss is finite. A NaN/Inf loss throws NonFiniteLossError naming the step, with
 * the parameters and optimizer state untouched. The loss and gradient norm are the only
 * values read back (both in one wait), and they must be: the NaN check has to come before the update.
 */
export async function lmTrainStep(model: CausalLM, optimizer: AdamW, batch: TokenBatch | PreparedBatch, lr?: number): Promise<StepResult> {
  const be = model.backend;
  model.zeroGrad();
  model.forward(batch);
  const loss = model.lmLoss();
  model.backward({ lm: true });
  const norm = optimizer.measureGradients();
  const [lossValue, normSquared] = await Promise.all([be.read(loss), be.read(norm)]);
  const value = lossValue[0]!;
  if (!Number.isFinite(value)) throw new NonFiniteLossError(optimizer.step + 1, value);
  // The norm just read is the one the update clips with: measured once per step.
  optimizer.apply(lr);
  return { loss: value, gradNorm: Math.sqrt(normSquared[0]!) };
}
