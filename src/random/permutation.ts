import { philoxUniforms, type RandomOptions } from './philox.js';

/**
 * A permutation of 0..n−1 drawn from Philox (Fisher–Yates): the same (seed, stream, offset)
 * gives the same order in every runtime, so a resumed run sees the data in the same order.
 */
export function seededPermutation(n: number, o: RandomOptions): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (n < 2) return order;
  const u = philoxUniforms(n, o);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
