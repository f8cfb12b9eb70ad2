import type { Backend } from '../backend/backend.js';
import type { RowIndex } from '../ops/layers.js';

/** The grouping behind a RowIndex, as host arrays. */
export interface RowGroups {
  order: Int32Array;
  starts: Int32Array;
  targets: Int32Array;
}

/**
 * Groups source rows by the destination row each one is added into (`dest[i]` for source
 * row i), destinations ascending and sources ascending within a group. Rows with a negative
 * destination are left out. An empty input gets one empty group, so no tensor is empty.
 */
export function groupRows(dest: ArrayLike<number>): RowGroups {
  const byTarget = new Map<number, number[]>();
  for (let i = 0; i < dest.length; i++) {
    const d = dest[i]!;
    if (d < 0) continue;
    let rows = byTarget.get(d);
    if (!rows) byTarget.set(d, (rows = []));
    rows.push(i);
  }
  const targets = [...byTarget.keys()].sort((a, b) => a - b);
  if (targets.length === 0) return { order: new Int32Array(dest.length), starts: new Int32Array(2), targets: new Int32Array(1) };
  const order: number[] = [];
  const starts = [0];
  for (const t of targets) {
    order.push(...byTarget.get(t)!);
    starts.push(order.length);
  }
  // order has one entry per source row: skipped rows (negative destination) pad the end
  // and belong to no group.
  for (let i = 0; i < dest.length; i++) if (dest[i]! < 0) order.push(i);
  return { order: Int32Array.from(order), starts: Int32Array.from(starts), targets: Int32Array.from(targets) };
}

/** Uploads the grouping of `dest` for scatterAddRows. Dispose it with disposeRowIndex. */
export function rowIndex(backend: Backend, dest: ArrayLike<number>): RowIndex {
  const g = groupRows(dest);
  return {
    order: backend.tensor(g.order),
    starts: backend.tensor(g.starts),
    targets: backend.tensor(g.targets),
    groups: g.targets.length,
  };
}

export function disposeRowIndex(index: RowIndex): void {
  index.order.dispose();
  index.starts.dispose();
  index.targets.dispose();
}
