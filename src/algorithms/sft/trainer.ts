// Supervised fine-tuning (ALGORITHMS.md §1): cross-entropy on the completion tokens (and the
// prompt's too with completion_only_loss: false), in seeded shuffled batches.
import type { SFTRecord } from '../../data/records.js';
import { AdamW } from '../../nn/adamw.js';
import type { TokenBatch } from '../../nn/batch.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { lmTrainStep } from './step.js';
import { responseBatch } from '../../text/response_batch.js';
import type { SFTConfig } from './config.js';
import { DataOrder } from '../../training/data_order.js';
import { encodePair, type EncodedPair } from '../../training/encode.js';
import { optimizerFor, padId } from '../../training/trainer_parts.js';
import { totalTrainingSteps } from '../../training/schedule.js';
import { Trainer, type ModelRole, type StepOutput, type TrainerInit, type TrainerParts } from '../../training/trainer.js';

export type SFTTrainerInit = TrainerInit<SFTConfig, SFTRecord> & ModelRole;

export class SFTTrainer extends Trainer<SFTConfig> {
  readonly name = 'sft';
  readonly keyMetric = 'loss';
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  readonly #train: EncodedPair[];
  readonly #eval: EncodedPair[];
  readonly #order: DataOrder;

  constructor(init: SFTTrainerInit) {
    super(init);
    this.model = init.model;
    this.optimizer = optimizerFor(init.model, init.config);
    const maxLength = Math.min(init.config.max_length, init.model.arch.maxPositions);
    const encode = (r: SFTRecord) => encodePair(init.tokenizer, r.prompt, r.completion, { maxLength });
    this.#train = init.train.map(encode);
    this.#eval = (init.eval ?? []).map(encode);
    this.#order = new DataOrder(this.#train.length, init.config.per_device_train_batch_size, init.config.seed);
  }

  get totalSteps(): number {
    return totalTrainingSteps(this.config, this.#order.stepsPerEpoch);
  }

  protected async trainStep(step: number, lr: number): Promise<StepOutput> {
    const examples = this.#order.batch(step).map((i) => this.#train[i]!);
    const { loss, gradNorm } = await lmTrainStep(this.model, this.optimizer, this.#batch(examples), lr);
    return { metrics: { loss, grad_norm: gradNorm, epoch: (step + 1) / this.#order.stepsPerEpoch }, tokens: tokensOf(examples) };
  }

  /** Mean loss per target token over the eval set. */
  override evaluate(): Promise<Record<string, number>> | undefined {
    if (!this.#eval.length) return undefined;
    return (async () => {
      const be = this.model.backend;
      let sum = 0;
      let count = 0;
      for (let i = 0; i < this.#eval.length; i += this.config.per_device_eval_batch_size) {
        const p = this.model.forward(this.#batch(this.#eval.slice(i, i + this.config.per_device_eval_batch_size)), { reduction: 'sum' });
        sum += (await be.read(this.model.lmLoss()))[0]!;
        count += p.counted;
      }
      return { loss: sum / Math.max(count, 1) };
    })();
  }

  protected parts(): TrainerParts {
    return { models: { model: this.model }, optimizers: { model: this.optimizer } };
  }

  #batch(examples: EncodedPair[]): TokenBatch {
    const r = responseBatch(examples.map((e) => ({ prompt: e.prompt, response: e.completion })), padId(this.tokenizer));
    // Without labels every real token after the first is a target: the prompt's too.
    return this.config.completion_only_loss ? r.batch : { inputIds: r.batch.inputIds, attentionMask: r.batch.attentionMask };
  }
}

function tokensOf(examples: EncodedPair[]): number {
  return examples.reduce((n, e) => n + e.prompt.length + e.completion.length, 0);
}
