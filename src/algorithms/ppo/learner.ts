// PPO for RLHF (ALGORITHMS.md §3): one step = a rollout batch (sample, score, per-token KL
// rewards, GAE) and num_ppo_epochs × num_mini_batches clipped updates of the policy and the
// value model. All of the loss math runs on the device (kernels/losses/); the host keeps
// the token ids, the scores (for the missing-EOS penalty) and the numbers it reports.
import type { Tensor } from '../../backend/backend.js';
import { ConfigError } from '../../errors.js';
import type { AdamW } from '../../nn/adamw.js';
import type { TokenBatch } from '../../nn/batch.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { gatherRows } from '../../ops/layers.js';
import { PPO_POLICY_STATS, PPO_REWARD_STATS, PPO_VALUE_STATS, gae, maskedWhiten, ppoRewards } from '../../ops/ppo_losses.js';
import { seededPermutation } from '../../random/permutation.js';
import { generate } from '../../text/generate.js';
import { responseBatch, type ResponseBatch } from '../../text/response_batch.js';
import { applyUpdates } from '../../training/apply_update.js';
import type { PPOConfig } from './config.js';
import { ppoMinibatchGradients } from './minibatch_gradients.js';

/** PPOConfig's algorithm keys (TRL's names), as the learner needs them: the stop and pad tokens resolved. */
export type PPOHyperparameters = Pick<
  PPOConfig,
  'kl_coef' | 'kl_estimator' | 'cliprange' | 'cliprange_value' | 'vf_coef' | 'gamma' | 'lam' | 'whiten_rewards' | 'num_ppo_epochs' | 'num_mini_batches' |
  'temperature' | 'response_length' | 'missing_eos_penalty' | 'seed' | 'local_rollout_forward_batch_size'
> & {
  /**
   * The token that ends a response (the tokenizer's EOS); a response without it pays
   * missing_eos_penalty. null: none, every response runs response_length tokens.
   */
  stop_token_id: number | null;
  pad_token_id: number;
};

const MINIBATCH_STREAM = 2 ** 31;

export interface PPOModels {
  /** Trained. */
  policy: CausalLM;
  /** Frozen: π_ref of the KL penalty (the SFT model). */
  reference: CausalLM;
  /** Trained: a model with a value head (initialised from the reward model). */
  value: CausalLM;
  /**
   * Frozen: a model with a score head, or a function that scores responses itself (a
   * programmatic reward: correctness on a task with known answers).
   */
  reward: CausalLM | RewardFunction;
}

/** Scores a batch of (prompt, response) token ids on the host. */
export type RewardFunction = (samples: { prompt: number[]; response: number[] }[]) => number[] | Promise<number[]>;

/** One sampled response of a rollout, for rollouts.jsonl. */
export interface RolloutSample {
  prompt: number[];
  response: number[];
  /** The reward model's score, after the missing-EOS penalty. */
  score: number;
  /** Σ of the per-token KL estimates over the response. */
  kl: number;
  /** Whether the response ended with the stop token. */
  eos: boolean;
}

export interface PPOStepResult {
  /** ALGORITHMS.md §3's metric keys for this batch (episode, eps and lr are the trainer's). */
  metrics: Record<string, number>;
  samples: RolloutSample[];
}

/** Device buffers of one rollout, [B·T] each. */
interface Rollout {
  batch: ResponseBatch;
  mask: Tensor;
  oldLogprobs: Tensor;
  oldValues: Tensor;
  advantages: Tensor;
  returns: Tensor;
  dispose(): void;
}

export class PPOLearner {
  /** β of the KL penalty; the trainer's adaptive controller may change it between steps. */
  klCoef: number;

  constructor(
    readonly models: PPOModels,
    readonly optimizers: { policy: AdamW; value: AdamW },
    readonly hp: PPOHyperparameters,
  ) {
    if (!models.value.heads.value) throw new ConfigError('PPO: the value model needs a value head (heads: { value: true })');
    if (typeof models.reward !== 'function' && !models.reward.heads.score) throw new ConfigError('PPO: the reward model needs a score head (heads: { score: true })');
    this.klCoef = hp.kl_coef;
  }

  /** One PPO step on a batch of prompts (token ids); `step` (0-based) keys its random draws. */
  async step(prompts: number[][], step: number, lr: number): Promise<PPOStepResult> {
    const B = prompts.length;
    if (B % this.hp.num_mini_batches !== 0) {
      throw new ConfigError(`PPO: the rollout batch of ${B} prompts does not split into num_mini_batches = ${this.hp.num_mini_batches}; make the batch size a multiple of it`);
    }
    const { rollout, samples, metrics } = await this.#rollout(prompts, step);
    try {
      Object.assign(metrics, await this.#update(rollout, step, lr));
      return { metrics, samples };
    } finally {
      rollout.dispose();
    }
  }

  async #rollout(prompts: number[][], step: number) {
    const { policy, reference, value, reward } = this.models;
    const be = policy.backend;
    const hp = this.hp;
    const scale = 1 / hp.temperature;
    // Each step samples under its own Philox key: (seed, step + 1) in the key's low and high
    // words; high word 0 is the key of the data order and minibatch shuffles.
    const seed = (hp.seed % 2 ** 32) + (step + 1) * 2 ** 32;
    const generated = await generate(policy, prompts, {
      do_sample: true, temperature: hp.temperature, max_new_tokens: hp.response_length, seed,
      eos_token_id: hp.stop_token_id, pad_token_id: hp.pad_token_id, batch_size: hp.local_rollout_forward_batch_size,
    });
    const batch = responseBatch(generated.map((g) => ({ prompt: g.promptIds, response: g.ids })), hp.pad_token_id);
    const N = batch.B * batch.T;
    const owned: Tensor[] = [];
    const zeros = (n = N) => {
      const t = be.zeros([n]);
      owned.push(t);
      return t;
    };
    const mask = be.tensor(batch.responseMask);
    owned.push(mask);
    const oldLogprobs = zeros();
    const refLogprobs = zeros();
    const oldValues = zeros();
    try {
      // The same forward as the updates will run, so the first epoch's ratio starts at 1.
      policy.forward(batch.batch);
      be.copy(policy.tokenLogprobs(scale).logprobs, oldLogprobs);
      reference.forward(batch.batch);
      be.copy(reference.tokenLogprobs(scale).logprobs, refLogprobs);
      value.forward(batch.batch, { logits: false });
      be.copy(be.view(value.values(), 0, [N]), oldValues);
      const raw = await this.#score(reward, batch, generated.map((g) => ({ prompt: g.promptIds, response: g.ids })));
      const eos = generated.map((g) => hp.stop_token_id !== null && g.ids.at(-1) === hp.stop_token_id);
      const scores = Float32Array.from(raw, (s, b) => (hp.missing_eos_penalty !== null && !eos[b] ? s - hp.missing_eos_penalty : s));
      const scoreTensor = be.tensor(scores);
      owned.push(scoreTensor);

      const rewards = zeros();
      const kl = zeros();
      const rewardStats = zeros(PPO_REWARD_STATS.length);
      ppoRewards({ logprobs: oldLogprobs, refLogprobs, mask, scores: scoreTensor }, { rewards, kl, stats: rewardStats }, { klCoef: this.klCoef, klEstimator: hp.kl_estimator });
      let gaeRewards = rewards;
      if (hp.whiten_rewards) {
        gaeRewards = zeros();
        maskedWhiten(rewards, mask, gaeRewards, { shiftMean: false });
      }
      const rawAdvantages = zeros();
      const returns = zeros();
      gae(gaeRewards, oldValues, mask, rawAdvantages, returns, { gamma: hp.gamma, lam: hp.lam, rows: batch.B });
      const advantages = zeros();
      maskedWhiten(rawAdvantages, mask, advantages, { shiftMean: true });

      const [rs, klTokens] = await Promise.all([be.read(rewardStats), be.read(kl)]);
      const r = Object.fromEntries(PPO_REWARD_STATS.map((k, i) => [k, rs[i]!])) as Record<(typeof PPO_REWARD_STATS)[number], number>;
      const metrics: Record<string, number> = {
        'objective/kl': r.kl,
        'objective/entropy': r.entropy,
        'objective/non_score_reward': r.non_score_reward,
        'objective/rlhf_reward': r.scores + r.non_score_reward,
        'objective/scores': r.scores,
        'val/num_eos_tokens': eos.filter(Boolean).length,
      };
      const samples = generated.map((g, b) => {
        const from = b * batch.T + batch.starts[b]!;
        let sum = 0;
        for (let k = 0; k < batch.lengths[b]!; k++) sum += klTokens[from + k]!;
        return { prompt: g.promptIds, response: g.ids, score: scores[b]!, kl: sum, eos: eos[b]! };
      });
      const rollout: Rollout = {
        batch, mask, oldLogprobs, oldValues, advantages, returns,
        dispose: () => owned.forEach((t) => t.dispose()),
      };
      return { rollout, samples, metrics };
    } catch (e) {
      owned.forEach((t) => t.dispose());
      throw e;
    }
  }

  async #score(reward: CausalLM | RewardFunction, batch: ResponseBatch, pairs: { prompt: number[]; response: number[] }[]): Promise<ArrayLike<number>> {
    if (typeof reward !== 'function') {
      reward.forward(batch.batch, { logits: false });
      return reward.backend.read(reward.scores());
    }
    const scores = await reward(pairs);
    if (!Array.isArray(scores) || scores.length !== pairs.length || !scores.every(Number.isFinite)) {
      throw new ConfigError(`PPO: the reward function must return one finite number per response (${pairs.length}); got ${JSON.stringify(scores).slice(0, 80)}`);
    }
    return scores;
  }

  /** num_ppo_epochs passes over the rollout in num_mini_batches shuffled minibatches. */
  async #update(r: Rollout, step: number, lr: number): Promise<Record<string, number>> {
    const be = this.models.policy.backend;
    const hp = this.hp;
    const { B, T } = r.batch;
    const size = B / hp.num_mini_batches;
    const M = size * T;
    const owned: Tensor[] = [];
    const zeros = (n: number) => {
      const t = be.zeros([n]);
      owned.push(t);
      return t;
    };
    const rowsOf = (t: Tensor) => be.view(t, 0, [B, T]);
    const sources = { mask: rowsOf(r.mask), oldLogprobs: rowsOf(r.oldLogprobs), oldValues: rowsOf(r.oldValues), advantages: rowsOf(r.advantages), returns: rowsOf(r.returns) };
    const mb = { mask: zeros(M), oldLogprobs: zeros(M), oldValues: zeros(M), advantages: zeros(M), returns: zeros(M) };
    const dLogprobs = zeros(M);
    const dValues = zeros(M);
    const policyStats = zeros(PPO_POLICY_STATS.length);
    const valueStats = zeros(PPO_VALUE_STATS.length);
    const perMinibatch: { policy: Float32Array; value: Float32Array }[] = [];
    try {
      for (let epoch = 0; epoch < hp.num_ppo_epochs; epoch++) {
        // Stream 2³¹ on: apart from the data order's draws (streams 0..n−1) under the same key.
        const order = seededPermutation(B, { seed: hp.seed, stream: MINIBATCH_STREAM, offset: (step * hp.num_ppo_epochs + epoch) % 2 ** 32 });
        for (let m = 0; m < hp.num_mini_batches; m++) {
          const rows = order.slice(m * size, (m + 1) * size);
          const index = be.tensor(Float32Array.from(rows));
          try {
            for (const key of Object.keys(sources) as (keyof typeof sources)[]) gatherRows(sources[key], index, be.view(mb[key], 0, [size, T]));
          } finally {
            index.dispose();
          }
          const sub = subBatch(r.batch.batch, rows);

          ppoMinibatchGradients(this.models, sub, mb, { dLogprobs, dValues, policyStats, valueStats }, hp);
          // Both models' norms and losses in one wait (they share no parameters).
          const [p, v] = await applyUpdates([
            { optimizer: this.optimizers.policy, reads: [policyStats], loss: (x) => x[0]![0]! },
            { optimizer: this.optimizers.value, reads: [valueStats], loss: (x) => x[0]![0]! },
          ], lr);
          perMinibatch.push({ policy: p!.values[0]!, value: v!.values[0]! });
        }
      }
    } finally {
      owned.forEach((t) => t.dispose());
    }
    const mean = (f: (s: (typeof perMinibatch)[number]) => number) => perMinibatch.reduce((a, s) => a + f(s), 0) / perMinibatch.length;
    const at = (name: (typeof PPO_POLICY_STATS)[number]) => PPO_POLICY_STATS.indexOf(name);
    const ratioMean = mean((s) => s.policy[at('ratio')]!);
    const n = perMinibatch.length;
    const ratioVar = n > 1 ? perMinibatch.reduce((a, s) => a + (s.policy[at('ratio')]! - ratioMean) ** 2, 0) / (n - 1) : 0;
    return {
      'policy/approxkl_avg': mean((s) => s.policy[at('approxkl')]!),
      'policy/clipfrac_avg': mean((s) => s.policy[at('clipfrac')]!),
      'policy/entropy_avg': mean((s) => s.policy[at('entropy')]!),
      'loss/policy_avg': mean((s) => s.policy[at('policy_loss')]!),
      'loss/value_avg': mean((s) => s.value[PPO_VALUE_STATS.indexOf('value_loss')]!),
      'val/clipfrac_avg': mean((s) => s.value[PPO_VALUE_STATS.indexOf('clipfrac')]!),
      'val/ratio': ratioMean,
      'val/ratio_var': ratioVar,
    };
  }
}

/** The rows `rows` of a batch (same length T, so they line up with the gathered buffers). */
function subBatch(b: TokenBatch, rows: number[]): TokenBatch {
  return {
    inputIds: rows.map((r) => b.inputIds[r]!),
    attentionMask: b.attentionMask && rows.map((r) => b.attentionMask![r]!),
    labels: b.labels && rows.map((r) => b.labels![r]!),
  };
}

/**
 * The adaptive KL controller (ALGORITHMS.md §3): β ← β·(1 + rate·clip(KL/target − 1, −0.2, 0.2)),
 * after each rollout with its mean per-sequence KL.
 */
export function adaptKLCoef(beta: number, kl: number, target: number, rate: number): number {
  const error = Math.min(Math.max(kl / target - 1, -0.2), 0.2);
  return beta * (1 + rate * error);
}
