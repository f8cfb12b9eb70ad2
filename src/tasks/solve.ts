// A policy solving reasoning problems: sampled solutions (the RL methods' raw material) and
// greedy test accuracy (the number a comparison table reports).
import { isCorrect, promptOf, type ReasoningProblem } from '../data/problems.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { generate } from '../text/generate.js';
import type { Tokenizer } from '../text/tokenizer.js';

export interface SolveOptions {
  /** Solutions per problem (1 when greedy). */
  num_samples?: number;
  /** 0: greedy. */
  temperature?: number;
  top_p?: number;
  max_new_tokens: number;
  seed?: number;
  batch_size?: number;
}

export interface Solution {
  problem: ReasoningProblem;
  /** The prompt's ids and the solution's (EOS included when it stopped). */
  prompt: number[];
  ids: number[];
  text: string;
  correct: boolean;
}

export async function solveProblems(model: CausalLM, tokenizer: Tokenizer, problems: readonly ReasoningProblem[], o: SolveOptions): Promise<Solution[]> {
  if (!problems.length) return [];
  const greedy = !o.temperature;
  const out = await generate(model, problems.map(promptOf), {
    tokenizer,
    do_sample: !greedy,
    ...(greedy ? {} : { temperature: o.temperature, top_p: o.top_p ?? 1 }),
    num_return_sequences: greedy ? 1 : (o.num_samples ?? 1),
    max_new_tokens: o.max_new_tokens,
    seed: o.seed ?? 0,
    ...(o.batch_size ? { batch_size: o.batch_size } : {}),
  });
  return out.map((g) => {
    const problem = problems[g.prompt]!;
    return { problem, prompt: g.promptIds, ids: g.ids, text: g.text, correct: isCorrect(problem, g.text) };
  });
}

/** Greedy accuracy on `problems`, with the solutions. */
export async function testAccuracy(model: CausalLM, tokenizer: Tokenizer, problems: readonly ReasoningProblem[], o: Pick<SolveOptions, 'max_new_tokens' | 'batch_size'>): Promise<{ accuracy: number; solutions: Solution[] }> {
  const solutions = await solveProblems(model, tokenizer, problems, { ...o, temperature: 0 });
  return { accuracy: solutions.filter((s) => s.correct).length / Math.max(solutions.length, 1), solutions };
}
