// The DPO trainer (ALGORITHMS.md §6): the policy against a frozen reference on preference pairs.
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { PolicyRoles, TrainerParts } from '../../training/trainer.js';
import { disableDropout, optimizerFor, padId } from '../../training/trainer_parts.js';
import type { EncodedPreference } from '../preference/preference_batch.js';
import { PreferenceTrainer, type PreferenceTrainerInit } from '../preference/preference_trainer.js';
import type { DPOConfig } from './config.js';
import { dpoTrainStep, evaluateDPO, type DPOStepOptions } from './step.js';

export type DPOTrainerInit = PreferenceTrainerInit<DPOConfig> & PolicyRoles;

export class DPOTrainer extends PreferenceTrainer<DPOConfig> {
  readonly name = 'dpo';
  readonly keyMetric = 'rewards/margins';
  readonly policy: CausalLM;
  readonly reference: CausalLM;
  readonly optimizer: AdamW;
  readonly #o: DPOStepOptions;

  constructor(init: DPOTrainerInit) {
    super(init, init.policy);
    this.policy = init.policy;
    this.reference = init.reference;
    this.optimizer = optimizerFor(init.policy, init.config);
    disableDropout(init.policy);
    this.#o = { beta: init.config.beta, pad: padId(init.tokenizer) };
  }

  protected pairStep(pairs: EncodedPreference[], lr: number) {
    return dpoTrainStep(this.policy, this.reference, this.optimizer, pairs, lr, this.#o);
  }

  protected pairEval(pairs: EncodedPreference[]) {
    return evaluateDPO(this.policy, this.reference, pairs, this.config.per_device_eval_batch_size, this.#o);
  }

  protected parts(): TrainerParts {
    return { models: { model: this.policy }, optimizers: { model: this.optimizer } };
  }
}
