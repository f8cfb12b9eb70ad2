// Supervised fine-tuning (ALGORITHMS.md §1): cross-entropy on the completion tokens (the
// prompt's too with completion_only_loss: false; every assistant turn of a conversation with
// assistant_only_loss), in seeded shuffled batches.
import type { SFTRecord } from '../../data/records.js';
import { AdamW } from '../../nn/adamw.js';
import type { TokenBatch } from '../../nn/batch.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { lmTrainStep } from './step.js';
import type { SFTConfig } from './config.js';
import { DataOrder } from '../../training/data_order.js';
import { chatSegments } from '../../data/chat.js';
import { ConfigError } from '../../errors.js';
import { encodePair, encodeSegments, type EncodedRow } from '../../training/encode.js';
import { optimizerFor, padId } from '../../training/trainer_parts.js';
import { totalTrainingSteps } from '../../training/schedule.js';
import { Trainer, type ModelRole, type StepOutput, type TrainerInit, type TrainerParts } from '../../training/trainer.js';

export type SFTTrainerInit = TrainerInit<SFTConfig, SFTRecord> & ModelRole;

export class SFTTrainer extends Trainer<SFTConfig> {
  readonly name = 'sft';
  readonly keyMetric = 'loss';
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  readonly #train: EncodedRow[];
  readonly #eval: EncodedRow[];
  readonly #order: DataOrder;

  constructor(init: SFTTrainerInit) {
    super(init);
    this.model = init.model;
    this.optimizer = optimizerFor(init.model, init.config);
    const maxLength = Math.min(init.config.max_length, init.model.arch.maxPositions);
    const c = init.config;
    const template = init.tokenizer.chatTemplate;
    const encode = (r: SFTRecord, i: number): EncodedRow => {
      if (c.assistant_only_loss) {
        if (!r.messages) throw new ConfigError(`SFT: assistant_only_loss needs conversational records ({messages: [...]}); record ${i} is {prompt, completion}. Set assistant_only_loss: false, or give conversations`);
        return encodeSegments(init.tokenizer, chatSegments(r.messages, template), { maxLength });
      }
      const pair = encodePair(init.tokenizer, r.prompt, r.completion, { maxLength });
      // Without a completion-only loss every real token after the first is a target: the prompt's too.
      return { ids: [...pair.prompt, ...pair.completion], labels: [...(c.completion_only_loss ? pair.prompt.map(() => -100) : pair.prompt), ...pair.completion] };
    };
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

  /** Rows left-padded to the longest (positions count from each row's first real token). */
  #batch(examples: EncodedRow[]): TokenBatch {
    const pad = padId(this.tokenizer);
    const T = Math.max(...examples.map((e) => e.ids.length));
    const left = (e: EncodedRow) => T - e.ids.length;
    return {
      inputIds: examples.map((e) => [...new Array<number>(left(e)).fill(pad), ...e.ids]),
      attentionMask: examples.map((e) => [...new Array<number>(left(e)).fill(0), ...e.ids.map(() => 1)]),
      labels: examples.map((e) => [...new Array<number>(left(e)).fill(-100), ...e.labels]),
    };
  }
}

function tokensOf(examples: EncodedRow[]): number {
  return examples.reduce((n, e) => n + e.ids.length, 0);
}
