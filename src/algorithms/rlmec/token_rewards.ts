// RLMEC's token-level rewards (ALGORITHMS.md §5) from the generative reward model's
// teacher-forced probabilities p_t of the policy's own tokens.

/** Erroneous sample: clip(p − 0.5, −0.1, 0); correct sample: clip(p − 0.5, 0, 0.5). */
export function tokenRewards(probs: ArrayLike<number>, correct: boolean): number[] {
  const [lo, hi] = correct ? [0, 0.5] : [-0.1, 0];
  return Array.from(probs, (p) => Math.min(Math.max(p - 0.5, lo), hi));
}
