// Where the GRM's rewrite of a wrong sample starts under the minimum-editing constraint, as
// the RLMEC authors' code does it (issue 22): the GRM first locates the first error step k,
// then the rewrite is continued after "Correct prediction:" + the prediction's steps before
// k, so the unchanged steps are copied, not regenerated. Pure: unit-testable without a model.
import { extractAnswer } from '../../tasks/arithmetic.js';
import { parseLocateAnswer } from './grm_data.js';

/** How the GRM rewrites a wrong sample: locate the first error, then continue after the kept steps; or rewrite the whole prediction freely. */
export const GRM_REWRITE_MODES = ['locate_then_rewrite', 'free'] as const;
export type GRMRewriteMode = (typeof GRM_REWRITE_MODES)[number];

/** Why a locate answer cannot start the rewrite (the free rewrite is used instead). */
export type LocateFallback = 'unparseable' | 'out_of_range' | 'no_error';

/** The prediction's steps before k, each ending '\n' (what the rewrite starts with), or why k cannot be used. */
export type RewriteStart = { kept: string } | { fallback: LocateFallback };

/** The prediction's steps, as the locate prompt numbers them (trailing whitespace aside). */
const stepsOf = (prediction: string) => prediction.replace(/\s+$/, '').split('\n');

/**
 * The rewrite's forced start after the GRM's locate answer for `prediction` (a wrong one):
 * - k in 1..n (n steps): the steps before k ('' for k = 1);
 * - k = n + 1: all n steps, when the prediction stopped before a final answer (the error is
 *   the missing rest); if it has a final answer, keeping every step says it has no error,
 *   which a wrong prediction cannot be: no_error;
 * - no "The first error step is [k]" in the answer: unparseable; k = 0 or k > n + 1: out_of_range.
 */
export function rewriteStart(prediction: string, locateText: string): RewriteStart {
  const k = parseLocateAnswer(locateText);
  if (k === undefined) return { fallback: 'unparseable' };
  const steps = stepsOf(prediction);
  if (k < 1 || k > steps.length + 1) return { fallback: 'out_of_range' };
  if (k === steps.length + 1 && extractAnswer(prediction) !== undefined) return { fallback: 'no_error' };
  return { kept: steps.slice(0, k - 1).map((line) => `${line}\n`).join('') };
}

/** Each prediction's forced start ('' for a fallback: the free rewrite) and how many fell back. */
export function rewriteStarts(predictions: readonly string[], locateTexts: readonly string[]): { kept: string[]; fallbacks: number } {
  let fallbacks = 0;
  const kept = predictions.map((p, i) => {
    const start = rewriteStart(p, locateTexts[i]!);
    if ('kept' in start) return start.kept;
    fallbacks++;
    return '';
  });
  return { kept, fallbacks };
}
