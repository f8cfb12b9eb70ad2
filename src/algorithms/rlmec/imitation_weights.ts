// RLMEC's imitation weights c_t (ALGORITHMS.md §5): how strongly L_reg pulls the policy
// towards each token of the rewrite ŷ, heavier on the tokens the minimum edit changed.
import { levenshteinAlignment } from '../../text/alignment.js';

/** c_t of L_reg for each token of ŷ: 1.0 where edited, 0.5 elsewhere; 0.5 everywhere for a correct sample (ŷ = y). */
export function imitationWeights(sample: ArrayLike<number>, rewrite: ArrayLike<number>, correct: boolean): number[] {
  if (correct) return Array.from({ length: rewrite.length }, () => 0.5);
  return levenshteinAlignment(sample, rewrite).edited.map((e) => (e ? 1 : 0.5));
}
