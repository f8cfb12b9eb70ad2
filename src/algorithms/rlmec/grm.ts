// What the trained generative reward model does for RLMEC (ALGORITHMS.md §5): rewrite policy
// samples (greedy, after the "Correct prediction:" prefix) and, teacher-forced on a sample,
// give the probability of each of its tokens: the raw material of the token-level rewards.
import type { ReasoningProblem } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { generate } from '../../text/generate.js';
import { scoreSequences } from '../../text/score.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { REWRITE_PREFIX, rewritePrompt } from './grm_data.js';

export interface GRMOptions {
  /** Sequences per device batch. */
  batch_size: number;
  /** Rewrite tokens at most. */
  max_new_tokens: number;
}

/** A policy sample to judge: its problem and its tokens (EOS included when it stopped). */
export interface JudgedSample {
  problem: ReasoningProblem;
  ids: number[];
}

const textOf = (tokenizer: Tokenizer, ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });

/** The rewriting prompt with the response prefix already in place, as ids. */
function rewriteInput(tokenizer: Tokenizer, s: JudgedSample): { prompt: number[]; prefix: number[] } {
  const p = s.problem;
  return { prompt: tokenizer.encode(rewritePrompt(p.question, p.solution, textOf(tokenizer, s.ids))), prefix: tokenizer.encode(REWRITE_PREFIX) };
}

/** The GRM's greedy rewrite of each sample (the text after "Correct prediction:"). */
export async function grmRewrites(grm: CausalLM, tokenizer: Tokenizer, samples: readonly JudgedSample[], o: GRMOptions): Promise<string[]> {
  if (!samples.length) return [];
  const prompts = samples.map((s) => {
    const { prompt, prefix } = rewriteInput(tokenizer, s);
    return [...prompt, ...prefix];
  });
  const out = await generate(grm, prompts, { tokenizer, do_sample: false, max_new_tokens: o.max_new_tokens, batch_size: o.batch_size });
  return out.map((g) => g.text);
}

/**
 * p_t = P_GRM(y_t | rewriting prompt, "Correct prediction:", y_<t) for each token of each
 * sample, teacher-forced on "Correct prediction:" + y (+ EOS when y has none).
 */
export async function grmTokenProbabilities(grm: CausalLM, tokenizer: Tokenizer, samples: readonly JudgedSample[], o: Pick<GRMOptions, 'batch_size'>): Promise<number[][]> {
  if (!samples.length) return [];
  const eos = tokenizer.eosTokenId;
  const pairs = samples.map((s) => {
    const { prompt, prefix } = rewriteInput(tokenizer, s);
    const ends = eos === undefined || s.ids.at(-1) === eos;
    return { prompt, response: [...prefix, ...s.ids, ...(ends ? [] : [eos])], from: prefix.length, count: s.ids.length };
  });
  const scores = await scoreSequences(grm, pairs, { batch_size: o.batch_size, pad_token_id: tokenizer.padTokenId ?? eos ?? 0 });
  return scores.map((s, i) => s.logprobs.slice(pairs[i]!.from, pairs[i]!.from + pairs[i]!.count).map(Math.exp));
}
