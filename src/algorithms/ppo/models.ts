// PPO's four models (ALGORITHMS.md §3) from what a run starts with, made one way for every
// caller (the CLI, the RLP pipeline, RLMEC's PPO baseline): the policy is the SFT model
// trained, π_ref the SFT model frozen, the value model a model with a new zero value head, and
// the reward a frozen score-head model or a function.
import { ConfigError } from '../../errors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { LoraConfig } from '../../nn/lora/lora_config.js';
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
  /**
   * Train LoRA adapters instead of whole models (TRL's use_peft): the policy is an adapter on
   * `sft` (frozen), π_ref is `sft` itself, and a new value model is an adapter (+ value head)
   * on valueFrom's base, or a copy of valueFrom's adapter when it is adapted (a reward
   * adapter on the same base: all four roles then share one set of weights).
   */
  lora?: LoraConfig;
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
  if (s.lora) return adaptedModels(s, s.lora);
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

/** ppoModels with LoRA: every trained role an adapter, π_ref the frozen base (see PPOModelSources.lora). */
async function adaptedModels(s: PPOModelSources, lora: LoraConfig): Promise<PPOModelSet> {
  const valueFrom = s.valueFrom ?? (typeof s.reward === 'function' ? undefined : s.reward);
  if (!s.value && !valueFrom) throw new ConfigError('PPO: with a reward function there is no reward model to start the value model from; give value or valueFrom');
  const policy = await s.sft.withAdapter(lora);
  const reference = s.sft.freeze();
  const made: CausalLM[] = [];
  try {
    const value = s.value ?? (valueFrom!.adapter ? await valueFrom!.withHeads({ value: true }) : await valueFrom!.withAdapter(lora, { heads: { value: true } }));
    if (!s.value) made.push(value);
    const reward = typeof s.reward === 'function' ? s.reward : s.reward.freeze();
    return { policy, reference, value, reward, dispose: () => made.forEach((m) => m.dispose()) };
  } catch (e) {
    policy.dispose();
    throw e;
  }
}
