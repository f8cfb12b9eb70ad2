// The loop every trainer shares: learning-rate schedule, metrics lines, checkpoints every
// save_steps, resume from the newest complete checkpoint, the final model folder, progress
// and cancellation. A trainer supplies only its step and what a checkpoint holds.
import { ConfigError } from '../errors.js';
import type { AdamW } from '../nn/adamw.js';
import type { CausalLM } from '../nn/causal_lm.js';
import type { ParameterStore } from '../nn/parameter_store.js';
import { nextTask } from '../runtime/next_task.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { isSavableTokenizer, tokenizerFiles } from '../text/tokenizer_files.js';
import type { TrainingConfig } from './config/training.js';
import type { Progress } from './progress.js';
import type { Run } from './run/run_folder.js';
import { learningRateSchedule } from './schedule.js';

/** What one optimizer step reports. */
export interface StepOutput {
  metrics: Record<string, number>;
  /** Tokens processed (for tokens/s). */
  tokens: number;
  /** PPO: the step's samples, for rollouts.jsonl. */
  rollouts?: object[];
}

export interface StepEvent {
  /** Completed optimizer steps (1-based, as metrics.jsonl counts them). */
  step: number;
  totalSteps: number;
  metrics: Record<string, number>;
  tokens: number;
}

export interface TrainOptions {
  /** The run folder (openRun): metrics, rollouts, checkpoints, the final model. None: nothing is written. */
  run?: Run;
  /** Stops the loop between steps (a checkpoint already written stays). */
  signal?: AbortSignal;
  /** Called after every step, with its metrics. */
  onStep?: (e: StepEvent) => void;
  /** A progress display to update (the CLI's). */
  progress?: Progress;
}

export interface TrainResult {
  /** Optimizer steps completed (the total unless stopped). */
  step: number;
  /** The last step's metrics, and the last evaluation's (eval_*). */
  metrics: Record<string, number>;
  /** Where the step loop started: 0, or the step of the checkpoint resumed from. */
  resumedFrom: number;
}

/** What a checkpoint holds besides the step: the trained and frozen models, optimizers, state. */
export interface TrainerParts {
  /** The first is the model the run produces (saved at the checkpoint's top). */
  models: Record<string, CausalLM>;
  optimizers: Record<string, AdamW>;
  /** Trained tensors that are no model (RLP-UML's bottleneck heads): in checkpoints, not in final/. */
  parameters?: Record<string, ParameterStore>;
}

/** The shared keys a trainer reads (PPO names its model keys differently). */
export type TrainerConfig = Omit<TrainingConfig, 'model_name_or_path'>;

/**
 * What every trainer is made from, in one object: the tokenizer, the config and the training
 * records. Each trainer's own init adds its models by role (`model`, or `policy`, `reference`,
 * `value`, `reward`) and any extras of its own (RLP-UML's `views`).
 */
export interface TrainerInit<C, R> {
  tokenizer: Tokenizer;
  config: C;
  /** The records it trains on: SFT pairs, preference pairs, PPO's prompts, RLMEC's judged samples. */
  train: readonly R[];
  /** Held-out records for the eval_* metrics (the trainers that evaluate). */
  eval?: readonly R[];
}

/** The model role of a trainer of one model (SFT, the reward models). */
export interface ModelRole {
  /** Trained in place. */
  model: CausalLM;
}

/** The model roles of a trainer that keeps a policy close to a reference (DPO, RLMEC). */
export interface PolicyRoles {
  /** Trained in place. */
  policy: CausalLM;
  /** Frozen: π_ref, the policy as it started (policy.clone().freeze() when there is no other). */
  reference: CausalLM;
}

export abstract class Trainer<C extends TrainerConfig = TrainerConfig> {
  abstract readonly name: string;
  /** The metric the progress bar shows. */
  abstract readonly keyMetric: string;
  /** Completed optimizer steps. */
  step = 0;
  readonly config: C;
  readonly tokenizer: Tokenizer;

  protected constructor(init: Pick<TrainerInit<C, unknown>, 'config' | 'tokenizer'>) {
    this.config = init.config;
    this.tokenizer = init.tokenizer;
    if (this.config.gradient_accumulation_steps !== 1 && !this.accumulates) {
      throw new ConfigError(`gradient_accumulation_steps = ${this.config.gradient_accumulation_steps} is not supported by this trainer yet; raise per_device_train_batch_size instead`);
    }
  }

  /** Whether the trainer folds gradient_accumulation_steps into its batches itself (PPO). */
  protected get accumulates(): boolean {
    return false;
  }

  abstract get totalSteps(): number;
  /** One optimizer step; `step` is 0-based. */
  protected abstract trainStep(step: number, lr: number): Promise<StepOutput>;
  protected abstract parts(): TrainerParts;
  /** Metrics on the eval set (keys without the eval_ prefix); undefined: no eval set. */
  evaluate(): Promise<Record<string, number>> | undefined {
    return undefined;
  }
  /** Extra state a checkpoint keeps (JSON), and its restore. */
  protected extraState(): Record<string, unknown> {
    return {};
  }
  protected restoreExtraState(_state: Record<string, unknown>): void {}

  async train(options: TrainOptions = {}): Promise<TrainResult> {
    const { run, signal, onStep, progress } = options;
    const total = this.totalSteps;
    const lrAt = learningRateSchedule(this.config, total);
    let resumedFrom = 0;
    if (run?.resumeFrom) {
      const parts = this.parts();
      const state = (await run.restore(run.resumeFrom, parts)) as { global_step?: number; extra?: Record<string, unknown>; lora_dropout_draws?: Record<string, number> };
      for (const [name, draws] of Object.entries(state?.lora_dropout_draws ?? {})) {
        const adapter = parts.models[name]?.adapter;
        if (adapter) adapter.dropoutDraws = draws;
      }
      this.step = run.resumeFrom.step;
      this.restoreExtraState(state?.extra ?? {});
      resumedFrom = this.step;
    }
    let metrics: Record<string, number> = {};
    const logEvery = this.config.logging_steps;
    while (this.step < total) {
      // A task may run here (a worker's 'stop' message, a click), so the signal can fire.
      await nextTask();
      signal?.throwIfAborted();
      const index = this.step;
      const lr = lrAt(index);
      const out = await this.trainStep(index, lr);
      this.step = index + 1;
      metrics = { ...out.metrics, lr };
      const evalEvery = this.config.eval_steps;
      if ((evalEvery && this.step % evalEvery === 0) || this.step === total) Object.assign(metrics, await this.#evaluate());
      if (run) {
        if (this.step % logEvery === 0 || this.step === total || Object.keys(metrics).some((k) => k.startsWith('eval_'))) await run.log(this.step, metrics);
        if (out.rollouts?.length) await run.logRollouts(this.step, out.rollouts);
        if (this.step % this.config.save_steps === 0 && this.step < total) await run.saveCheckpoint(this.step, this.#checkpoint());
      }
      progress?.update(this.step, { tokens: out.tokens, metrics });
      onStep?.({ step: this.step, totalSteps: total, metrics, tokens: out.tokens });
    }
    if (run) await run.saveFinal(this.#checkpoint());
    progress?.finish();
    return { step: this.step, metrics, resumedFrom };
  }

  async #evaluate(): Promise<Record<string, number>> {
    // Evaluation forwards run without LoRA dropout (PyTorch's eval mode).
    const adapters = Object.values(this.parts().models).flatMap((m) => (m.adapter?.training ? [m.adapter] : []));
    for (const a of adapters) a.training = false;
    let m: Record<string, number> | undefined;
    try {
      m = await this.evaluate();
    } finally {
      for (const a of adapters) a.training = true;
    }
    return m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [`eval_${k}`, v])) : {};
  }

  #checkpoint() {
    const { models, optimizers, parameters } = this.parts();
    const extraFiles = isSavableTokenizer(this.tokenizer) ? tokenizerFiles(this.tokenizer) : undefined;
    // Where each adapter's dropout masks have got to, so a resumed run draws the same ones.
    const draws = Object.fromEntries(Object.entries(models).flatMap(([name, m]) => (m.adapter ? [[name, m.adapter.dropoutDraws]] : [])));
    const lora = Object.keys(draws).length ? { lora_dropout_draws: draws } : {};
    return { models, optimizers, parameters, extraFiles, state: { global_step: this.step, seed: this.config.seed, extra: this.extraState(), ...lora } };
  }
}
