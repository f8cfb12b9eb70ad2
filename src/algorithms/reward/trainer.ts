// The Bradley–Terry reward model trainer (ALGORITHMS.md §2): a model with a score head
// (a new, zero one when starting from an SFT model), trained on preference pairs.
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { ModelRole, TrainerParts } from '../../training/trainer.js';
import { optimizerFor, padId } from '../../training/trainer_parts.js';
import type { EncodedPreference } from '../preference/preference_batch.js';
import { PreferenceTrainer, type PreferenceTrainerInit } from '../preference/preference_trainer.js';
import type { RewardConfig } from './config.js';
import { evaluateRewardModel, rewardTrainStep, type RewardStepOptions } from './step.js';

/** `model` must have a score head: CausalLM.withHeads({ score: true }) adds a zero one. */
export type RewardTrainerInit = PreferenceTrainerInit<RewardConfig> & ModelRole;

export class RewardTrainer extends PreferenceTrainer<RewardConfig> {
  readonly name = 'reward';
  readonly keyMetric = 'accuracy';
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  readonly #o: RewardStepOptions;

  constructor(init: RewardTrainerInit) {
    super(init, init.model);
    this.model = init.model;
    this.optimizer = optimizerFor(init.model, init.config);
    this.#o = { pad: padId(init.tokenizer), centerCoefficient: init.config.center_rewards_coefficient ?? 0 };
  }

  protected pairStep(pairs: EncodedPreference[], lr: number) {
    return rewardTrainStep(this.model, this.optimizer, pairs, lr, this.#o);
  }

  protected pairEval(pairs: EncodedPreference[]) {
    return evaluateRewardModel(this.model, pairs, this.config.per_device_eval_batch_size, this.#o);
  }

  protected parts(): TrainerParts {
    return { models: { model: this.model }, optimizers: { model: this.optimizer } };
  }
}
