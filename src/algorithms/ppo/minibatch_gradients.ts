// The gradient half of one PPO minibatch update (ALGORITHMS.md §3): the clipped policy loss
// through the policy's log-probs at the sampling temperature, and vf_coef times the clipped
// value loss through the value model's head. The learner applies both updates after it; a
// test reads the gradients here, before any update.
import type { Tensor } from '../../backend/backend.js';
import type { TokenBatch } from '../../nn/batch.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { ppoPolicyLoss, ppoValueLoss } from '../../ops/ppo_losses.js';
import type { PPOConfig } from './config.js';

/** A minibatch's rollout buffers, [M] = rows × T each, row-aligned with its TokenBatch. */
export interface PPOMinibatch {
  mask: Tensor;
  oldLogprobs: Tensor;
  oldValues: Tensor;
  advantages: Tensor;
  returns: Tensor;
}

/** Scratch the losses write: dLogprobs and dValues [M], and the two stats tensors. */
export interface PPOMinibatchOutputs {
  dLogprobs: Tensor;
  dValues: Tensor;
  policyStats: Tensor;
  valueStats: Tensor;
}

export type PPOMinibatchHyperparameters = Pick<PPOConfig, 'temperature' | 'cliprange' | 'cliprange_value' | 'vf_coef'>;

/** Zeroes both models' gradients and fills them with ∂L_pg/∂policy and ∂(vf_coef·L_vf)/∂value. */
export function ppoMinibatchGradients(
  models: { policy: CausalLM; value: CausalLM }, batch: TokenBatch, mb: PPOMinibatch, out: PPOMinibatchOutputs, hp: PPOMinibatchHyperparameters,
): void {
  const { policy, value } = models;
  const M = mb.mask.size;
  policy.zeroGrad();
  policy.forward(batch);
  const { logprobs, entropies } = policy.tokenLogprobs(1 / hp.temperature);
  ppoPolicyLoss(
    { logprobs, oldLogprobs: mb.oldLogprobs, advantages: mb.advantages, mask: mb.mask, entropies },
    { dLogprobs: out.dLogprobs, stats: out.policyStats }, { cliprange: hp.cliprange },
  );
  policy.backward({ dLogprobs: out.dLogprobs, logprobScale: 1 / hp.temperature });

  value.zeroGrad();
  value.forward(batch, { logits: false });
  ppoValueLoss(
    { values: value.backend.view(value.values(), 0, [M]), oldValues: mb.oldValues, returns: mb.returns, mask: mb.mask },
    { dValues: out.dValues, stats: out.valueStats }, { cliprangeValue: hp.cliprange_value, vfCoef: hp.vf_coef },
  );
  value.backward({ dValues: value.backend.view(out.dValues, 0, [M, 1]) });
}
