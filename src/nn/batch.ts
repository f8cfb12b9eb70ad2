import { BatchError } from '../errors.js';
import { positionsKey, type Architecture } from './architecture.js';

/**
 * Token sequences in the Hugging Face convention: rows of equal length (pad them), an
 * attention mask (1 real token, 0 padding; default all 1) and labels aligned with the
 * inputs — the model predicts labels[t + 1] at position t. A label of −1 or −100 is
 * ignored; without labels, every real token after the first is a target.
 */
export interface TokenBatch {
  inputIds: ArrayLike<number>[];
  attentionMask?: ArrayLike<number>[];
  labels?: ArrayLike<number>[];
  /** Per-token loss weights aligned with labels (default 1). */
  lossWeights?: ArrayLike<number>[];
}

/** How per-token losses combine: mean over counted tokens (default), or their sum. */
export type LossReduction = 'mean' | 'sum';

/** A TokenBatch checked and flattened to what the kernels read (all f32, row-major [B·T]). */
export interface PreparedBatch {
  B: number;
  T: number;
  ids: Float32Array;
  /** Position ids: counted from each row's first real token, so left padding changes nothing. */
  pos: Float32Array;
  /** The attention mask [B, T] (keys a query may see). */
  keyMask: Float32Array;
  /** Next-token targets at each position (−1: none). */
  targets: Float32Array;
  /** Loss weight of each position: mask × weight / normaliser (0 where no target). */
  weights: Float32Array;
  /** Row (b·T + t) of each sequence's last real token, for the scalar head. */
  lastRows: Float32Array;
  /** Tokens that carry a loss. */
  counted: number;
}

const IGNORE = new Set([-1, -100]);

export function prepareBatch(batch: TokenBatch, arch: Pick<Architecture, 'vocabSize' | 'maxPositions' | 'modelType'>, reduction: LossReduction = 'mean'): PreparedBatch {
  const rows = batch.inputIds;
  if (!Array.isArray(rows) || rows.length === 0) throw new BatchError('batch: inputIds must be a non-empty list of token rows');
  const B = rows.length;
  const T = rows[0]!.length;
  if (T === 0) throw new BatchError('batch: rows are empty; every row needs at least one token');
  if (T > arch.maxPositions) {
    throw new BatchError(`batch: rows have ${T} tokens but the model has ${positionsKey(arch)} = ${arch.maxPositions}; truncate the sequences or use a model with more positions`);
  }
  const check = (name: string, list: ArrayLike<number>[] | undefined) => {
    if (!list) return;
    if (list.length !== B) throw new BatchError(`batch: ${name} has ${list.length} rows, inputIds has ${B}`);
    list.forEach((r, b) => {
      if (r.length !== T) throw new BatchError(`batch: ${name} row ${b} has ${r.length} entries, expected ${T} (pad every row to the same length)`);
    });
  };
  check('inputIds', rows);
  check('attentionMask', batch.attentionMask);
  check('labels', batch.labels);
  check('lossWeights', batch.lossWeights);

  const n = B * T;
  const p: PreparedBatch = {
    B, T, ids: new Float32Array(n), pos: new Float32Array(n), keyMask: new Float32Array(n),
    targets: new Float32Array(n).fill(-1), weights: new Float32Array(n), lastRows: new Float32Array(B), counted: 0,
  };
  const V = arch.vocabSize;
  for (let b = 0; b < B; b++) {
    let seen = 0;
    let last = -1;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const id = rows[b]![t]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new BatchError(`batch: token id ${id} at row ${b}, position ${t} is outside the vocabulary [0, ${V}); pad with a real id (e.g. 0) and mask it out`);
      }
      const m = batch.attentionMask ? batch.attentionMask[b]![t]! : 1;
      if (m !== 0 && m !== 1) throw new BatchError(`batch: attentionMask row ${b}, position ${t} is ${m}; use 1 for tokens and 0 for padding`);
      p.ids[i] = id;
      p.keyMask[i] = m;
      p.pos[i] = m ? seen : 0;
      if (m) {
        seen++;
        last = t;
      }
    }
    if (last < 0) throw new BatchError(`batch: row ${b} has no real token (its attention mask is all 0)`);
    p.lastRows[b] = b * T + last;
    for (let t = 0; t + 1 < T; t++) {
      const i = b * T + t;
      const label = batch.labels ? batch.labels[b]![t + 1]! : (batch.attentionMask ? batch.attentionMask[b]![t + 1]! : 1) ? rows[b]![t + 1]! : -1;
      if (IGNORE.has(label) || !p.keyMask[i]) continue;
      if (!Number.isInteger(label) || label < 0 || label >= V) {
        throw new BatchError(`batch: label ${label} at row ${b}, position ${t + 1} is outside the vocabulary [0, ${V}); use −100 (or −1) to ignore a position`);
      }
      const w = batch.lossWeights ? batch.lossWeights[b]![t + 1]! : 1;
      if (!Number.isFinite(w)) throw new BatchError(`batch: loss weight ${w} at row ${b}, position ${t + 1} is not a finite number`);
      p.targets[i] = label;
      p.weights[i] = w;
      p.counted++;
    }
  }
  if (reduction === 'mean' && p.counted > 0) for (let i = 0; i < n; i++) p.weights[i] = p.weights[i]! / p.counted;
  return p;
}
