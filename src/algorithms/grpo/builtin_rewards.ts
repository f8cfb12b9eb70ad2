// Built-in reward functions (TRL's trl.rewards, in JavaScript): answer accuracy for problems
// with a known answer (the built-in arithmetic task, or any {question, solution, answer}
// data), a format check by regular expression, DAPO's soft overlong punishment, a repetition
// penalty, and a model folder with a score head as a reward function. Each has the name TRL
// gives it, which the metrics use (rewards/<name>/mean).
import { ConfigError } from '../../errors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { extractAnswer } from '../../tasks/arithmetic.js';
import { rewardScores } from '../../text/score.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { RewardFunc, RewardValue } from './reward_funcs.js';

/** Gives a function the name its metrics use. */
export function named<F extends RewardFunc>(name: string, f: F): F {
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

/** The answer a dataset row states: its `answer` column, else the number after "The answer is" in its `solution`. */
function statedAnswer(answer: unknown, solution: unknown): number | undefined {
  if (typeof answer === 'number' && Number.isFinite(answer)) return answer;
  if (typeof answer === 'string' && answer.trim() !== '' && Number.isFinite(Number(answer))) return Number(answer);
  return typeof solution === 'string' ? extractAnswer(solution) : undefined;
}

/**
 * 1 when the completion's final answer (the number after its last "The answer is") equals the
 * row's `answer` column (or its `solution`'s), else 0; null for a row with neither (TRL's
 * accuracy_reward, for this project's problem format).
 */
export const accuracyReward: RewardFunc = named('accuracy_reward', (_prompts, completions, kwargs) => {
  const answers = kwargs.answer as unknown[] | undefined;
  const solutions = kwargs.solution as unknown[] | undefined;
  return completions.map((c, i) => {
    const expected = statedAnswer(answers?.[i], solutions?.[i]);
    return expected === undefined ? null : Number(extractAnswer(c) === expected);
  });
});

/** 1 when the completion matches `pattern`, else 0 (anchor it with ^…$ to require the whole completion; TRL's think_format_reward is one such). */
export function formatReward(pattern: RegExp | string, name = 'format_reward'): RewardFunc {
  let regex: RegExp;
  try {
    regex = typeof pattern === 'string' ? new RegExp(pattern, 's') : new RegExp(pattern.source, pattern.flags.replace('g', ''));
  } catch (e) {
    throw new ConfigError(`formatReward: ${JSON.stringify(String(pattern))} is not a valid regular expression: ${(e as Error).message}`);
  }
  return named(name, (_prompts, completions) => completions.map((c) => Number(regex.test(c))));
}

/**
 * DAPO's soft overlong punishment (TRL's get_soft_overlong_punishment): 0 up to
 * maxCompletionLength − softPunishCache tokens, then falling linearly to −1 at
 * maxCompletionLength, and −1 beyond.
 */
export function softOverlongPunishment(maxCompletionLength: number, softPunishCache: number): RewardFunc {
  if (!(Number.isInteger(maxCompletionLength) && maxCompletionLength > 0)) throw new ConfigError(`softOverlongPunishment: maxCompletionLength must be an integer > 0, got ${maxCompletionLength}`);
  if (!(Number.isInteger(softPunishCache) && softPunishCache >= 0 && softPunishCache <= maxCompletionLength)) {
    throw new ConfigError(`softOverlongPunishment: softPunishCache must be an integer in [0, maxCompletionLength], got ${softPunishCache}`);
  }
  const free = maxCompletionLength - softPunishCache;
  return named('soft_overlong_punishment_reward', (_prompts, _completions, { completion_ids }) =>
    completion_ids.map(({ length }) => (length <= free ? 0 : length <= maxCompletionLength ? (free - length) / softPunishCache : -1)),
  );
}

/**
 * The repetition penalty of "Demystifying Long Chain-of-Thought Reasoning" (TRL's
 * get_repetition_penalty_reward): (1 − unique n-grams / n-grams of the completion's token ids)
 * × maxPenalty; 0 for a completion shorter than n.
 */
export function repetitionPenalty(ngramSize = 3, maxPenalty = -1): RewardFunc {
  if (!(Number.isInteger(ngramSize) && ngramSize >= 1)) throw new ConfigError(`repetitionPenalty: ngramSize must be an integer ≥ 1, got ${ngramSize}`);
  if (!(maxPenalty <= 0)) throw new ConfigError(`repetitionPenalty: maxPenalty must be ≤ 0 (it is the most negative reward), got ${maxPenalty}`);
  return named('repetition_penalty_reward', (_prompts, _completions, { completion_ids }) =>
    completion_ids.map((ids) => {
      const total = ids.length - ngramSize + 1;
      if (total < 1) return 0;
      const seen = new Set<string>();
      for (let i = 0; i < total; i++) seen.add(ids.slice(i, i + ngramSize).join(','));
      const scaling = 1 - seen.size / total;
      return scaling ? scaling * maxPenalty : 0;
    }),
  );
}

/**
 * A model with a score head as a reward function: the score of prompt + completion, tokenized
 * with the reward model's own tokenizer (as TRL scores with a reward model's processing class).
 * The model is frozen here.
 */
export function modelReward(model: CausalLM, tokenizer: Tokenizer, o: { name?: string; batch_size?: number } = {}): RewardFunc {
  if (!model.heads.score) throw new ConfigError('modelReward: the model has no score head; give a reward model (a folder written by webrlhf reward, or loaded with heads: { score: true })');
  model.freeze();
  const pad = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const fallback = tokenizer.bosTokenId ?? tokenizer.eosTokenId ?? 0;
  const room = model.arch.maxPositions;
  return named(o.name ?? 'reward_model', async (prompts, completions): Promise<RewardValue[]> => {
    const pairs = completions.map((c, i) => {
      const ids = tokenizer.encode(prompts[i]! + c);
      return { prompt: ids.length ? ids.slice(Math.max(0, ids.length - room)) : [fallback], response: [] };
    });
    return rewardScores(model, pairs, { batch_size: o.batch_size ?? 16, pad_token_id: pad });
  });
}
