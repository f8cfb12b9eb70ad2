// The LM head over row chunks: the logits of `chunk` tokens at a time, so a step holds
// chunk × V logits (and as many gradients) instead of N × V — Liger's fused linear
// cross-entropy, composed from the ops. A chunk starts at a multiple of 64 rows, so its rows of
// every [N, ·] tensor are views (offsets must be multiples of VIEW_ALIGN elements).
import { VIEW_ALIGN, type Backend, type Tensor } from '../backend/backend.js';
import { ConfigError } from '../errors.js';
import { matmul } from '../ops/core.js';

/** Rows of LM logits a model computes at once: a number of rows (Infinity: all), or 'auto'. */
export type LogitsChunking = number | 'auto';

/** 'auto' keeps the full [N, V] logits up to this many bytes; past it, chunks of at most this. */
export const AUTO_LOGITS_BYTES = 64 * 2 ** 20;

export function checkLogitsChunking(setting: LogitsChunking): void {
  if (setting === 'auto' || setting === Infinity || (Number.isInteger(setting) && setting >= 1)) return;
  throw new ConfigError(`logitsChunkRows must be 'auto', a positive integer or Infinity (never chunk), got ${String(setting)}`);
}

/**
 * Rows per chunk for N rows of V logits: N when the logits are computed whole, else a multiple
 * of 64 (at least 64) below N. 'auto' chunks only when N·V·4 bytes pass AUTO_LOGITS_BYTES.
 */
export function logitsChunkRows(setting: LogitsChunking, N: number, V: number): number {
  const wanted = setting === 'auto' ? Math.floor(AUTO_LOGITS_BYTES / (V * 4)) : setting;
  if (wanted >= N) return N;
  return Math.min(N, Math.max(VIEW_ALIGN, Math.floor(wanted / VIEW_ALIGN) * VIEW_ALIGN));
}

/** One chunk of rows, its logits computed. */
export interface LogitChunk {
  /** The chunk's rows of an [N, ·] (or [N]) tensor, as a view. */
  rows(t: Tensor): Tensor;
  /** Its logits [rows, V]. */
  logits: Tensor;
  /** A [rows, V] buffer for its dlogits (when one was given). */
  dlogits: Tensor | undefined;
}

/**
 * Runs over x [N, C] in chunks of `chunk` rows, computing each chunk's logits x·headᵀ into
 * the front of `buffers.logits` [chunk, V] before yielding it; the caller uses them before
 * asking for the next.
 */
export function* logitChunks(be: Backend, x: Tensor, head: Tensor, chunk: number, buffers: { logits: Tensor; dlogits?: Tensor }): Generator<LogitChunk> {
  const N = x.shape[0]!;
  const V = head.shape[0]!;
  for (let start = 0; start < N; start += chunk) {
    const n = Math.min(chunk, N - start);
    const rows = (t: Tensor) => be.view(t, start * (t.size / t.shape[0]!), [n, ...t.shape.slice(1)]);
    const logits = be.view(buffers.logits, 0, [n, V]);
    matmul(rows(x), head, { transB: true, out: logits });
    yield { rows, logits, dlogits: buffers.dlogits && be.view(buffers.dlogits, 0, [n, V]) };
  }
}
