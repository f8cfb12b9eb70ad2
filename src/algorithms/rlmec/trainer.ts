// The RLMEC policy trainer (ALGORITHMS.md §5), offline: judged samples drawn once from the
// starting policy, which stays frozen as π_ref of the importance weights. A step trains on a
// seeded shuffled batch of samples (each with its rewrite row when it has one).
import { ConfigError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { scoreSequences } from '../../text/score.js';
import { DataOrder } from '../../training/data_order.js';
import { totalTrainingSteps } from '../../training/schedule.js';
import { Trainer, type PolicyRoles, type StepOutput, type TrainerInit, type TrainerParts } from '../../training/trainer.js';
import { disableDropout, optimizerFor, padId } from '../../training/trainer_parts.js';
import type { RLMECConfig } from './config.js';
import type { RLMECRow } from './rlmec_rows.js';
import { rlmecTrainStep, type ScoredRow } from './step.js';

/**
 * `train` holds, per judged sample, its rows (rlmecRows' items); there is no eval set. The
 * policy starts as the policy that drew the samples, and `reference` is that policy frozen.
 */
export type RLMECTrainerInit = Omit<TrainerInit<RLMECConfig, RLMECRow[]>, 'eval'> & PolicyRoles;

export class RLMECTrainer extends Trainer<RLMECConfig> {
  readonly name = 'rlmec';
  readonly keyMetric = 'loss';
  readonly policy: CausalLM;
  readonly reference: CausalLM;
  readonly optimizer: AdamW;
  readonly #items: RLMECRow[][];
  readonly #order: DataOrder;
  #scored: Promise<ScoredRow[][]> | undefined;

  constructor(init: RLMECTrainerInit) {
    super(init);
    this.policy = init.policy;
    this.reference = init.reference;
    disableDropout(init.policy);
    if (!init.train.length) {
      throw new ConfigError('RLMEC: no training samples (rlmecRows kept none: every erroneous sample lost its rewrite and none was correct); train the GRM longer or give a rewrites file');
    }
    const maxLength = Math.min(init.config.max_length, init.policy.arch.maxPositions);
    this.#items = init.train.map((rows) => rows.map((row) => fitRow(row, maxLength)));
    this.optimizer = optimizerFor(init.policy, init.config);
    this.#order = new DataOrder(this.#items.length, init.config.per_device_train_batch_size, init.config.seed);
  }

  get totalSteps(): number {
    return totalTrainingSteps(this.config, this.#order.stepsPerEpoch);
  }

  protected async trainStep(step: number, lr: number): Promise<StepOutput> {
    const scored = await (this.#scored ??= this.#scoreReference());
    const rows = this.#order.batch(step).flatMap((i) => scored[i]!);
    const pad = padId(this.tokenizer);
    const metrics = await rlmecTrainStep(this.policy, this.optimizer, rows, lr, { cliprange: this.config.cliprange, imitationWeight: this.config.imitation_weight, pad });
    const tokens = rows.reduce((n, r) => n + r.prompt.length + r.response.length, 0);
    return { metrics: { ...metrics, epoch: (step + 1) / this.#order.stepsPerEpoch }, tokens };
  }

  protected parts(): TrainerParts {
    return { models: { model: this.policy }, optimizers: { model: this.optimizer } };
  }

  /** The frozen reference's log-probs of every row's tokens, once (the samples never change). */
  async #scoreReference(): Promise<ScoredRow[][]> {
    const flat = this.#items.flat();
    const scores = await scoreSequences(this.reference, flat, { batch_size: this.config.per_device_eval_batch_size, pad_token_id: padId(this.tokenizer) });
    let k = 0;
    return this.#items.map((rows) => rows.map((row) => ({ ...row, refLogprobs: scores[k++]!.logprobs })));
  }
}

/** A row cut to maxLength tokens: the prompt keeps its end, then the response is cut at its end. */
function fitRow(row: RLMECRow, maxLength: number): RLMECRow {
  if (row.prompt.length + row.response.length <= maxLength) return row;
  const prompt = row.prompt.slice(Math.max(0, row.prompt.length - (maxLength - 1)));
  const keep = Math.max(1, maxLength - prompt.length);
  return { prompt, response: row.response.slice(0, keep), rewards: row.rewards.slice(0, keep), imitation: row.imitation.slice(0, keep) };
}
