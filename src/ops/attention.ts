// Attention's pieces: the head split and merge (pure permutes, also appending to a KV cache),
// the causal softmax with its backward, rotary position embedding (Llama's positions), and
// attention of new queries against a KV cache (kernels/attention.wgsl, rotary.wgsl,
// cached_attention.wgsl; wasm/attention.ts, rotary.ts, cached_attention.ts).
// Training composes attention from these and batched matmuls (src/nn/attention.ts).
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import { fmt } from '../backend/shapes.js';
import type { Tensor } from '../backend/tensor.js';
import { ROW_WG } from '../backend/webgpu/gpu_kernels.js';
import { expectShape, kernelsOf, noAlias, rowsOf } from './checks.js';

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
  /** Query heads. */
  H: number;
  /** Key/value heads of the cache: H for multi-head attention, a divisor of H for grouped-query. */
  Hkv: number;
  D: number;
  S: number;
  /** Row width of qkv. */
  W: number;
  start: number;
}

/** Widest attention head cachedAttention takes (each WGSL invocation keeps D/64 accumulators). */
export const MAX_CACHED_HEAD_DIM = 256;

interface SoftmaxRows {
  B: number;
  H: number;
  T: number;
}

/** Shapes of rotaryEmbedding: N rows of W = heads × 2·half values, tables of P rows. */
interface RotaryPlan {
  x: Tensor;
  positions: Tensor;
  cosTable: Tensor;
  sinTable: Tensor;
  out: Tensor;
  N: number;
  W: number;
  half: number;
  P: number;
  /** 1, or −1 for the inverse rotation. */
  sign: number;
}

export interface RotaryOptions {
  /** Rotate by −angle (the transpose): the backward of the forward rotation. */
  inverse?: boolean;
}

export interface AttentionKernels {
  gather_heads(p: HeadsGeometry & { src: Tensor; dst: Tensor }): void;
  scatter_heads(p: HeadsGeometry & { src: Tensor; dst: Tensor }): void;
  causal_softmax(p: SoftmaxRows & { scores: Tensor; keyMask: Tensor; probs: Tensor }): void;
  causal_softmax_backward(p: SoftmaxRows & { dprobs: Tensor; probs: Tensor; dscores: Tensor }): void;
  rotary_embedding(p: RotaryPlan): void;
  cached_attention(p: CachedAttentionGeometry & { qkv: Tensor; kCache: Tensor; vCache: Tensor; keyMask: Tensor; out: Tensor }): void;
}

/** Invocations per workgroup of rotary.wgsl (one rotated pair each). */
const ROTARY_WG = 64;

/** Below this many elements a row-wise WASM kernel runs on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

export const attentionFamily = opFamily<AttentionKernels>('attention', {
  webgpu: (gpu) => {
    const heads = (op: string, entry: string) => ({ src, dst, B, T, H, D, W, col, S, t0 }: HeadsGeometry & { src: Tensor; dst: Tensor }) => {
      const grid = gpu.grid(B * T);
      gpu.dispatch(op, entry, { src, dst }, { B, T, H, D, W, col, gridX: grid[0], t0, S }, grid);
    };
    /** A causal-softmax kernel over B·H·T rows, in the row strategy rowKernels picks for T. */
    const softmax = (op: string, entry: string, bindings: Record<string, Tensor>, { B, H, T }: SoftmaxRows) => {
      const rows = gpu.rowPerInvocation(T);
      const grid = gpu.grid(rows ? Math.ceil((B * H * T) / ROW_WG) : B * H * T);
      gpu.dispatch(op, rows ? `${entry}__rows` : entry, bindings, { B, T, H, gridX: grid[0] }, grid);
    };
    return {
      gather_heads: heads('gatherHeads', 'gather_heads'),
      scatter_heads: heads('scatterHeads', 'scatter_heads'),
      causal_softmax: ({ scores, keyMask, probs, ...g }) => softmax('causalSoftmax', 'causal_softmax', { scores, keyMask, probs }, g),
      // The backward reads probs through its own (read-only) binding, probsIn.
      causal_softmax_backward: ({ dprobs, probs, dscores, ...g }) => softmax('causalSoftmaxBackward', 'causal_softmax_backward', { dprobs, probsIn: probs, dscores }, g),
      rotary_embedding({ x, positions, cosTable, sinTable, out, N, W, half, P, sign }) {
        const pairs = (N * W) / 2;
        const grid = gpu.grid(Math.ceil(pairs / ROTARY_WG));
        const params = { pairs, W, half, P, gridX: grid[0], sign };
        // In place, the kernel reads and writes `out` alone (WebGPU binds a buffer once per dispatch).
        if (out === x) gpu.dispatch('rotaryEmbedding', 'rotary_embedding__into', { positions, cosTable, sinTable, out }, params, grid);
        else gpu.dispatch('rotaryEmbedding', 'rotary_embedding', { x, positions, cosTable, sinTable, out }, params, grid);
      },
      cached_attention({ qkv, kCache, vCache, keyMask, out, B, T, H, Hkv, D, S, W, start }) {
        const grid = gpu.grid(B * T * H);
        const params = { B, T, H, Hkv, D, S, W, start, gridX: grid[0], scale: 1 / Math.sqrt(D) };
        gpu.dispatch('cachedAttention', 'cached_attention', { qkv, kCache, vCache, keyMask, out }, params, grid);
      },
    };
  },
  wasm: (cpu) => ({
    gather_heads: (p) => cpu.call('gather_heads', p),
    // The merge writes whole rows of its [B, T, W] side: it has no cache offset.
    scatter_heads: ({ src, dst, B, T, H, D, W, col }) => cpu.call('scatter_heads', { src, dst, B, T, H, D, W, col }),
    causal_softmax: (p) => cpu.split('causal_softmax', p, { rows: p.B * p.H * p.T, work: p.scores.size, minWork: PARALLEL_MIN_ELEMENTS }),
    causal_softmax_backward: (p) => cpu.split('causal_softmax_backward', p, { rows: p.B * p.H * p.T, work: p.probs.size, minWork: PARALLEL_MIN_ELEMENTS }),
    rotary_embedding: (p) => cpu.call('rotary_embedding', p),
    cached_attention: (p) =>
      cpu.split('cached_attention', p, { rows: p.B * p.T * p.H, work: p.B * p.H * (p.start + p.T) * p.D * p.T, minWork: PARALLEL_MIN_ELEMENTS }),
  }),
});

/**
 * dst[b, h, t, d] = src[b, t, col + h·D + d]: one [B, T, H·D] block of src split into heads.
 * With `time`, dst is [B, H, S, D] and src's T rows land at time..time+T (appending to a
 * KV cache); dst's other rows are kept.
 */
export function gatherHeads(src: Tensor, col: number, dst: Tensor, time?: number): void {
  const k = kernelsOf('gatherHeads', attentionFamily, src, dst);
  const g = headsGeometry('gatherHeads', src, dst, col, time);
  noAlias('gatherHeads', [dst], [src]);
  k.gather_heads({ src, dst, ...g });
}

/** dst[b, t, col + h·D + d] = src[b, h, t, d]; dst's other columns are left as they are. */
export function scatterHeads(src: Tensor, dst: Tensor, col: number): void {
  const k = kernelsOf('scatterHeads', attentionFamily, src, dst);
  const g = headsGeometry('scatterHeads', dst, src, col);
  noAlias('scatterHeads', [dst], [src]);
  k.scatter_heads({ src, dst, ...g });
}

/**
 * Row softmax of attention scores [B, H, T, T] (query × key) where query i sees key j only
 * if j ≤ i and keyMask[b, j] = 1 (keyMask [B, T]: 1 real token, 0 padding). Hidden keys get
 * probability 0; a query that sees no key gets a row of zeros.
 */
export function causalSoftmax(scores: Tensor, keyMask: Tensor, probs: Tensor): void {
  const k = kernelsOf('causalSoftmax', attentionFamily, scores, keyMask, probs);
  const [B, H, T] = attentionShape('causalSoftmax', scores);
  expectShape('causalSoftmax', 'keyMask', keyMask, [B, T]);
  expectShape('causalSoftmax', 'probs', probs, scores.shape);
  noAlias('causalSoftmax', [probs], [scores, keyMask]);
  k.causal_softmax({ scores, keyMask, probs, B, H, T });
}

/** dscores = probs ⊙ (dprobs − Σⱼ probs·dprobs) per row (overwrites dscores). */
export function causalSoftmaxBackward(dprobs: Tensor, probs: Tensor, dscores: Tensor): void {
  const k = kernelsOf('causalSoftmaxBackward', attentionFamily, dprobs, probs, dscores);
  const [B, H, T] = attentionShape('causalSoftmaxBackward', probs);
  expectShape('causalSoftmaxBackward', 'dprobs', dprobs, probs.shape);
  expectShape('causalSoftmaxBackward', 'dscores', dscores, probs.shape);
  noAlias('causalSoftmaxBackward', [dscores], [dprobs, probs]);
  k.causal_softmax_backward({ dprobs, probs, dscores, B, H, T });
}

/**
 * Rotary position embedding, Hugging Face's rotate-half convention, on x [N, W] token-major
 * (W = heads × D, D = 2·cos.shape[1]): with p = positions[n], c = cos[p, i], s = sin[p, i],
 * the pair x₁ = x[n, h·D + i], x₂ = x[n, h·D + i + D/2] of every head h becomes
 * (x₁·c − x₂·s, x₂·c + x₁·s). `inverse` rotates by −angle, the transpose, so the backward is
 * dx = rotaryEmbedding(dout, …, { inverse: true }). positions [N] are integers as f32, below
 * P = cos.shape[0]; check them on the host (checkRotaryPositions): the kernels clamp a bad
 * one into the tables. cos, sin [P, D/2] (rotaryTables). out [N, W] may be x itself.
 */
export function rotaryEmbedding(x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, out: Tensor, options: RotaryOptions = {}): void {
  const op = 'rotaryEmbedding';
  const k = kernelsOf(op, attentionFamily, x, positions, cos, sin, out);
  const [N, W] = rowsOf(op, 'x', x);
  if (cos.shape.length !== 2 || cos.shape[1] === 0) throw new ShapeError(`${op}: cos has shape ${fmt(cos.shape)}, expected [P, D/2]`);
  const [P, half] = cos.shape as [number, number];
  expectShape(op, 'sin', sin, cos.shape);
  if (W % (2 * half) !== 0) throw new ShapeError(`${op}: rows of ${W} values do not split into heads of D = 2·${half} = ${2 * half} (cos has shape ${fmt(cos.shape)})`);
  expectShape(op, 'positions', positions, [N]);
  expectShape(op, 'out', out, x.shape);
  // In place is fine (out is x itself); another view of x's storage is not.
  noAlias(op, [out], out === x ? [positions, cos, sin] : [x, positions, cos, sin]);
  k.rotary_embedding({ x, positions, cosTable: cos, sinTable: sin, out, N, W, half, P, sign: options.inverse ? -1 : 1 });
}

/**
 * Attention of T new queries against a key/value cache (incremental decoding):
 * out[b, i, h·D + d] = Σⱼ pⱼ·v[b, g, j, d], p = softmax over the keys j ≤ start + i with
 * keyMask[b, j] = 1 of q·k[b, g, j]/√D, q = qkv[b, i, h·D : (h+1)·D], where g = ⌊h / (H/Hkv)⌋
 * is the KV head serving query head h (Hugging Face's repeat_kv order: KV head g serves query
 * heads g·H/Hkv … (g+1)·H/Hkv − 1). out [B, T, H·D] gives H; kCache and vCache [B, Hkv, S, D]
 * (Hkv = H: multi-head attention; a divisor of H: grouped-query) hold keys 0..start+T−1 (write
 * them with gatherHeads(…, time) first); qkv is [B, T, W ≥ H·D] (a q buffer, or c_attn's
 * output: only its first H·D columns are read); keyMask [B, S]. A query that sees no key gets
 * zeros.
 */
export function cachedAttention(qkv: Tensor, kCache: Tensor, vCache: Tensor, keyMask: Tensor, start: number, out: Tensor): void {
  const op = 'cachedAttention';
  const k = kernelsOf(op, attentionFamily, qkv, kCache, vCache, keyMask, out);
  if (kCache.shape.length !== 4) throw new ShapeError(`${op}: kCache has shape ${fmt(kCache.shape)}, expected [B, Hkv, S, D]`);
  const [B, Hkv, S, D] = kCache.shape as [number, number, number, number];
  if (out.shape.length !== 3 || out.shape[0] !== B || D === 0 || out.shape[2]! % D !== 0 || out.shape[2] === 0) {
    throw new ShapeError(`${op}: out has shape ${fmt(out.shape)}, expected [${B}, T, H·${D}] (heads of ${D}, as the cache ${fmt(kCache.shape)} holds)`);
  }
  const [T, H] = [out.shape[1]!, out.shape[2]! / D];
  if (H % Hkv !== 0) {
    throw new ShapeError(`${op}: the cache's ${Hkv} key/value heads do not divide the ${H} query heads of out ${fmt(out.shape)}; grouped-query attention needs H a multiple of Hkv`);
  }
  if (qkv.shape.length !== 3 || qkv.shape[0] !== B || qkv.shape[1] !== T || qkv.shape[2]! < H * D) {
    throw new ShapeError(`${op}: qkv has shape ${fmt(qkv.shape)}, expected [${B}, ${T}, W ≥ ${H * D}]`);
  }
  expectShape(op, 'vCache', vCache, kCache.shape);
  expectShape(op, 'keyMask', keyMask, [B, S]);
  if (D > MAX_CACHED_HEAD_DIM) {
    throw new ShapeError(`${op}: heads of ${D} dimensions exceed the kernels' ${MAX_CACHED_HEAD_DIM}; use more heads (n_head ≥ n_embd / ${MAX_CACHED_HEAD_DIM})`);
  }
  if (!Number.isInteger(start) || start < 0 || start + T > S) {
    throw new ShapeError(`${op}: queries at ${start}..${start + T} do not fit a cache of ${S} positions`);
  }
  noAlias(op, [out], [qkv, kCache, vCache, keyMask]);
  k.cached_attention({ qkv, kCache, vCache, keyMask, out, B, T, H, Hkv, D, S, W: qkv.shape[2]!, start });
}

/**
 * [B, T, W] with a column block at `col` against heads [B, H, T, D], or, given `time`,
 * against time rows time..time+T of heads [B, H, S, D] (a KV cache).
 */
function headsGeometry(op: string, wide: Tensor, heads: Tensor, col: number, time?: number): HeadsGeometry {
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

function attentionShape(op: string, t: Tensor): [number, number, number] {
  if (t.shape.length !== 4 || t.shape[2] !== t.shape[3]) throw new ShapeError(`${op}: scores have shape ${fmt(t.shape)}, expected [B, H, T, T]`);
  return [t.shape[0]!, t.shape[1]!, t.shape[2]!];
}
