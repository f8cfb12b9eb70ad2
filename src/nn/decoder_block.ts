// One transformer block of any family, forward and backward, composed from ops: pre-norm
// attention and MLP with residual adds. Training attends over the whole batch; incremental
// decoding attends against a KV cache — the caller passes the attention.
import type { Backend, Tensor } from '../backend/backend.js';
import { gelu, geluBackward, swiglu, swigluBackward } from '../ops/activations.js';
import { rotaryEmbedding } from '../ops/attention.js';
import type { BlockActivations, BlockGradients, BlockTensors, Projections } from './activations.js';
import type { Architecture } from './architecture.js';
import { attentionBackward } from './attention.js';
import type { BlockRefs, NormRef } from './decoder_tensors.js';
import { linear, linearBackward, norm, normBackward, type Gradients, type NormStats, type Weights } from './linear.js';
import type { LowRankUpdate } from './lora/lora_adapter.js';

/** Rotary positions of the tokens in flight: positions [N] and the cos/sin tables [P, D/2]. */
export interface RotaryInputs {
  positions: Tensor;
  cos: Tensor;
  sin: Tensor;
}

export interface BlockContext {
  backend: Backend;
  arch: Architecture;
  w: Weights;
  rotary: RotaryInputs | undefined;
  /** The model's LoRA adapter, when it has one (enabled or not). */
  lora: LowRankUpdate | undefined;
}

/** Attention of the block's q, k, v (token-major) into attnOut [N, H·D]. */
export type Attend = (proj: Projections, attnOut: Tensor) => void;

/** out = block(input): the residual stream after attention and the MLP. */
export function blockForward(c: BlockContext, ref: BlockRefs, input: Tensor, t: BlockTensors, out: Tensor, attend: Attend): void {
  const { arch: a, w, backend: be } = c;
  norm(w, input, ref.attnNorm, t.ln1, t.ln1Stats, a.normEps);
  projectQKV(c, ref, t.ln1, t.proj);
  attend(t.proj, t.attnOut);
  // Residual adds ride on matmul's accumulate: copy the stream, then add the projection.
  be.copy(input, t.mid);
  linear(w, t.attnOut, ref.o, t.mid, true, c.lora);
  norm(w, t.mid, ref.mlpNorm, t.ln2, t.ln2Stats, a.normEps);
  linear(w, t.ln2, ref.up, t.up, false, c.lora);
  if (ref.gate) {
    linear(w, t.ln2, ref.gate, t.gate!, false, c.lora);
    swiglu(t.gate!, t.up, t.act);
  } else {
    gelu(t.up, t.act);
  }
  be.copy(t.mid, out);
  linear(w, t.act, ref.down, out, true, c.lora);
}

/** Rows of width head_dim: how the per-head norms see a token-major [N, heads·D] buffer. */
const perHead = (be: Backend, t: Tensor, D: number) => be.view(t, 0, [t.size / D, D]);

function headNorm(c: BlockContext, ref: NormRef, x: Tensor, out: Tensor, stats: NormStats): void {
  const D = c.arch.headDim;
  norm(c.w, perHead(c.backend, x, D), ref, perHead(c.backend, out, D), stats, c.arch.normEps);
}

/** q, k, v of the normed input: projected, per-head normed (Qwen3) and rotated (rotary models). */
function projectQKV(c: BlockContext, ref: BlockRefs, x: Tensor, p: Projections): void {
  const w = c.w;
  if ('fused' in ref.qkv) {
    linear(w, x, ref.qkv.fused, p.q, false, c.lora);
    return;
  }
  linear(w, x, ref.qkv.q, p.qPre ?? p.q, false, c.lora);
  linear(w, x, ref.qkv.k, p.kPre ?? p.k, false, c.lora);
  linear(w, x, ref.qkv.v, p.v, false, c.lora);
  if (ref.qNorm && ref.kNorm) {
    headNorm(c, ref.qNorm, p.qPre!, p.q, p.qStats!);
    headNorm(c, ref.kNorm, p.kPre!, p.k, p.kStats!);
  }
  if (c.rotary) {
    const { positions, cos, sin } = c.rotary;
    rotaryEmbedding(p.q, positions, cos, sin, p.q);
    rotaryEmbedding(p.k, positions, cos, sin, p.k);
  }
}

/**
 * The backward of blockForward in training. On entry g.dResidual holds ∂L/∂(block output); on
 * return ∂L/∂(block input). Weight gradients are added through `grad`.
 */
export function blockBackward(c: BlockContext, grad: Gradients, ref: BlockRefs, blk: BlockActivations, g: BlockGradients, scratch: { scores: Tensor; yHeads: Tensor }): void {
  const { w, backend: be } = c;
  const dres = g.dResidual;
  linearBackward(w, grad, blk.act, dres, ref.down, g.dAct, false, c.lora);
  if (ref.gate) {
    swigluBackward(g.dAct, blk.gate!, blk.up, g.dGate!, g.dUp);
    linearBackward(w, grad, blk.ln2, g.dGate!, ref.gate, g.dLn, false, c.lora);
    linearBackward(w, grad, blk.ln2, g.dUp, ref.up, g.dLn, true, c.lora);
  } else {
    geluBackward(g.dAct, blk.up, g.dUp);
    linearBackward(w, grad, blk.ln2, g.dUp, ref.up, g.dLn, false, c.lora);
  }
  normBackward(w, grad, g.dLn, blk.mid, ref.mlpNorm, blk.ln2Stats, dres);
  // dres is now ∂L/∂mid, and becomes ∂L/∂input.
  linearBackward(w, grad, blk.attnOut, dres, ref.o, g.dAttnOut, false, c.lora);
  attentionBackward(
    be,
    { q: blk.q, k: blk.k, v: blk.v, scores: scratch.scores, probs: blk.probs, yHeads: scratch.yHeads, out: blk.attnOut },
    { dOut: g.dAttnOut, dq: g.dq, dk: g.dk, dv: g.dv, dYHeads: scratch.yHeads, dProbs: g.dProbs, dScores: g.dScores },
    g.dProj,
  );
  qkvBackward(c, grad, ref, blk.ln1, blk.proj, g.dProj, g.dLn);
  normBackward(w, grad, g.dLn, blk.input, ref.attnNorm, blk.ln1Stats, dres);
}

/** From ∂L/∂(q, k, v) in dp (overwritten on the way): the projections' gradients and ∂L/∂x into dx. */
function qkvBackward(c: BlockContext, grad: Gradients, ref: BlockRefs, x: Tensor, p: Projections, dp: Projections, dx: Tensor): void {
  const { w, backend: be } = c;
  if ('fused' in ref.qkv) {
    linearBackward(w, grad, x, dp.q, ref.qkv.fused, dx, false, c.lora);
    return;
  }
  if (c.rotary) {
    // A rotation's transpose is its inverse.
    const { positions, cos, sin } = c.rotary;
    rotaryEmbedding(dp.q, positions, cos, sin, dp.q, { inverse: true });
    rotaryEmbedding(dp.k, positions, cos, sin, dp.k, { inverse: true });
  }
  if (ref.qNorm && ref.kNorm) {
    const D = c.arch.headDim;
    for (const [nref, d, pre, dPre, stats] of [[ref.qNorm, dp.q, p.qPre!, dp.qPre!, p.qStats!], [ref.kNorm, dp.k, p.kPre!, dp.kPre!, p.kStats!]] as const) {
      be.zero(dPre);
      normBackward(w, grad, perHead(be, d, D), perHead(be, pre, D), nref, stats, perHead(be, dPre, D));
    }
  }
  linearBackward(w, grad, x, dp.qPre ?? dp.q, ref.qkv.q, dx, false, c.lora);
  linearBackward(w, grad, x, dp.kPre ?? dp.k, ref.qkv.k, dx, true, c.lora);
  linearBackward(w, grad, x, dp.v, ref.qkv.v, dx, true, c.lora);
}
