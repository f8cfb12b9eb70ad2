// PPO's four models (ALGORITHMS.md §3) from what a run starts with, made one way for every
// caller (the CLI, the RLP pipeline, RLMEC's PPO baseline): the policy is the SFT model
// trained, π_ref the SFT model frozen, the value model a model with a new zero value head, and
// the reward a frozen score-head model or a function.
import { ConfigError } from '../../errors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { PPOModels, RewardFunction } from './learner.js';

export interface PPOModelSources {
  /** The SFT model: the policy starts from it, and π_ref is it. */
  sft: CausalLM;
  /**
   * Train `sft` itself (a model loaded for this run only) instead of a copy. Default false:
   * the policy is a trainable clone and `sft` stays as it was.
   */
  trainInPlace?: boolean;
  /** A model with a score head (frozen here), or a function that scores responses on the host. */
  reward: CausalLM | RewardFunction;
  /** A value model to train as it is (it has a value head); default: a new one from `valueFrom`. */
  value?: CausalLM;
  /** What a new value model copies before its zero value head is added; default the reward model (TRL's choice). */
  valueFrom?: CausalLM;
}

export interface PPOModelSet extends PPOModels {
  /**
   * Frees the models made here besides the policy: the reference copy and a new value model.
   * The policy is what the run produces: the caller keeps or disposes it, as it does the
   * models it passed in.
   */
  dispose(): void;
}

/**
 * The policy (a trainable copy of `sft`, or `sft` itself with trainInPlace), π_ref (`sft`
 * itself when it is frozen already, so no second copy is made; else a frozen copy), the value
 * model (given, or made from valueFrom) and the reward (a model is frozen).
 */
export async function ppoModels(s: PPOModelSources): Promise<PPOModelSet> {
  if (s.trainInPlace && s.sft.frozen) throw new ConfigError('PPO: the SFT model is frozen, so it cannot be trained in place; leave trainInPlace off and the policy is a copy');
  const valueFrom = s.valueFrom ?? (typeof s.reward === 'function' ? undefined : s.reward);
  if (!s.value && !valueFrom) throw new ConfigError('PPO: with a reward function there is no reward model to start the value model from; give value or valueFrom');
  const policy = s.trainInPlace ? s.sft : s.sft.clone();
  const made: CausalLM[] = []; // besides the policy
  const make = (m: CausalLM) => (made.push(m), m);
  try {
    const reference = s.sft.frozen ? s.sft : make(s.sft.clone().freeze());
    const value = s.value ?? make(await valueFrom!.withHeads({ value: true }));
    const reward = typeof s.reward === 'function' ? s.reward : s.reward.freeze();
    return { policy, reference, value, reward, dispose: () => made.forEach((m) => m.dispose()) };
  } catch (e) {
    made.forEach((m) => m.dispose());
    if (policy !== s.sft) policy.dispose();
    throw e;
  }
}
