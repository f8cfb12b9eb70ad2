// Teacher-forced scoring of (prompt, response) pairs: per-token log-probs and entropies of
// the responses, and the value and reward heads where the model has them.
import { ConfigError } from '../errors.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { tokenLogprobs } from '../ops/sampling.js';
import { responseBatch, type PromptResponse } from './response_batch.js';

export interface ScoreOptions {
  /** Logits are divided by it (default 1), as when the responses were sampled. */
  temperature?: number;
  /** Pairs per device batch (default: all in one). */
  batch_size?: number;
  /** Id that fills the left of shorter rows (masked out; default 0). */
  pad_token_id?: number;
}

export interface SequenceScore {
  /** log p(response token k | prompt, response[0..k)), one per response token. */
  logprobs: number[];
  /** Entropy of the model's distribution at each of those positions. */
  entropies: number[];
  /** The value head at the same positions (models with heads: { value: true }). */
  values?: number[];
  /** The scalar head at the last token (models with heads: { score: true }). */
  reward?: number;
}

/** Scores each pair in batches; results come back in the pairs' order. */
export async function scoreSequences(model: CausalLM, pairs: PromptResponse[], options: ScoreOptions = {}): Promise<SequenceScore[]> {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new ConfigError(`score: temperature must be a finite number > 0, got ${options.temperature}`);
  const out: SequenceScore[] = [];
  for (const chunk of batches(pairs, options.batch_size)) out.push(...(await scoreBatch(model, chunk, temperature, options.pad_token_id ?? 0)));
  return out;
}

/**
 * Only the scalar head's reward of each pair (a model with heads: { score: true }), in the
 * pairs' order: no LM logits are computed and only the rewards are read back.
 */
export async function rewardScores(model: CausalLM, pairs: PromptResponse[], options: Pick<ScoreOptions, 'batch_size' | 'pad_token_id'> = {}): Promise<number[]> {
  if (!model.heads.score) throw new ConfigError('rewardScores: the model has no score head; load a reward model (heads: { score: true })');
  const out: number[] = [];
  for (const chunk of batches(pairs, options.batch_size)) {
    model.forward(responseBatch(chunk, options.pad_token_id ?? 0).batch, { logits: false });
    out.push(...(await model.backend.read(model.scores())));
  }
  return out;
}

function batches(pairs: PromptResponse[], batchSize: number | undefined): PromptResponse[][] {
  const size = batchSize ?? pairs.length;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError(`score: batch_size must be an integer ≥ 1, got ${batchSize}`);
  const out: PromptResponse[][] = [];
  for (let i = 0; i < pairs.length; i += size) out.push(pairs.slice(i, i + size));
  return out;
}

async function scoreBatch(model: CausalLM, pairs: PromptResponse[], temperature: number, pad: number): Promise<SequenceScore[]> {
  const be = model.backend;
  const r = responseBatch(pairs, pad);
  const { value, score } = model.heads;
  model.forward(r.batch, { logits: true });
  const N = r.B * r.T;
  const targets = be.tensor(r.targets);
  const logprobs = be.zeros([N]);
  const entropies = be.zeros([N]);
  try {
    tokenLogprobs(model.logits, targets, logprobs, entropies, { scale: 1 / temperature });
    const lp = await be.read(logprobs);
    const ent = await be.read(entropies);
    const values = value ? await be.read(model.values()) : undefined;
    const rewards = score ? await be.read(model.scores()) : undefined;
    return pairs.map((_, b) => {
      const at = b * r.T + r.starts[b]!;
      const take = (a: Float32Array) => Array.from(a.subarray(at, at + r.lengths[b]!));
      return { logprobs: take(lp), entropies: take(ent), values: values && take(values), reward: rewards?.[b] };
    });
  } finally {
    targets.dispose();
    logprobs.dispose();
    entropies.dispose();
  }
}
