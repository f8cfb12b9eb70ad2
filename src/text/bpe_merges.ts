// Byte-pair merges by rank, applied to a word as Hugging Face's BPE model applies them.

/** The merges of a BPE vocabulary over token ids, in rank order: merge r joins (left, right) into result. */
export class MergeTable {
  // rank of (left, right): one small map per left id keeps the keys small integers.
  private readonly byLeft: (Map<number, number> | undefined)[];
  private readonly results: number[] = [];

  constructor(vocabSize: number) {
    this.byLeft = new Array<Map<number, number> | undefined>(vocabSize);
  }

  get size(): number {
    return this.results.length;
  }

  /** Adds the merge of the next rank; returns the earlier rank of the same pair instead, if any. */
  add(left: number, right: number, result: number): number | undefined {
    const m = (this.byLeft[left] ??= new Map());
    const earlier = m.get(right);
    if (earlier !== undefined) return earlier;
    m.set(right, this.results.length);
    this.results.push(result);
    return undefined;
  }

  rank(left: number, right: number): number | undefined {
    return this.byLeft[left]?.get(right);
  }

  /**
   * Merges `symbols` (ids, modified in place) and returns the word's ids. Always the pair of
   * lowest rank next, the leftmost among equal ranks: tokenizers' `merge_all`, with the same
   * priority queue and the same check that a queued pair still stands.
   */
  apply(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2 || this.size === 0) return symbols;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const heap: number[] = []; // keys rank·n + left position: ordered by rank, then position
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      if (i + 1 < n) {
        const r = this.rank(symbols[i]!, symbols[i + 1]!);
        if (r !== undefined) heapPush(heap, r * n + i);
      }
    }
    while (heap.length > 0) {
      const key = heapPop(heap);
      const rank = Math.floor(key / n);
      const pos = key - rank * n;
      const right = next[pos]!;
      if (symbols[pos]! < 0 || right < 0) continue; // merged away, or nothing on its right any more
      const now = this.rank(symbols[pos]!, symbols[right]!);
      if (now === undefined || this.results[now] !== this.results[rank]) continue; // the pair changed
      symbols[pos] = this.results[rank]!;
      symbols[right] = -1;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      const before = prev[pos]!;
      if (before >= 0) {
        const r = this.rank(symbols[before]!, symbols[pos]!);
        if (r !== undefined) heapPush(heap, r * n + before);
      }
      if (after >= 0) {
        const r = this.rank(symbols[pos]!, symbols[after]!);
        if (r !== undefined) heapPush(heap, r * n + pos);
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(symbols[i]!);
    return out;
  }
}

function heapPush(heap: number[], key: number): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= key) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = key;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && heap[l + 1]! < heap[l]! ? l + 1 : l;
    if (heap[c]! >= last) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return top;
}
