// What the trained generative reward model does for RLMEC (ALGORITHMS.md §5): rewrite policy
// samples (greedy, after the "Correct prediction:" prefix; by default after locating the first
// error and forcing the steps before it, rewrite_start.ts) and, teacher-forced on a sample,
// give the probability of each of its tokens (EOS included): the raw material of the
// token-level rewards.
import type { ReasoningProblem } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { generate } from '../../text/generate.js';
import { scoreSequences } from '../../text/score.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { REWRITE_PREFIX, locateAnswer, locatePrompt, rewritePrompt } from './grm_data.js';
import { rewriteStarts, type GRMRewriteMode } from './rewrite_start.js';

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

/**
 * y as it is scored and learned: its ids, with EOS appended when it stopped without one (it
 * hit max_new_tokens), so every sample's end gets a reward and a target, as the authors do.
 */
export function withEos(tokenizer: Tokenizer, ids: readonly number[]): number[] {
  const eos = tokenizer.eosTokenId;
  return eos === undefined || ids.at(-1) === eos ? [...ids] : [...ids, eos];
}

/** The rewriting prompt of a sample, as ids. */
const rewritePromptIds = (tokenizer: Tokenizer, s: JudgedSample, prediction: string) => tokenizer.encode(rewritePrompt(s.problem.question, s.problem.solution, prediction));

/** The GRM's rewrites and how many fell back from locate-then-rewrite to the free rewrite. */
export interface GRMRewrites {
  /** Each sample's rewrite: the forced steps (if any) and the GRM's continuation. */
  texts: string[];
  /** Samples whose locate answer was unparseable, out of range or said "no error" (rewritten freely). */
  locateFallbacks: number;
}

/**
 * The GRM's greedy rewrite of each sample (the text after "Correct prediction:"). In mode
 * locate_then_rewrite the GRM first answers the locate prompt; the rewrite is then forced to
 * start with the prediction's steps before the located one, and the GRM continues from there.
 */
export async function grmRewrites(grm: CausalLM, tokenizer: Tokenizer, samples: readonly JudgedSample[], o: GRMOptions & { mode: GRMRewriteMode }): Promise<GRMRewrites> {
  if (!samples.length) return { texts: [], locateFallbacks: 0 };
  const predictions = samples.map((s) => textOf(tokenizer, s.ids));
  let starts = { kept: samples.map(() => ''), fallbacks: 0 };
  if (o.mode === 'locate_then_rewrite') {
    const prompts = samples.map((s, i) => tokenizer.encode(locatePrompt(s.problem.question, s.problem.solution, predictions[i]!)));
    // The longest answer there is to give ("[n + 1]" of the longest prediction), and EOS.
    const steps = Math.max(...predictions.map((p) => p.split('\n').length));
    const answers = await generate(grm, prompts, { tokenizer, do_sample: false, max_new_tokens: tokenizer.encode(locateAnswer(steps + 1)).length + 1, batch_size: o.batch_size });
    starts = rewriteStarts(predictions, answers.map((a) => a.text));
  }
  const prompts = samples.map((s, i) => [...rewritePromptIds(tokenizer, s, predictions[i]!), ...tokenizer.encode(REWRITE_PREFIX + starts.kept[i]!)]);
  const out = await generate(grm, prompts, { tokenizer, do_sample: false, max_new_tokens: o.max_new_tokens, batch_size: o.batch_size });
  return { texts: out.map((g, i) => starts.kept[i]! + g.text), locateFallbacks: starts.fallbacks };
}

/**
 * p_t = P_GRM(y_t | rewriting prompt, "Correct prediction:", y_<t) for each token of
 * withEos(y): teacher-forced on "Correct prediction:" + y + EOS, the appended EOS of a
 * sample that hit max_new_tokens included (its row is one longer than its ids).
 */
export async function grmTokenProbabilities(grm: CausalLM, tokenizer: Tokenizer, samples: readonly JudgedSample[], o: Pick<GRMOptions, 'batch_size'>): Promise<number[][]> {
  if (!samples.length) return [];
  const prefix = tokenizer.encode(REWRITE_PREFIX);
  const pairs = samples.map((s) => ({ prompt: rewritePromptIds(tokenizer, s, textOf(tokenizer, s.ids)), response: [...prefix, ...withEos(tokenizer, s.ids)] }));
  const scores = await scoreSequences(grm, pairs, { batch_size: o.batch_size, pad_token_id: tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0 });
  return scores.map((s, i) => s.logprobs.slice(prefix.length, pairs[i]!.response.length).map(Math.exp));
}
