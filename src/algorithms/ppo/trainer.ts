// The PPO trainer (ALGORITHMS.md §3) over a prompt dataset: a rollout batch of
// per_device_train_batch_size × gradient_accumulation_steps × num_mini_batches prompts per
// step (TRL's batch), the PPOLearner's update, adaptive KL, and TRL's metric keys.
import type { PromptRecord } from '../../data/records.js';
import { ConfigError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { DataOrder } from '../../training/data_order.js';
import { Trainer, type StepOutput, type TrainerInit, type TrainerParts } from '../../training/trainer.js';
import { promptIds } from '../../training/prompt_ids.js';
import { disableDropout, optimizerFor, padId } from '../../training/trainer_parts.js';
import type { PPOConfig } from './config.js';
import { PPOLearner, adaptKLCoef, type PPOModels, type RewardFunction } from './learner.js';

/** PPO's four models by role (ppoModels makes them), and its prompts as `train` (no eval set yet). */
export type PPOTrainerInit = PPOModels & Omit<TrainerInit<PPOConfig, PromptRecord>, 'eval'>;

export class PPOTrainer extends Trainer<PPOConfig> {
  readonly name = 'ppo';
  readonly keyMetric = 'objective/scores';
  readonly policy: CausalLM;
  readonly reference: CausalLM;
  readonly value: CausalLM;
  readonly reward: CausalLM | RewardFunction;
  readonly learner: PPOLearner;
  readonly optimizers: { policy: AdamW; value: AdamW };
  readonly #prompts: number[][];
  readonly #order: DataOrder;
  readonly #batch: number;

  constructor(init: PPOTrainerInit) {
    super(init);
    this.policy = init.policy;
    this.reference = init.reference;
    this.value = init.value;
    this.reward = init.reward;
    disableDropout(init.policy, init.value);
    const c = init.config;
    const stop = c.stop_token_id ?? init.tokenizer.eosTokenId;
    if (stop === undefined) throw new ConfigError('PPO: the tokenizer has no EOS token; set stop_token_id to the token that ends a response');
    if (c.eval_file !== null) throw new ConfigError('PPO: eval_file is not used (PPO has no evaluation pass yet); remove it, and read objective/scores in metrics.jsonl');
    // Prompts keep their last tokens when too long: the part next to the response.
    this.#prompts = promptIds(init.tokenizer, init.train.map((p) => p.prompt), {
      maxPositions: init.policy.arch.maxPositions, completionLength: c.response_length, lengthKey: 'response_length', trainer: 'PPO', fallback: stop,
    });
    this.#batch = c.per_device_train_batch_size * c.gradient_accumulation_steps * c.num_mini_batches;
    this.#order = new DataOrder(this.#prompts.length, this.#batch, c.seed);
    this.optimizers = { policy: optimizerFor(init.policy, c), value: optimizerFor(init.value, c) };
    this.learner = new PPOLearner(
      { policy: init.policy, reference: init.reference, value: init.value, reward: init.reward },
      this.optimizers,
      {
        kl_coef: c.kl_coef, kl_estimator: c.kl_estimator, cliprange: c.cliprange, cliprange_value: c.cliprange_value, vf_coef: c.vf_coef,
        gamma: c.gamma, lam: c.lam, whiten_rewards: c.whiten_rewards, num_ppo_epochs: c.num_ppo_epochs, num_mini_batches: c.num_mini_batches,
        temperature: c.temperature, response_length: c.response_length, missing_eos_penalty: c.missing_eos_penalty,
        stop_token_id: stop, pad_token_id: padId(init.tokenizer), seed: c.seed, local_rollout_forward_batch_size: c.local_rollout_forward_batch_size,
      },
    );
  }

  /** The rollout batch size fills the mini-batches exactly (TRL's). */
  protected override get accumulates(): boolean {
    return true;
  }

  get totalSteps(): number {
    const c = this.config;
    if (c.max_steps > 0) return c.max_steps;
    const episodes = c.total_episodes ?? Math.ceil(c.num_train_epochs * this.#prompts.length);
    return Math.max(1, Math.ceil(episodes / this.#batch));
  }

  protected async trainStep(step: number, lr: number): Promise<StepOutput> {
    const rows = this.#order.batch(step);
    // The last batch of an epoch may be short: its prompts repeat, so every rollout splits
    // into the mini-batches.
    const prompts = Array.from({ length: this.#batch }, (_, i) => this.#prompts[rows[i % rows.length]!]!);
    const t0 = performance.now();
    const { metrics, samples } = await this.learner.step(prompts, step, lr);
    const c = this.config;
    const klCoef = this.learner.klCoef; // the β this rollout's rewards used
    if (c.adaptive_kl_ctrl) this.learner.klCoef = adaptKLCoef(klCoef, metrics['objective/kl']!, c.kl_target, c.adaptive_kl_rate);
    const episode = (step + 1) * this.#batch;
    const decode = (ids: number[]) => this.tokenizer.decode(ids, { skipSpecialTokens: true });
    return {
      metrics: {
        ...metrics,
        eps: this.#batch / Math.max((performance.now() - t0) / 1000, 1e-9),
        episode,
        kl_coef: klCoef,
        epoch: (step + 1) / this.#order.stepsPerEpoch,
      },
      tokens: samples.reduce((n, s) => n + s.prompt.length + s.response.length, 0),
      rollouts: samples.map((s) => ({ prompt: decode(s.prompt), response: decode(s.response), score: s.score, kl: s.kl, eos: s.eos })),
    };
  }

  protected parts(): TrainerParts {
    return { models: { policy: this.policy, value_model: this.value }, optimizers: { policy: this.optimizers.policy, value_model: this.optimizers.value } };
  }

  protected override extraState(): Record<string, unknown> {
    return { kl_coef: this.learner.klCoef };
  }

  protected override restoreExtraState(state: Record<string, unknown>): void {
    if (typeof state.kl_coef === 'number') this.learner.klCoef = state.kl_coef;
  }
}
