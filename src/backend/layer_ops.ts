// Types and shape checks of the transformer layer ops (Backend.embedding, layerNorm, ...).
// Integer inputs (token ids, positions, targets, row indices) travel as f32 tensors: every
// integer below 2^24 is exact in f32, and one dtype keeps both backends simple.
import { ShapeError } from '../errors.js';
import { fmt, type Shape } from './shapes.js';
import type { Tensor } from './backend.js';

/**
 * Views start on multiples of this many elements (256 bytes): WebGPU binds a buffer range
 * only at offsets that are multiples of minStorageBufferOffsetAlignment (256 on every adapter).
 */
export const VIEW_ALIGN = 64;

/**
 * Which destination row each source row is added into, grouped by destination so a
 * scatter-add runs without atomics and in one fixed order (results are deterministic and
 * the same on both backends). Build it on the host with `rowIndex()` (src/nn/row_index.ts)
 * from the destination rows, which are host data (token ids, positions).
 */
export interface RowIndex {
  /** [R]: source rows, grouped by destination, ascending within a group. */
  order: Tensor;
  /** [U + 1]: group g is order[starts[g] .. starts[g+1]). */
  starts: Tensor;
  /** [U]: the destination row of each group (distinct). */
  targets: Tensor;
  /** Number of groups U (≥ 1; a dummy empty group when there are no rows). */
  groups: number;
}

/** One AdamW update (PyTorch semantics: decoupled decay p ← p − lr·wd·p, bias-corrected moments). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for the bias corrections 1 − βᵗ. */
  step: number;
  /**
   * Global-norm clipping: the gradient is multiplied by min(1, maxGradNorm / (‖g‖ + 1e-6)),
   * with ‖g‖² read from `gradSumSquares` ([1], e.g. `backend.sum(grads, ...)` of squares) on
   * the device, so clipping needs no readback. Omit (or maxGradNorm ≤ 0) for no clipping.
   */
  gradSumSquares?: Tensor;
  maxGradNorm?: number;
}

/** Shapes of an attention head split: src [B, T, W] holds a [B, T, H·D] block at column `col`. */
export interface HeadsGeometry {
  B: number;
  T: number;
  H: number;
  D: number;
  /** Row width of the [B, T, W] side. */
  W: number;
  col: number;
  /** Time rows of the heads side ([B, H, S, D], S ≥ t0 + T) and the first one T maps to. */
  S: number;
  t0: number;
}

/** Shapes of cachedAttention: T queries at positions start.. against a cache of S positions. */
export interface CachedAttentionGeometry {
  B: number;
  T: number;
  H: number;
  D: number;
  S: number;
  /** Row width of qkv. */
  W: number;
  start: number;
}

/** Widest attention head cachedAttention takes (each WGSL invocation keeps D/64 accumulators). */
export const MAX_CACHED_HEAD_DIM = 256;

/** Fails unless `t` has exactly `shape`. */
export function expect(op: string, name: string, t: Tensor, shape: Shape): void {
  if (fmt(t.shape) !== fmt(shape)) throw new ShapeError(`${op}: ${name} has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
}

/**
 * [B, T, W] with a column block at `col` against heads [B, H, T, D], or, given `time`,
 * against time rows time..time+T of heads [B, H, S, D] (a KV cache).
 */
export function headsGeometry(op: string, wide: Tensor, heads: Tensor, col: number, time?: number): HeadsGeometry {
  if (wide.shape.length !== 3) throw new ShapeError(`${op}: the [B, T, W] operand has shape ${fmt(wide.shape)}`);
  if (heads.shape.length !== 4) throw new ShapeError(`${op}: the heads operand has shape ${fmt(heads.shape)}, expected [B, H, T, D]`);
  const [B, T, W] = wide.shape as [number, number, number];
  const [hb, H, ht, D] = heads.shape as [number, number, number, number];
  if (hb !== B) throw new ShapeError(`${op}: ${fmt(wide.shape)} and heads ${fmt(heads.shape)} differ in B`);
  const t0 = time ?? 0;
  if (time === undefined ? ht !== T : !Number.isInteger(t0) || t0 < 0 || t0 + T > ht) {
    const want = time === undefined ? `${T} time rows` : `time rows ${t0}..${t0 + T}`;
    throw new ShapeError(`${op}: heads ${fmt(heads.shape)} cannot hold ${want} of ${fmt(wide.shape)}`);
  }
  if (!Number.isInteger(col) || col < 0 || col + H * D > W) {
    throw new ShapeError(`${op}: columns ${col}..${col + H * D} do not fit in a row of ${W}`);
  }
  return { B, T, H, D, W, col, S: ht, t0 };
}
