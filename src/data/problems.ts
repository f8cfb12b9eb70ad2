// A reasoning problem: a question, a reference solution whose lines are its steps, and the
// answer read after "The answer is". The built-in arithmetic task and a user's JSONL problems
// both become this shape; solving them (tasks/solve.ts) and RLMEC (ALGORITHMS.md §5) read it.
import { extractAnswer, formatSolution, problemPrompt, type ArithmeticProblem } from '../tasks/arithmetic.js';

export interface ReasoningProblem {
  question: string;
  /** The reference solution: a step per line, ending "The answer is N". */
  solution: string;
  answer: number;
}

/** What the policy is prompted with: the question and a newline (as the task's SFT data). */
export function promptOf(p: Pick<ReasoningProblem, 'question'>): string {
  return problemPrompt({ question: p.question });
}

/** Whether a prediction's final answer (after the last "The answer is") is the problem's. */
export function isCorrect(p: Pick<ReasoningProblem, 'answer'>, prediction: string): boolean {
  return extractAnswer(prediction) === p.answer;
}

export function fromArithmetic(p: ArithmeticProblem): ReasoningProblem {
  return { question: p.question, solution: formatSolution(p), answer: p.answer };
}
