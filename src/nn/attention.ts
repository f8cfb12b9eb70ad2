import type { Backend, Tensor } from '../backend/backend.js';
import { causalSoftmax, causalSoftmaxBackward, gatherHeads, scatterHeads } from '../ops/attention.js';
import { matmul } from '../ops/core.js';

/** The tensors of one attention call: B, T, H from the shapes of q ([B, H, T, D]). */
export interface AttentionBuffers {
  /** [B·T, 3C]: q, k and v side by side (c_attn's output). */
  qkv: Tensor;
  q: Tensor; k: Tensor; v: Tensor;
  /** Scores and probabilities [B, H, T, T]. */
  scores: Tensor;
  probs: Tensor;
  /** Head outputs [B, H, T, D]. */
  yHeads: Tensor;
  /** [B·T, C]: heads merged. */
  out: Tensor;
}

export interface AttentionGradBuffers {
  /** [B·T, C] in, [B·T, 3C] out. */
  dOut: Tensor;
  dQkv: Tensor;
  dq: Tensor; dk: Tensor; dv: Tensor;
  dYHeads: Tensor;
  dProbs: Tensor;
  dScores: Tensor;
}

/**
 * Causal multi-head self-attention with a key-padding mask, composed from backend ops:
 * split heads, scores = q·kᵀ/√D (a batched matmul over B·H), masked softmax,
 * y = probs·v, merge heads. The matmuls compute masked entries too (their probabilities
 * are 0), which costs up to 2× the FLOPs of a causal kernel but runs on the fast matmul.
 */
export function attentionForward(be: Backend, a: AttentionBuffers, keyMask: Tensor): void {
  const [B, H, T, D] = a.q.shape as [number, number, number, number];
  const C = H * D;
  const qkv = be.view(a.qkv, 0, [B, T, 3 * C]);
  gatherHeads(qkv, 0, a.q);
  gatherHeads(qkv, C, a.k);
  gatherHeads(qkv, 2 * C, a.v);
  matmul(a.q, a.k, { transB: true, alpha: 1 / Math.sqrt(D), out: a.scores });
  causalSoftmax(a.scores, keyMask, a.probs);
  matmul(a.probs, a.v, { out: a.yHeads });
  scatterHeads(a.yHeads, be.view(a.out, 0, [B, T, C]), 0);
}

/** Writes dQkv (overwriting it) from dOut, using the forward's q, k, v and probs. */
export function attentionBackward(be: Backend, a: AttentionBuffers, g: AttentionGradBuffers): void {
  const [B, H, T, D] = a.q.shape as [number, number, number, number];
  const C = H * D;
  const scale = 1 / Math.sqrt(D);
  gatherHeads(be.view(g.dOut, 0, [B, T, C]), 0, g.dYHeads);
  matmul(g.dYHeads, a.v, { transB: true, out: g.dProbs });
  matmul(a.probs, g.dYHeads, { transA: true, out: g.dv });
  causalSoftmaxBackward(g.dProbs, a.probs, g.dScores);
  matmul(g.dScores, a.k, { alpha: scale, out: g.dq });
  matmul(g.dScores, a.q, { transA: true, alpha: scale, out: g.dk });
  const dQkv = be.view(g.dQkv, 0, [B, T, 3 * C]);
  scatterHeads(g.dq, dQkv, 0);
  scatterHeads(g.dk, dQkv, C);
  scatterHeads(g.dv, dQkv, 2 * C);
}
