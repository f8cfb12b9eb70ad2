import type { Tensor } from '../backend/backend.js';
import { namedStats } from './apply_update.js';

/**
 * Evaluation without updates: runs `lossOf` on `items` in chunks of batchSize and averages its
 * stats tensor over the items (each chunk weighted by its size).
 */
export async function averageStats<T>(
  names: readonly string[], items: T[], batchSize: number,
  lossOf: (chunk: T[]) => { stats: Tensor; dispose(): void },
): Promise<Record<string, number>> {
  const totals = new Array<number>(names.length).fill(0);
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const s = lossOf(chunk);
    try {
      const v = await s.stats.backend.read(s.stats);
      names.forEach((_, k) => (totals[k]! += v[k]! * chunk.length));
    } finally {
      s.dispose();
    }
  }
  return namedStats(names, Float32Array.from(totals, (t) => t / Math.max(items.length, 1)));
}
