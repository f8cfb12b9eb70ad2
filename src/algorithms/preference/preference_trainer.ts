// What the reward-model, DPO and RLP-UML trainers share: preference pairs encoded once
// (identical pairs dropped and counted), seeded shuffled batches, and an eval set of pairs.
import { dropIdenticalPairs } from '../../data/datasets.js';
import type { PreferenceRecord } from '../../data/records.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { TrainingConfig } from '../../training/config/training.js';
import { DataOrder } from '../../training/data_order.js';
import { encodePreference } from '../../training/encode.js';
import { totalTrainingSteps } from '../../training/schedule.js';
import { Trainer, type StepOutput, type TrainerInit } from '../../training/trainer.js';
import type { EncodedPreference } from './preference_batch.js';

/** A preference trainer's init without its models: train and eval are {prompt, chosen, rejected} pairs. */
export type PreferenceTrainerInit<C> = TrainerInit<C, PreferenceRecord>;

type PreferenceConfig = TrainingConfig & { max_length: number; drop_identical: boolean; max_prompt_length?: number };

export abstract class PreferenceTrainer<C extends PreferenceConfig> extends Trainer<C> {
  /** Pairs left out because chosen and rejected were the same text (train, eval). */
  readonly dropped: { train: number; eval: number };
  readonly #train: EncodedPreference[];
  readonly #eval: EncodedPreference[];
  readonly #order: DataOrder;

  /** `model` is the one trained: its n_positions caps max_length. */
  protected constructor(init: PreferenceTrainerInit<C>, model: CausalLM) {
    super(init);
    const c = init.config;
    const keep = (records: readonly PreferenceRecord[]) => (c.drop_identical ? dropIdenticalPairs(records) : { records: [...records], dropped: 0 });
    const train = keep(init.train);
    const evalSet = keep(init.eval ?? []);
    this.dropped = { train: train.dropped, eval: evalSet.dropped };
    const o = { maxLength: Math.min(c.max_length, model.arch.maxPositions), maxPromptLength: c.max_prompt_length };
    const encode = (r: PreferenceRecord): EncodedPreference => encodePreference(init.tokenizer, r, o);
    this.#train = train.records.map(encode);
    this.#eval = evalSet.records.map(encode);
    this.#order = new DataOrder(this.#train.length, c.per_device_train_batch_size, c.seed);
  }

  get totalSteps(): number {
    return totalTrainingSteps(this.config, this.#order.stepsPerEpoch);
  }

  protected abstract pairStep(pairs: EncodedPreference[], lr: number): Promise<Record<string, number>>;
  protected abstract pairEval(pairs: EncodedPreference[]): Promise<Record<string, number>>;

  protected async trainStep(step: number, lr: number): Promise<StepOutput> {
    const pairs = this.#order.batch(step).map((i) => this.#train[i]!);
    const metrics = await this.pairStep(pairs, lr);
    const tokens = pairs.reduce((n, p) => n + 2 * p.prompt.length + p.chosen.length + p.rejected.length, 0);
    return { metrics: { ...metrics, epoch: (step + 1) / this.#order.stepsPerEpoch }, tokens };
  }

  override evaluate(): Promise<Record<string, number>> | undefined {
    return this.#eval.length ? this.pairEval(this.#eval) : undefined;
  }
}
