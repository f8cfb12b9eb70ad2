import type { Backend, Tensor } from '../backend/backend.js';
import { causalSoftmax, causalSoftmaxBackward, gatherHeads, scatterHeads } from '../ops/attention.js';
import { matmul } from '../ops/core.js';
import type { Projections } from './activations.js';

/** The tensors of one attention call: B, T, H from q ([B, H, T, D]), KV heads from k ([B, Hkv, T, D]). */
export interface AttentionBuffers {
  q: Tensor; k: Tensor; v: Tensor;
  /** Scores and probabilities [B, H, T, T]. */
  scores: Tensor;
  probs: Tensor;
  /** Head outputs [B, H, T, D]. */
  yHeads: Tensor;
  /** [B·T, H·D]: heads merged. */
  out: Tensor;
}

export interface AttentionGradBuffers {
  /** [B·T, H·D] in. */
  dOut: Tensor;
  dq: Tensor; dk: Tensor; dv: Tensor;
  dYHeads: Tensor;
  dProbs: Tensor;
  dScores: Tensor;
}

/**
 * Grouped-query attention as batched matmuls with no copy of the shared heads: KV head j
 * serves query heads j·G … j·G+G−1 (Hugging Face's repeat_kv order), which lie next to each
 * other in q [B, H, T, D], so q seen as [B·Hkv, G·T, D] meets k seen as [B·Hkv, T, D] in one
 * matmul whose output is the scores [B, H, T, T] in place. Multi-head attention is G = 1.
 */
function groupedViews(be: Backend, q: Tensor, k: Tensor): { kv: (t: Tensor) => Tensor; rows: (t: Tensor) => Tensor } {
  const [B, H, T] = q.shape as [number, number, number, number];
  const Hkv = k.shape[1]!;
  const G = H / Hkv;
  return {
    kv: (t) => be.view(t, 0, [B * Hkv, T, t.shape[3]!]),
    rows: (t) => be.view(t, 0, [B * Hkv, G * T, t.shape[3]!]),
  };
}

/**
 * Causal self-attention with a key-padding mask, composed from backend ops: split heads,
 * scores = q·kᵀ/√D (a batched matmul), masked softmax, y = probs·v, merge heads. The matmuls
 * compute masked entries too (their probabilities are 0), which costs up to 2× the FLOPs of a
 * causal kernel but runs on the fast matmul.
 */
export function attentionForward(be: Backend, src: Projections, a: AttentionBuffers, keyMask: Tensor): void {
  const [B, , T, D] = a.q.shape as [number, number, number, number];
  gatherHeads(be.view(src.q, 0, [B, T, src.qWidth]), src.qCol, a.q);
  gatherHeads(be.view(src.k, 0, [B, T, src.kvWidth]), src.kCol, a.k);
  gatherHeads(be.view(src.v, 0, [B, T, src.kvWidth]), src.vCol, a.v);
  const g = groupedViews(be, a.q, a.k);
  matmul(g.rows(a.q), g.kv(a.k), { transB: true, alpha: 1 / Math.sqrt(D), out: g.rows(a.scores) });
  causalSoftmax(a.scores, keyMask, a.probs);
  matmul(g.rows(a.probs), g.kv(a.v), { out: g.rows(a.yHeads) });
  scatterHeads(a.yHeads, be.view(a.out, 0, [B, T, a.out.shape[1]!]), 0);
}

/** Writes ∂L/∂q, k, v into dst's buffers at their columns (overwriting them) from dOut, using the forward's heads and probs. */
export function attentionBackward(be: Backend, a: AttentionBuffers, g: AttentionGradBuffers, dst: Projections): void {
  const [B, , T, D] = a.q.shape as [number, number, number, number];
  const scale = 1 / Math.sqrt(D);
  const v = groupedViews(be, a.q, a.k);
  gatherHeads(be.view(g.dOut, 0, [B, T, g.dOut.shape[1]!]), 0, g.dYHeads);
  matmul(v.rows(g.dYHeads), v.kv(a.v), { transB: true, out: v.rows(g.dProbs) });
  matmul(v.rows(a.probs), v.rows(g.dYHeads), { transA: true, out: v.kv(g.dv) });
  causalSoftmaxBackward(g.dProbs, a.probs, g.dScores);
  matmul(v.rows(g.dScores), v.kv(a.k), { alpha: scale, out: v.rows(g.dq) });
  matmul(v.rows(g.dScores), v.rows(a.q), { transA: true, alpha: scale, out: v.kv(g.dk) });
  scatterHeads(g.dq, be.view(dst.q, 0, [B, T, dst.qWidth]), dst.qCol);
  scatterHeads(g.dk, be.view(dst.k, 0, [B, T, dst.kvWidth]), dst.kCol);
  scatterHeads(g.dv, be.view(dst.v, 0, [B, T, dst.kvWidth]), dst.vCol);
}
