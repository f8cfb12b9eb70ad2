// RLP-UML's reward model (ALGORITHMS.md §4): each step takes a batch of labelled pairs for
// the Bradley–Terry loss and a batch of view pairs — two policy samples of one unlabeled
// prompt — for λ·L_M, the multi-view information bottleneck on the reward model's last
// hidden states. Both losses' gradients add up in the reward model before one AdamW step;
// the bottleneck's heads have their own AdamW. The heads are a training device only: the
// final reward model is a plain score-head CausalLM; checkpoints keep the heads (mib_heads)
// so that a resumed run continues exactly.
import { ConfigError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { MIB_STATS } from '../../ops/mib_losses.js';
import { BRADLEY_TERRY_STATS } from '../../ops/preference_losses.js';
import { applyUpdates, namedStats } from '../../training/apply_update.js';
import { DataOrder } from '../../training/data_order.js';
import { encodePreference } from '../../training/encode.js';
import type { ModelRole, TrainerParts } from '../../training/trainer.js';
import { optimizerFor, padId } from '../../training/trainer_parts.js';
import type { EncodedPreference } from '../preference/preference_batch.js';
import { PreferenceTrainer, type PreferenceTrainerInit } from '../preference/preference_trainer.js';
import { evaluateRewardModel, type RewardStepOptions } from '../reward/step.js';
import { mibBeta } from './mib_beta.js';
import { MIBHeads } from './mib_heads.js';
import type { UMLRewardConfig } from './uml_reward_config.js';
import { UMLRewardGradients } from './uml_reward_gradients.js';

/** Two policy samples of one prompt: the two views of the bottleneck. */
export interface ViewPair {
  prompt: string;
  first: string;
  second: string;
}

/** `model` must have a score head (CausalLM.withHeads({ score: true }) adds a zero one); `views` are the bottleneck's view pairs (two at least). */
export interface UMLRewardTrainerInit extends PreferenceTrainerInit<UMLRewardConfig>, ModelRole {
  views: readonly ViewPair[];
}

export class UMLRewardTrainer extends PreferenceTrainer<UMLRewardConfig> {
  readonly name = 'reward_uml';
  readonly keyMetric = 'accuracy';
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  readonly heads: MIBHeads;
  readonly #o: RewardStepOptions;
  readonly #views: EncodedPreference[];
  readonly #viewOrder: DataOrder;
  readonly #gradients: UMLRewardGradients;

  constructor(init: UMLRewardTrainerInit) {
    super(init, init.model);
    const model = init.model;
    this.model = model;
    const c = init.config;
    if (init.views.length < 2) throw new ConfigError(`RLP-UML: ${init.views.length} view pair(s); the bottleneck's critic needs two at least (sample two or more responses for two or more unlabeled prompts)`);
    this.optimizer = optimizerFor(model, c);
    this.#o = { pad: padId(init.tokenizer), centerCoefficient: c.center_rewards_coefficient ?? 0 };
    const maxLength = Math.min(c.max_length, model.arch.maxPositions);
    this.#views = init.views.map((v) => encodePreference(init.tokenizer, { prompt: v.prompt, chosen: v.first, rejected: v.second }, { maxLength }));
    // The rolled negative of the bottleneck's critic needs a second row, so a view batch has two at least.
    this.#viewOrder = new DataOrder(this.#views.length, Math.min(c.per_device_train_batch_size, this.#views.length), c.seed + 1);
    this.heads = new MIBHeads(model.backend, {
      n_embd: model.arch.hiddenSize,
      mib_latent: c.mib_latent,
      mib_hidden: c.mib_hidden,
      seed: c.seed,
      optimizer: { lr: c.learning_rate, beta1: c.adam_beta1, beta2: c.adam_beta2, eps: c.adam_epsilon, weight_decay: c.weight_decay, max_grad_norm: c.max_grad_norm },
    });
    this.#gradients = new UMLRewardGradients(model, this.heads, this.#o);
  }

  protected async pairStep(pairs: EncodedPreference[], lr: number) {
    const c = this.config;
    const step = this.optimizer.step;
    let rows = this.#viewOrder.batch(step);
    // An epoch's short last batch may hold one pair; the critic's rolled negative needs two.
    if (rows.length < 2) rows = [rows[0]!, (rows[0]! + 1) % this.#views.length];
    const views = rows.map((i) => this.#views[i]!);
    const beta = mibBeta(step, this.totalSteps, { beta: c.mib_beta, anneal: c.mib_beta_anneal });
    const g = this.#gradients.run(pairs, views, { beta, lambda: c.mib_lambda, seed: c.seed, step });
    try {
      const [rm, heads] = await applyUpdates(
        [
          { optimizer: this.optimizer, reads: [g.btStats], loss: (v) => v[0]![0]! },
          { optimizer: this.heads.optimizer, reads: [g.mibStats], loss: (v) => v[0]![0]! },
        ],
        lr,
      );
      const btStats = namedStats(BRADLEY_TERRY_STATS, rm!.values[0]!);
      const mibStats = namedStats(MIB_STATS, heads!.values[0]!);
      return { ...btStats, ...mibStats, loss: btStats.loss! + c.mib_lambda * mibStats.mib_loss!, bt_loss: btStats.loss!, grad_norm: rm!.gradNorm, mib_grad_norm: heads!.gradNorm };
    } finally {
      g.dispose();
    }
  }

  protected pairEval(pairs: EncodedPreference[]) {
    return evaluateRewardModel(this.model, pairs, this.config.per_device_eval_batch_size, this.#o);
  }

  /**
   * The reward model, the bottleneck's heads and their two optimizers: a resumed run continues
   * the heads where they were (their noise is seeded by the step, which the optimizer keeps).
   */
  protected parts(): TrainerParts {
    return { models: { model: this.model }, optimizers: { model: this.optimizer, mib_heads: this.heads.optimizer }, parameters: { mib_heads: this.heads.store } };
  }

  /** Frees the heads and the split buffers (the reward model stays the caller's). */
  dispose(): void {
    this.#gradients.dispose();
    this.heads.dispose(); // its optimizer too
  }
}
