// The minimum-edit teacher of RLMEC's GRM data (ALGORITHMS.md §5), pluggable: the built-in
// task's step checker, a line-level teacher that works from any reference solution, or
// rewrites a large model wrote, loaded from JSONL.
import type { ReasoningProblem } from '../../data/problems.js';
import type { RewriteRecord } from '../../data/records.js';
import { minimumEditRewrite, type ArithmeticProblem } from '../../tasks/arithmetic.js';

export interface RewriteTeacher {
  /** Names the teacher in a run's report. */
  readonly name: string;
  /**
   * A minimal edit of `prediction` that reaches the right answer: its steps before the first
   * wrong one kept verbatim, the rest corrected. undefined: the teacher has no rewrite.
   */
  rewrite(problem: ReasoningProblem, prediction: string): string | undefined;
}

/** The built-in arithmetic task's teacher: its step checker finds the first wrong step. */
export function arithmeticTeacher(problems: readonly ArithmeticProblem[]): RewriteTeacher {
  const byQuestion = new Map(problems.map((p) => [p.question, p]));
  return {
    name: 'arithmetic step checker',
    rewrite: (problem, prediction) => {
      const p = byQuestion.get(problem.question);
      return p && minimumEditRewrite(p, prediction);
    },
  };
}

const linesOf = (text: string) => text.replace(/\s+$/, '').split('\n');

/**
 * For any problem with a reference solution: the first prediction line that differs from
 * the reference's line (whitespace aside) is the first error; the reference takes over there.
 */
export function referenceTeacher(): RewriteTeacher {
  return {
    name: 'reference solution (line by line)',
    rewrite: (problem, prediction) => {
      const reference = linesOf(problem.solution);
      const lines = linesOf(prediction);
      const same = (a: string | undefined, b: string) => a !== undefined && a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
      let k = 0;
      while (k < reference.length && same(lines[k], reference[k]!)) k++;
      if (k === reference.length && lines.length === reference.length) return prediction;
      return [...lines.slice(0, k), ...reference.slice(k)].join('\n');
    },
  };
}

/** Rewrites written by another model, looked up by (question, prediction) exactly. */
export function rewritesTeacher(records: readonly RewriteRecord[], name = 'rewrites file'): RewriteTeacher {
  const key = (question: string, prediction: string) => `${question}\u0000${prediction}`;
  const byKey = new Map(records.map((r) => [key(r.question, r.prediction), r.rewrite]));
  return { name, rewrite: (problem, prediction) => byKey.get(key(problem.question, prediction)) };
}

/** 0-based index of the first line where `prediction` and its `rewrite` differ (the first error step). */
export function firstChangedLine(prediction: string, rewrite: string): number | undefined {
  const a = linesOf(prediction);
  const b = linesOf(rewrite);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return undefined;
}
