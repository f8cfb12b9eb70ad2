// What GRPO and RLOO share (ALGORITHMS.md §7, TRL's GRPOTrainer/RLOOTrainer loop): a
// generation of G completions per prompt sampled from the policy, scored by the reward
// functions, turned into advantages (each trainer its own way), then split into micro-batches
// of per_device_train_batch_size completions; each optimizer step accumulates
// gradient_accumulation_steps micro-batches, and each generation is used for num_iterations
// passes. The loss and its backward are one op (grpoLoss); the host keeps the token ids, the
// rewards and the per-completion numbers, in f64.
import type { Tensor } from '../../backend/backend.js';
import type { PromptRecord } from '../../data/records.js';
import { ConfigError, RewardFunctionError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { GRPO_STATS, grpoLoss, type GRPOLossOptions } from '../../ops/grpo_loss.js';
import { seededPermutation } from '../../random/permutation.js';
import { generate } from '../../text/generate.js';
import { responseBatch } from '../../text/response_batch.js';
import { scoreSequences } from '../../text/score.js';
import { applyUpdate } from '../../training/apply_update.js';
import { DataOrder } from '../../training/data_order.js';
import { promptIds } from '../../training/prompt_ids.js';
import { Trainer, type StepOutput, type TrainerInit, type TrainerParts } from '../../training/trainer.js';
import { disableDropout, optimizerFor, padId } from '../../training/trainer_parts.js';
import { nanMean, nanStd, type Advantages } from './advantages.js';
import { generationShape, type GroupConfig } from './group_config.js';
import { callRewardFuncs, rewardFuncNames, type RewardFunc } from './reward_funcs.js';

/** The policy, an optional frozen reference (β > 0), the prompts (`train`, with their columns) and the reward functions. */
export interface GroupTrainerInit<C> extends Omit<TrainerInit<C, PromptRecord>, 'eval'> {
  /** Trained in place (a full model, or one with a LoRA adapter). */
  policy: CausalLM;
  /**
   * Frozen: π_ref of the KL term, needed when beta > 0. Default: for an adapted policy, its
   * base (the policy with the adapter off; no second copy); otherwise required.
   */
  reference?: CausalLM;
  /** One function or several (weighted by reward_weights); TRL's reward_funcs. */
  reward_funcs: RewardFunc | readonly RewardFunc[];
}

/** One sampled completion, with everything its micro-batch needs (JSON: a checkpoint keeps the generation in use). */
interface GroupRow {
  prompt: number[];
  completion: number[];
  /** 0 leaves the whole completion out of the loss (mask_truncated_completions). */
  keep: number;
  advantage: number;
  /** Σ of the token-level functions' weighted rewards per completion token, or null. */
  tokenAdvantages: number[] | null;
  /** log π_old per completion token, when the ratio is not taken against the current forward. */
  oldLogprobs: number[] | null;
  /** log π_ref per completion token, when the loss has a KL term. */
  refLogprobs: number[] | null;
}

/** A generation: its rows in micro-batch order, dapo's token count, and what it reports. */
interface Generation {
  index: number;
  rows: GroupRow[];
  tokens: number;
  metrics: Record<string, number>;
  rollouts: object[];
}

/** Per-token log-probs of each row's completion, when a trainer needs them at generation time. */
export interface GenerationLogprobs {
  old?: number[][];
  ref?: number[][];
}

export abstract class GroupTrainer<C extends GroupConfig> extends Trainer<C> {
  readonly keyMetric = 'reward';
  readonly policy: CausalLM;
  readonly reference: CausalLM | undefined;
  readonly optimizer: AdamW;
  readonly rewardFuncs: readonly RewardFunc[];
  readonly rewardNames: readonly string[];
  readonly #weights: readonly number[];
  readonly #records: readonly PromptRecord[];
  readonly #prompts: number[][];
  readonly #order: DataOrder;
  readonly #shape: ReturnType<typeof generationShape>;
  readonly #eos: number;
  readonly #pad: number;
  #generation: Generation | undefined;
  #tokensSeen = 0;

  protected constructor(init: GroupTrainerInit<C>, readonly trainer: string) {
    super(init);
    const c = init.config;
    this.policy = init.policy;
    this.rewardFuncs = typeof init.reward_funcs === 'function' ? [init.reward_funcs] : [...init.reward_funcs];
    if (!this.rewardFuncs.length) throw new ConfigError(`${trainer}: give at least one reward function (reward_funcs)`);
    this.rewardNames = rewardFuncNames(this.rewardFuncs);
    if (c.reward_weights !== null && c.reward_weights.length !== this.rewardFuncs.length) {
      throw new ConfigError(`${trainer}: reward_weights has ${c.reward_weights.length} weight(s) for ${this.rewardFuncs.length} reward function(s) (${this.rewardNames.join(', ')}); give one weight per function`);
    }
    this.#weights = c.reward_weights ?? this.rewardFuncs.map(() => 1);
    if (c.eval_file !== null) throw new ConfigError(`${trainer}: eval_file is not used (no evaluation pass yet); remove it, and read reward in metrics.jsonl`);
    const eos = init.tokenizer.eosTokenId;
    if (eos === undefined) throw new ConfigError(`${trainer}: the tokenizer has no EOS token, so no completion could end before max_completion_length`);
    this.#eos = eos;
    this.#pad = padId(init.tokenizer);
    this.reference = init.reference;
    if (this.usesReference && !init.reference && !init.policy.adapter) {
      throw new ConfigError(`${trainer}: beta = ${c.beta} needs a reference model: pass reference (e.g. policy.clone().freeze() before training), train a LoRA adapter (the base is the reference), or set beta 0`);
    }
    if (init.reference && !init.reference.frozen) throw new ConfigError(`${trainer}: the reference model must be frozen (reference.freeze())`);
    if (c.disable_dropout) disableDropout(init.policy);
    this.#records = init.train;
    this.#prompts = promptIds(init.tokenizer, init.train.map((r) => r.prompt), {
      maxPositions: init.policy.arch.maxPositions, completionLength: c.max_completion_length, lengthKey: 'max_completion_length', trainer, fallback: eos,
    });
    this.#shape = generationShape(c);
    this.#order = new DataOrder(this.#prompts.length, this.#shape.prompts, c.seed);
    this.optimizer = optimizerFor(init.policy, c);
  }

  /** Each optimizer step accumulates gradient_accumulation_steps micro-batches itself (TRL's). */
  protected override get accumulates(): boolean {
    return true;
  }

  /** Whether π_ref's log-probs are needed (β > 0). */
  protected get usesReference(): boolean {
    return this.config.beta > 0;
  }

  /** Micro-batches in one generation's passes: steps_per_generation × num_iterations. */
  get #microPerGeneration(): number {
    return this.#shape.microBatches * this.config.num_iterations;
  }

  get totalSteps(): number {
    const c = this.config;
    if (c.max_steps > 0) return c.max_steps;
    const micro = Math.ceil(c.num_train_epochs * this.#order.stepsPerEpoch) * this.#microPerGeneration;
    return Math.max(1, Math.ceil(micro / c.gradient_accumulation_steps));
  }

  /**
   * Whether the loss's ratio is against π_old's log-probs taken at generation time: when the
   * policy has changed since it sampled (num_iterations > 1, or more micro-batches per
   * generation than per optimizer step). Otherwise π_old is the current forward itself, so
   * the ratio is exactly 1 and its gradient is A·∇log π (TRL's per_token_logps.detach()).
   */
  protected get oldLogprobsNeeded(): boolean {
    return this.config.num_iterations > 1 || this.#shape.microBatches > this.config.gradient_accumulation_steps;
  }

  /** The per-token log-probs this trainer takes at generation time (old, ref) for its loss or its rewards. */
  protected abstract logprobsNeeded(): { old: boolean; ref: boolean };
  /** Advantages from the weighted rewards (NaN: no function applied), given the generation's log-probs. */
  protected abstract advantagesOf(rewards: Float64Array, rows: { completion: number[]; keep: number }[], logprobs: GenerationLogprobs, metrics: Record<string, number>): Advantages;
  /** The loss op's options for this trainer. */
  protected abstract lossOptions(): Omit<GRPOLossOptions, 'tokensInBatch' | 'accumulationSteps' | 'maxCompletionLength'>;
  /** Whether the rows carry π_ref's log-probs into the loss (GRPO's KL term). */
  protected abstract get klInLoss(): boolean;
  /** Whether the loss reads per-token advantages (GRPO's; RLOO has one ratio per sequence). */
  protected get takesTokenRewards(): boolean {
    return true;
  }

  protected async trainStep(step: number, lr: number): Promise<StepOutput> {
    const c = this.config;
    const GA = c.gradient_accumulation_steps;
    const per = this.#microPerGeneration;
    const be = this.policy.backend;
    const stats: Tensor[] = [];
    let tokens = 0;
    const generated: Generation[] = [];
    this.policy.zeroGrad();
    try {
      for (let k = step * GA; k < (step + 1) * GA; k++) {
        const index = Math.floor(k / per);
        if (this.#generation?.index !== index) {
          this.#generation = await this.#generate(index, step);
          generated.push(this.#generation);
        }
        const micro = (k % per) % this.#shape.microBatches;
        const rows = this.#generation.rows.slice(micro * c.per_device_train_batch_size, (micro + 1) * c.per_device_train_batch_size);
        const s = be.zeros([GRPO_STATS.length]);
        stats.push(s);
        tokens += this.#microBatch(rows, s);
      }
      const { gradNorm, values } = await applyUpdate(this.optimizer, stats, (v) => v.reduce((a, x) => a + x[0]!, 0), lr);
      const mean = (i: number) => values.reduce((a, x) => a + x[i]!, 0) / values.length;
      const lossStats = Object.fromEntries(GRPO_STATS.map((name, i) => [name, i === 0 ? values.reduce((a, x) => a + x[0]!, 0) : mean(i)]));
      if (!this.klInLoss) delete lossStats.kl;
      const shown = generated.at(-1) ?? this.#generation!;
      return {
        metrics: { ...shown.metrics, ...lossStats, grad_norm: gradNorm, num_tokens: this.#tokensSeen, epoch: (step + 1) / this.#stepsPerEpoch },
        tokens,
        rollouts: generated.flatMap((g) => g.rollouts),
      };
    } finally {
      for (const s of stats) s.dispose();
    }
  }

  get #stepsPerEpoch(): number {
    return (this.#order.stepsPerEpoch * this.#microPerGeneration) / this.config.gradient_accumulation_steps;
  }

  /** One micro-batch's forward, loss and backward (gradients accumulate); returns the tokens it ran. */
  #microBatch(rows: GroupRow[], stats: Tensor): number {
    const c = this.config;
    const be = this.policy.backend;
    const r = responseBatch(rows.map((row) => ({ prompt: row.prompt, response: row.completion })), this.#pad);
    const N = r.B * r.T;
    const host = { mask: new Float32Array(N), token: new Float32Array(N), old: new Float32Array(N), ref: new Float32Array(N) };
    rows.forEach((row, b) => {
      const at = b * r.T + r.starts[b]!;
      for (let t = 0; t < row.completion.length; t++) host.mask[at + t] = row.keep;
      if (row.tokenAdvantages) host.token.set(row.tokenAdvantages, at);
      if (row.oldLogprobs) host.old.set(row.oldLogprobs, at);
      if (row.refLogprobs) host.ref.set(row.refLogprobs, at);
    });
    const owned: Tensor[] = [];
    const upload = (data: Float32Array) => {
      const t = be.tensor(data);
      owned.push(t);
      return t;
    };
    try {
      const mask = upload(host.mask);
      // Per-token advantages only where a token-level function gave some (TRL's (B, T) advantages).
      const tokenAdvantages = rows.some((row) => row.tokenAdvantages) ? { tokenAdvantages: upload(host.token) } : {};
      const rowAdvantages = upload(Float32Array.from(rows, (row) => row.advantage));
      const dLogprobs = be.zeros([N]);
      owned.push(dLogprobs);
      this.policy.forward(r.batch);
      const { logprobs, entropies } = this.policy.tokenLogprobs(1 / c.temperature);
      // Aliasing the current forward makes ρ exactly 1 where π_old is the policy as it is.
      const oldLogprobs = this.oldLogprobsNeeded ? upload(host.old) : logprobs;
      const refLogprobs = this.klInLoss ? upload(host.ref) : logprobs;
      grpoLoss(
        { logprobs, oldLogprobs, refLogprobs, rowAdvantages, ...tokenAdvantages, mask, entropies },
        { dLogprobs, stats },
        // dapo's normaliser: the generation's tokens rescaled to one accumulation window (TRL 1.13).
        { ...this.lossOptions(), maxCompletionLength: c.max_completion_length, tokensInBatch: (this.#generation!.tokens * c.gradient_accumulation_steps) / this.#shape.microBatches, accumulationSteps: c.gradient_accumulation_steps },
      );
      this.policy.backward({ dLogprobs, logprobScale: 1 / c.temperature });
    } finally {
      for (const t of owned) t.dispose();
    }
    return rows.reduce((n, row) => n + row.prompt.length + row.completion.length, 0);
  }

  /** Generation `index`: sample, score, advantages; its rows shuffled into micro-batch order. */
  async #generate(index: number, step: number): Promise<Generation> {
    const c = this.config;
    const G = c.num_generations;
    const picked = c.shuffle_dataset ? this.#order.batch(index) : inFileOrder(index, this.#shape.prompts, this.#prompts.length);
    // The last generation of an epoch may be short: its prompts repeat so it fills (as PPO's batches).
    const prompts = Array.from({ length: this.#shape.prompts }, (_, i) => picked[i % picked.length]!);
    const records = prompts.flatMap((p) => Array.from({ length: G }, () => this.#records[p]!));
    // Each generation samples under its own Philox key: (seed, index + 1) in the key's two words.
    const seed = (c.seed % 2 ** 32) + (index + 1) * 2 ** 32;
    const out = await generate(this.policy, prompts.map((p) => this.#prompts[p]!), {
      do_sample: true, temperature: c.temperature, top_p: c.top_p, top_k: c.top_k, max_new_tokens: c.max_completion_length,
      num_return_sequences: G, seed, eos_token_id: this.#eos, pad_token_id: this.#pad,
    });
    const decode = (ids: number[]) => this.tokenizer.decode(ids, { skipSpecialTokens: true });
    const completions = out.map((g) => decode(g.ids));
    const truncated = out.map((g) => !g.stopped);
    const rows = out.map((g, i) => ({ completion: g.ids, keep: c.mask_truncated_completions && truncated[i] ? 0 : 1 }));
    const funcs = await callRewardFuncs(this.rewardFuncs, {
      prompts: records.map((r) => r.prompt), completions, completionIds: out.map((g) => g.ids), records,
      state: { global_step: step, max_steps: this.totalSteps },
    });
    // Σ_k w_k·r_k over the functions that applied; NaN where none did (TRL's nansum + unscorable).
    const rewards = new Float64Array(out.length).map((_, i) => {
      const applied = funcs.sequence.map((r, k) => [r[i]!, this.#weights[k]!] as const).filter(([r]) => !Number.isNaN(r));
      return applied.length ? applied.reduce((a, [r, w]) => a + r * w, 0) : NaN;
    });
    const tokenFunc = funcs.tokens.findIndex((t) => t !== undefined);
    if (tokenFunc >= 0 && !this.takesTokenRewards) {
      throw new RewardFunctionError(`${this.trainer} takes one reward per completion, but reward function ${this.rewardNames[tokenFunc]} returned per-token rewards; use it with GRPO, or return one number per completion`, { func: this.rewardNames[tokenFunc]! });
    }
    const need = this.logprobsNeeded();
    const pairs = out.map((g) => ({ prompt: g.promptIds, response: g.ids }));
    const logprobs: GenerationLogprobs = {};
    if (need.old) logprobs.old = await this.#logprobs(this.policy, pairs, false);
    if (need.ref) logprobs.ref = await this.#logprobs(this.reference ?? this.policy, pairs, !this.reference);
    const metrics: Record<string, number> = {};
    const { advantages, zeroStd } = this.advantagesOf(rewards, rows, logprobs, metrics);
    const tokenAdvantages = out.map((g, i) => {
      const lists = funcs.tokens.map((t, k) => [t?.[i], this.#weights[k]!] as const).filter(([t]) => t);
      if (!lists.length) return null;
      return g.ids.map((_, t) => lists.reduce((a, [list, w]) => a + w * list![t]!, 0));
    });
    Object.assign(metrics, this.#rewardMetrics(funcs, rewards, zeroStd), completionMetrics(out.map((g) => g.ids.length), truncated));
    const all: GroupRow[] = out.map((g, i) => ({
      prompt: g.promptIds, completion: g.ids, keep: rows[i]!.keep, advantage: advantages[i]!, tokenAdvantages: tokenAdvantages[i]!,
      oldLogprobs: this.oldLogprobsNeeded ? logprobs.old![i]! : null, refLogprobs: this.klInLoss ? logprobs.ref![i]! : null,
    }));
    const rollouts = out.map((g, i) => ({
      prompt: records[i]!.prompt, completion: completions[i]!, reward: Number.isNaN(rewards[i]!) ? null : rewards[i]!, advantage: advantages[i]!,
      rewards: Object.fromEntries(this.rewardNames.map((n, k) => [n, funcs.tokens[k] ? tokenSum(funcs.tokens[k]![i]) : nullIfNaN(funcs.sequence[k]![i]!)])),
      truncated: truncated[i]!,
    }));
    // TRL's num_tokens: prompt and completion tokens, counted once per generation.
    this.#tokensSeen += out.reduce((n, g) => n + g.promptIds.length + g.ids.length, 0);
    // TRL shuffles a generation once, then cuts it into micro-batches (each reused num_iterations times).
    const order = seededPermutation(all.length, { seed: c.seed, stream: 2 ** 31, offset: index % 2 ** 32 });
    return { index, rows: order.map((i) => all[i]!), tokens: rows.reduce((n, r) => n + r.keep * r.completion.length, 0), metrics, rollouts };
  }

  /** Each pair's completion log-probs under `model` at the sampling temperature (the adapter off: the base as π_ref). */
  async #logprobs(model: CausalLM, pairs: { prompt: number[]; response: number[] }[], baseOnly: boolean): Promise<number[][]> {
    if (baseOnly) model.setAdapterEnabled(false);
    const adapter = model.adapter;
    const dropout = adapter?.training;
    if (adapter) adapter.training = false; // π_old and π_ref are the deterministic policy
    try {
      const scores = await scoreSequences(model, pairs, { batch_size: this.config.per_device_train_batch_size, pad_token_id: this.#pad, temperature: this.config.temperature });
      return scores.map((s) => s.logprobs);
    } finally {
      if (adapter) adapter.training = dropout!;
      if (baseOnly) model.setAdapterEnabled(true);
    }
  }

  /** TRL's reward metrics: reward, reward_std, rewards/<name>/mean and /std, frac_reward_zero_std. */
  #rewardMetrics(funcs: Awaited<ReturnType<typeof callRewardFuncs>>, rewards: Float64Array, zeroStd: boolean[]): Record<string, number> {
    const m: Record<string, number> = { reward: nanMean(rewards), reward_std: nanStd(rewards) };
    this.rewardNames.forEach((name, k) => {
      const values = funcs.tokens[k] ? Float64Array.from(funcs.tokens[k]!, (t) => (t ? tokenSum(t) : NaN)) : funcs.sequence[k]!;
      m[`rewards/${name}/mean`] = nanMean(values);
      m[`rewards/${name}/std`] = nanStd(values);
    });
    m.frac_reward_zero_std = zeroStd.filter(Boolean).length / zeroStd.length;
    return m;
  }

  protected parts(): TrainerParts {
    return { models: { model: this.policy }, optimizers: { model: this.optimizer } };
  }

  /**
   * A checkpoint between two micro-batches of one generation keeps that generation: the
   * policy that sampled it is gone, so a resumed run could not draw it again.
   */
  protected override extraState(): Record<string, unknown> {
    const next = this.step * this.config.gradient_accumulation_steps;
    const inUse = this.#generation && Math.floor(next / this.#microPerGeneration) === this.#generation.index;
    return { num_tokens: this.#tokensSeen, ...(inUse ? { generation: this.#generation } : {}) };
  }

  protected override restoreExtraState(state: Record<string, unknown>): void {
    if (typeof state.num_tokens === 'number') this.#tokensSeen = state.num_tokens;
    if (state.generation && typeof state.generation === 'object') {
      const g = state.generation as Generation;
      // JSON wrote NaN (an undefined std) as null.
      this.#generation = { ...g, metrics: Object.fromEntries(Object.entries(g.metrics).map(([k, v]) => [k, v ?? NaN])) };
    }
  }
}

/** Generation `index`'s prompts without shuffling: the file's order, epoch after epoch. */
function inFileOrder(index: number, size: number, total: number): number[] {
  const perEpoch = Math.ceil(total / size);
  const from = (index % perEpoch) * size;
  return Array.from({ length: Math.min(size, total - from) }, (_, i) => from + i);
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

function tokenSum(t: readonly number[] | null | undefined): number {
  return t ? t.reduce((a, x) => a + x, 0) : NaN;
}

/** TRL's completion metrics: lengths (all, and of those that ended with EOS) and the fraction truncated. */
function completionMetrics(lengths: number[], truncated: boolean[]): Record<string, number> {
  const ended = lengths.filter((_, i) => !truncated[i]);
  const stats = (xs: number[]) => (xs.length ? [xs.reduce((a, x) => a + x, 0) / xs.length, xs.reduce((a, x) => Math.min(a, x)), xs.reduce((a, x) => Math.max(a, x))] : [0, 0, 0]);
  const [mean, min, max] = stats(lengths);
  const [tMean, tMin, tMax] = stats(ended);
  return {
    'completions/mean_length': mean!, 'completions/min_length': min!, 'completions/max_length': max!,
    'completions/clipped_ratio': truncated.filter(Boolean).length / truncated.length,
    'completions/mean_terminated_length': tMean!, 'completions/min_terminated_length': tMin!, 'completions/max_terminated_length': tMax!,
  };
}
