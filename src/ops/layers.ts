// The transformer layer ops, llm.c style (each forward with an explicit backward): token and
// position embeddings with their scatter-add backward, LayerNorm (GPT-2's), RMSNorm (Llama's),
// and the fused softmax + cross-entropy of the LM head (kernels/embedding.wgsl,
// layernorm.wgsl, rmsnorm.wgsl, crossentropy.wgsl; wasm/embedding.ts, layernorm.ts, rmsnorm.ts,
// crossentropy.ts).
//
// Integer inputs (token ids, positions, targets, row indices) travel as f32 tensors: every
// integer below 2^24 is exact in f32, and one dtype keeps both backends simple.
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import { fmt } from '../backend/shapes.js';
import type { Tensor } from '../backend/tensor.js';
import { LOOP_CHUNK, ROW_WG, chunks, type RowWindows } from '../backend/webgpu/gpu_kernels.js';
import { DTYPE_CODES } from '../backend/dtype.js';
import { backendWithWeights, expectShape, kernelsOf, noAlias, rowsOf } from './checks.js';
import { logprobScale, type LogprobOptions } from './sampling.js';

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

interface LayerNormPlan {
  x: Tensor;
  weight: Tensor;
  bias: Tensor;
  out: Tensor;
  mean: Tensor;
  rstd: Tensor;
  N: number;
  C: number;
  eps: number;
}

interface LayerNormBackwardPlan {
  dout: Tensor;
  x: Tensor;
  weight: Tensor;
  mean: Tensor;
  rstd: Tensor;
  dx: Tensor;
  dweight: Tensor;
  dbias: Tensor;
  N: number;
  C: number;
}

interface RMSNormPlan {
  x: Tensor;
  weight: Tensor;
  out: Tensor;
  rstd: Tensor;
  N: number;
  C: number;
  eps: number;
}

interface RMSNormBackwardPlan {
  dout: Tensor;
  x: Tensor;
  weight: Tensor;
  rstd: Tensor;
  dx: Tensor;
  dweight: Tensor;
  N: number;
  C: number;
}

interface CrossEntropyPlan {
  logits: Tensor;
  targets: Tensor;
  weights: Tensor;
  losses: Tensor;
  dlogits: Tensor | undefined;
  N: number;
  V: number;
  scale: number;
}

/** The kernels of the layer family, named as the WGSL entry points and WASM exports are. */
export interface LayerKernels {
  embedding(p: { ids: Tensor; pos: Tensor; wte: Tensor; wpe: Tensor; out: Tensor; N: number; C: number; V: number; P: number }): void;
  gather_rows(p: { table: Tensor; index: Tensor; out: Tensor; N: number; C: number; V: number }): void;
  scatter_add_rows(p: { src: Tensor; index: RowIndex; dst: Tensor; C: number; R: number; V: number }): void;
  layernorm(p: LayerNormPlan): void;
  layernorm_backward(p: LayerNormBackwardPlan): void;
  rms_norm(p: RMSNormPlan): void;
  rms_norm_backward(p: RMSNormBackwardPlan): void;
  softmax_crossentropy(p: CrossEntropyPlan): void;
}

/** The uniforms of embedding.wgsl that place a window of the table: its rows lo..hi, bound from element base. */
function tableWindow(w: RowWindows): { lo: number; hi: number; base: number } {
  return { lo: w.start, hi: w.start + w.count, base: w.base };
}

/** Invocations per workgroup of the column kernels (scatter-add, the norms' dweight and dbias). */
const COLUMN_WG = 64;
/** Below this many elements a row-wise WASM kernel runs on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

export const layerFamily = opFamily<LayerKernels>('layers', {
  // A table larger than one binding (a vocabulary's embedding, its gradient) is taken in
  // windows of rows, one dispatch each; each serves only the ids that fall in it.
  webgpu: (gpu) => ({
    embedding({ ids, pos, wte, wpe, out, N, C, V, P }) {
      const grid = gpu.grid(N);
      for (const w of gpu.rowWindows('embedding', V, C, [wte])) {
        gpu.dispatch('embedding', 'embedding', { ids, pos, table: w.tensors[0]!, wpe, out }, { rows: N, C, V, P, gridX: grid[0], ...tableWindow(w) }, grid, { TABLE_DTYPE: DTYPE_CODES[wte.dtype], WPE_DTYPE: DTYPE_CODES[wpe.dtype] });
      }
    },
    gather_rows({ table, index, out, N, C, V }) {
      const grid = gpu.grid(N);
      for (const w of gpu.rowWindows('gatherRows', V, C, [table])) {
        gpu.dispatch('gatherRows', 'gather_rows', { ids: index, table: w.tensors[0]!, out }, { rows: N, C, V, gridX: grid[0], ...tableWindow(w) }, grid, { TABLE_DTYPE: DTYPE_CODES[table.dtype] });
      }
    },
    scatter_add_rows({ src, index, dst, C, V }) {
      // One workgroup per (group, 64 columns). No group has more rows than order holds, so
      // windows of LOOP_CHUNK rows per group, one dispatch each, cover every group (one window
      // unless there are more rows than that: the loop limit of llvmpipe).
      const colBlocks = Math.ceil(C / COLUMN_WG);
      const grid = gpu.grid(index.groups * colBlocks);
      for (const w of gpu.rowWindows('scatterAddRows', V, C, [dst])) {
        const bindings = { table: src, order: index.order, starts: index.starts, targets: index.targets, out: w.tensors[0]! };
        for (const [first] of chunks(Math.max(1, index.order.size), LOOP_CHUNK)) {
          gpu.dispatch('scatterAddRows', 'scatter_add_rows', bindings, { rows: index.groups, C, V, gridX: grid[0], colBlocks, first, count: LOOP_CHUNK, ...tableWindow(w) }, grid);
        }
      }
    },
    layernorm({ x, weight, bias, out, mean, rstd, N, C, eps }) {
      const rows = gpu.rowPerInvocation(C);
      const grid = gpu.grid(rows ? Math.ceil(N / ROW_WG) : N);
      gpu.dispatch('layerNorm', rows ? 'layernorm__rows' : 'layernorm', { x, weight, bias, out, mean_out: mean, rstd_out: rstd }, { N, C, gridX: grid[0], eps }, grid);
    },
    layernorm_backward({ dout, x, weight, mean, rstd, dx, dweight, dbias, N, C }) {
      const rows = gpu.rowPerInvocation(C);
      const grid = gpu.grid(rows ? Math.ceil(N / ROW_WG) : N);
      gpu.dispatch('layerNormBackward', rows ? 'layernorm_backward__dx_rows' : 'layernorm_backward__dx', { x, weight, dout, mean, rstd, dx }, { N, C, gridX: grid[0] }, grid);
      // dweight and dbias may be views of one buffer: both are read_write bindings, which WebGPU
      // allows. One dispatch per chunk of rows, each adding in turn (the loop limit of llvmpipe).
      const columns = gpu.grid(Math.ceil(C / COLUMN_WG));
      for (const [rowStart, rowCount] of chunks(N, LOOP_CHUNK)) {
        gpu.dispatch('layerNormBackward', 'layernorm_backward__params', { x, dout, mean, rstd, dweight, dbias }, { C, gridX: columns[0], rowStart, rowCount }, columns);
      }
    },
    rms_norm({ x, weight, out, rstd, N, C, eps }) {
      const rows = gpu.rowPerInvocation(C);
      const grid = gpu.grid(rows ? Math.ceil(N / ROW_WG) : N);
      gpu.dispatch('rmsNorm', rows ? 'rms_norm__rows' : 'rms_norm', { x, weight, out, rstd_out: rstd }, { N, C, gridX: grid[0], eps }, grid);
    },
    rms_norm_backward({ dout, x, weight, rstd, dx, dweight, N, C }) {
      const rows = gpu.rowPerInvocation(C);
      const grid = gpu.grid(rows ? Math.ceil(N / ROW_WG) : N);
      gpu.dispatch('rmsNormBackward', rows ? 'rms_norm_backward__dx_rows' : 'rms_norm_backward__dx', { x, weight, dout, rstd, dx }, { N, C, gridX: grid[0] }, grid);
      // One dispatch per chunk of rows, each adding in turn (the loop limit of llvmpipe).
      const columns = gpu.grid(Math.ceil(C / COLUMN_WG));
      for (const [rowStart, rowCount] of chunks(N, LOOP_CHUNK)) {
        gpu.dispatch('rmsNormBackward', 'rms_norm_backward__weight', { x, dout, rstd, dweight }, { C, gridX: columns[0], rowStart, rowCount }, columns);
      }
    },
    softmax_crossentropy({ logits, targets, weights, losses, dlogits, N, V, scale }) {
      // Logits larger than one binding run in blocks of rows.
      for (const w of gpu.rowWindows('softmaxCrossEntropy', N, V, dlogits ? [logits, dlogits] : [logits])) {
        const grid = gpu.grid(w.count);
        // Without dlogits the kernel never reaches its binding (HAS_DLOGITS off).
        gpu.dispatch(
          'softmaxCrossEntropy', 'softmax_crossentropy', { logits: w.tensors[0]!, targets, weights, losses, dlogits: w.tensors[1] ?? gpu.unused },
          { N: w.count, V, gridX: grid[0], scale, rowStart: w.start, base: w.base }, grid, { HAS_DLOGITS: Number(!!dlogits) },
        );
      }
    },
  }),
  wasm: (cpu) => ({
    ...cpu.direct<LayerKernels>(['layernorm', 'rms_norm']),
    embedding: (p) => cpu.call('embedding', { ...p, wteType: DTYPE_CODES[p.wte.dtype], wpeType: DTYPE_CODES[p.wpe.dtype] }),
    gather_rows: (p) => cpu.call('gather_rows', { ...p, tableType: DTYPE_CODES[p.table.dtype] }),
    scatter_add_rows: ({ src, index, dst, C, R, V }) =>
      cpu.call('scatter_add_rows', { src, order: index.order, starts: index.starts, targets: index.targets, dst, groups: index.groups, C, R, V }),
    // dweight and dbias sum in f64 in scratch space (2·C f64).
    layernorm_backward: (p) => cpu.call('layernorm_backward', { ...p, scratch: cpu.workspace(p.C * 16) }),
    // dweight sums in f64 in scratch space (C f64).
    rms_norm_backward: (p) => cpu.call('rms_norm_backward', { ...p, scratch: cpu.workspace(p.C * 8) }),
    softmax_crossentropy: (p) => cpu.split('softmax_crossentropy', p, { rows: p.N, work: p.N * p.V, minWork: PARALLEL_MIN_ELEMENTS }),
  }),
});

/**
 * out[n] = wte[ids[n]] + wpe[pos[n]]. ids [N], pos [N], wte [V, C], wpe [P, C], out [N, C].
 * The tables may be stored in bf16 or f16 (frozen weights).
 */
export function embedding(ids: Tensor, pos: Tensor, wte: Tensor, wpe: Tensor, out: Tensor): void {
  const k = backendWithWeights('embedding', { wte, wpe }, ids, pos, out).kernels(layerFamily, 'embedding');
  const [N, C] = rowsOf('embedding', 'out', out);
  expectShape('embedding', 'ids', ids, [N]);
  expectShape('embedding', 'pos', pos, [N]);
  if (wte.shape.length !== 2 || wte.shape[1] !== C) throw new ShapeError(`embedding: wte has shape ${fmt(wte.shape)}, expected [V, ${C}]`);
  if (wpe.shape.length !== 2 || wpe.shape[1] !== C) throw new ShapeError(`embedding: wpe has shape ${fmt(wpe.shape)}, expected [P, ${C}]`);
  noAlias('embedding', [out], [ids, pos, wte, wpe]);
  k.embedding({ ids, pos, wte, wpe, out, N, C, V: wte.shape[0]!, P: wpe.shape[0]! });
}

/** out[n] = table[index[n]]. table [V, C] (f32, or a bf16/f16 weight), index [N], out [N, C]. */
export function gatherRows(table: Tensor, index: Tensor, out: Tensor): void {
  const k = backendWithWeights('gatherRows', { table }, index, out).kernels(layerFamily, 'gatherRows');
  const [N, C] = rowsOf('gatherRows', 'out', out);
  expectShape('gatherRows', 'index', index, [N]);
  if (table.shape.length !== 2 || table.shape[1] !== C) throw new ShapeError(`gatherRows: table has shape ${fmt(table.shape)}, expected [V, ${C}]`);
  noAlias('gatherRows', [out], [table, index]);
  k.gather_rows({ table, index, out, N, C, V: table.shape[0]! });
}

/**
 * dst[targets[g]] += Σ src[order[i]] over group g's rows: the backward of embedding and
 * gatherRows. src [R, C], dst [V, C].
 */
export function scatterAddRows(src: Tensor, index: RowIndex, dst: Tensor): void {
  const k = kernelsOf('scatterAddRows', layerFamily, src, index.order, index.starts, index.targets, dst);
  const [R, C] = rowsOf('scatterAddRows', 'src', src);
  if (dst.shape.length !== 2 || dst.shape[1] !== C) throw new ShapeError(`scatterAddRows: dst has shape ${fmt(dst.shape)}, expected [V, ${C}]`);
  expectShape('scatterAddRows', 'index.order', index.order, [R]);
  expectShape('scatterAddRows', 'index.starts', index.starts, [index.groups + 1]);
  expectShape('scatterAddRows', 'index.targets', index.targets, [index.groups]);
  noAlias('scatterAddRows', [dst], [src, index.order, index.starts, index.targets]);
  k.scatter_add_rows({ src, index, dst, C, R, V: dst.shape[0]! });
}

/**
 * out = (x − mean) · rstd · weight + bias over the last axis, saving mean and rstd
 * (1/√(var + eps), biased variance) for the backward. x, out [N, C]; mean, rstd [N].
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, eps: number): void {
  const k = kernelsOf('layerNorm', layerFamily, x, weight, bias, out, mean, rstd);
  const [N, C] = rowsOf('layerNorm', 'x', x);
  for (const [name, t, shape] of [['out', out, [N, C]], ['weight', weight, [C]], ['bias', bias, [C]], ['mean', mean, [N]], ['rstd', rstd, [N]]] as const) {
    expectShape('layerNorm', name, t, shape);
  }
  if (!(eps > 0)) throw new ShapeError(`layerNorm: eps must be positive, got ${eps}`);
  noAlias('layerNorm', [out, mean, rstd], [x, weight, bias]);
  k.layernorm({ x, weight, bias, out, mean, rstd, N, C, eps });
}

/** Adds the gradients of layerNorm into dx [N, C], dweight [C] and dbias [C]. */
export function layerNormBackward(dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor, dbias: Tensor): void {
  const k = kernelsOf('layerNormBackward', layerFamily, dout, x, weight, mean, rstd, dx, dweight, dbias);
  const [N, C] = rowsOf('layerNormBackward', 'x', x);
  for (const [name, t, shape] of [['dout', dout, [N, C]], ['dx', dx, [N, C]], ['weight', weight, [C]], ['dweight', dweight, [C]],
    ['dbias', dbias, [C]], ['mean', mean, [N]], ['rstd', rstd, [N]]] as const) expectShape('layerNormBackward', name, t, shape);
  noAlias('layerNormBackward', [dx, dweight, dbias], [dout, x, weight, mean, rstd]);
  k.layernorm_backward({ dout, x, weight, mean, rstd, dx, dweight, dbias, N, C });
}

/**
 * out = x · rstd · weight over the last axis, rstd = 1/√(mean(x²) + eps) saved for the backward
 * (Hugging Face's LlamaRMSNorm: no mean subtraction, no bias). x, out [N, C]; weight [C];
 * rstd [N]. For a norm per attention head (Qwen3's q_norm, k_norm), view [N, H·D] as
 * [N·H, D] with weight [D].
 */
export function rmsNorm(x: Tensor, weight: Tensor, out: Tensor, rstd: Tensor, eps: number): void {
  const k = kernelsOf('rmsNorm', layerFamily, x, weight, out, rstd);
  const [N, C] = rowsOf('rmsNorm', 'x', x);
  for (const [name, t, shape] of [['out', out, [N, C]], ['weight', weight, [C]], ['rstd', rstd, [N]]] as const) expectShape('rmsNorm', name, t, shape);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new ShapeError(`rmsNorm: eps must be a positive finite number, got ${eps}`);
  noAlias('rmsNorm', [out, rstd], [x, weight]);
  k.rms_norm({ x, weight, out, rstd, N, C, eps });
}

/** Adds the gradients of rmsNorm into dx [N, C] and dweight [C]. */
export function rmsNormBackward(dout: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dx: Tensor, dweight: Tensor): void {
  const k = kernelsOf('rmsNormBackward', layerFamily, dout, x, weight, rstd, dx, dweight);
  const [N, C] = rowsOf('rmsNormBackward', 'x', x);
  for (const [name, t, shape] of [['dout', dout, [N, C]], ['dx', dx, [N, C]], ['weight', weight, [C]], ['dweight', dweight, [C]], ['rstd', rstd, [N]]] as const) {
    expectShape('rmsNormBackward', name, t, shape);
  }
  noAlias('rmsNormBackward', [dx, dweight], [dout, x, weight, rstd]);
  k.rms_norm_backward({ dout, x, weight, rstd, dx, dweight, N, C });
}

/**
 * Fused softmax + cross-entropy over logits [N, V], with z = scale·logits[n] (scale is
 * 1/temperature; default 1): losses[n] = weights[n]·(logsumexp(z) − z[targets[n]]), and,
 * when given, dlogits[n] = weights[n]·scale·(softmax(z) − onehot(targets[n])), the gradient
 * of Σ losses with respect to the logits. A row whose weight is 0 (padding, prompt, target −1)
 * gives loss 0 and a zero gradient; its target is not read. A negative weight makes the loss
 * a log-likelihood to raise: the policy-gradient losses feed −∂L/∂log p here.
 */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor, weights: Tensor, losses: Tensor, dlogits?: Tensor, o: LogprobOptions = {}): void {
  const k = kernelsOf('softmaxCrossEntropy', layerFamily, logits, targets, weights, losses, dlogits);
  const [N, V] = rowsOf('softmaxCrossEntropy', 'logits', logits);
  expectShape('softmaxCrossEntropy', 'targets', targets, [N]);
  expectShape('softmaxCrossEntropy', 'weights', weights, [N]);
  expectShape('softmaxCrossEntropy', 'losses', losses, [N]);
  if (dlogits) expectShape('softmaxCrossEntropy', 'dlogits', dlogits, [N, V]);
  const scale = logprobScale(o, 'softmaxCrossEntropy');
  noAlias('softmaxCrossEntropy', dlogits ? [losses, dlogits] : [losses], [logits, targets, weights]);
  k.softmax_crossentropy({ logits, targets, weights, losses, dlogits, N, V, scale });
}
