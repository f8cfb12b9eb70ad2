// The core op family: matmul, elementwise add and scale, reductions, and column sums (a
// bias's gradient): what any backend needs first (kernels/matmul.wgsl, elementwise.wgsl,
// reduce.wgsl; wasm/matmul.ts, elementwise.ts, reduce.ts).
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import { checkSameShape, fmt, sizeOf, type Shape } from '../backend/shapes.js';
import type { Tensor } from '../backend/tensor.js';
import { LOOP_CHUNK, chunks, type Window } from '../backend/webgpu/gpu_kernels.js';
import { DTYPE_CODES } from '../backend/dtype.js';
import { backendOf, backendWithWeights, expectShape, kernelsOf, noAlias, outputOf } from './checks.js';

export interface MatmulOptions {
  /** Use Aᵀ: A is stored [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: B is stored [N, K] (or [..., N, K]). */
  transB?: boolean;
  /** Added to every row of the product; shape [N]. */
  bias?: Tensor;
  /** Scales the product (not the bias). Default 1. */
  alpha?: number;
  /** Write into this tensor instead of a new one; its shape must be the product's. */
  out?: Tensor;
  /** With `out`: add the result to out's current values (gradient accumulation). */
  accumulate?: boolean;
}

export interface ReduceOptions {
  /** 'all' (default) reduces to one value of shape [1]; -1 reduces the last axis. */
  axis?: 'all' | -1;
  out?: Tensor;
}

export type ReduceOp = 'sum' | 'max' | 'sumsq';
/** The kernels' code for each reduction (reduce.wgsl's OP, wasm/reduce.ts's op). */
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, sumsq: 2 };

/** The geometry of one (optionally batched) matmul, out = op(A)·op(B) (+ bias). */
export interface MatmulGeometry {
  M: number;
  N: number;
  K: number;
  /** Number of independent products; A (and B unless broadcast) hold `batch` matrices. */
  batch: number;
  /** Elements between consecutive matrices of A, B and out (0 for a broadcast B). */
  strideA: number;
  strideB: number;
  strideOut: number;
  outShape: number[];
}

export interface MatmulLayout {
  transA?: boolean;
  transB?: boolean;
}

/**
 * A is [..., M, K] ([..., K, M] when transA), B is [K, N] or [..., K, N] with the same
 * leading dims as A ([N, K] / [..., N, K] when transB); out is [..., M, N].
 */
export function matmulGeometry(a: Shape, b: Shape, layout: MatmulLayout, bias?: Shape): MatmulGeometry {
  const what = `matmul(A ${fmt(a)}${layout.transA ? 'ᵀ' : ''}, B ${fmt(b)}${layout.transB ? 'ᵀ' : ''})`;
  if (a.length < 2 || b.length < 2) throw new ShapeError(`${what}: both operands need at least 2 dimensions`);
  const [ar, ac] = a.slice(-2) as [number, number];
  const [br, bc] = b.slice(-2) as [number, number];
  const M = layout.transA ? ac : ar;
  const K = layout.transA ? ar : ac;
  const Kb = layout.transB ? bc : br;
  const N = layout.transB ? br : bc;
  if (K !== Kb) {
    throw new ShapeError(`${what}: inner dimensions differ (A gives K=${K}, B gives K=${Kb}); transpose an operand or fix its shape`);
  }
  const lead = a.slice(0, -2);
  const batch = sizeOf(lead);
  const bLead = b.slice(0, -2);
  if (bLead.length > 0 && fmt(bLead) !== fmt(lead)) {
    throw new ShapeError(`${what}: batch dimensions differ (${fmt(lead)} vs ${fmt(bLead)}); B must be 2-D or share A's leading dimensions`);
  }
  if (bias && (bias.length !== 1 || bias[0] !== N)) {
    throw new ShapeError(`${what}: bias has shape ${fmt(bias)}, expected [${N}]`);
  }
  return {
    M, N, K, batch,
    strideA: M * K,
    strideB: bLead.length > 0 ? K * N : 0,
    strideOut: M * N,
    outShape: [...lead, M, N],
  };
}

/** A checked matmul: the geometry and what the product does with bias, alpha and out. */
interface MatmulPlan extends Omit<MatmulGeometry, 'outShape'> {
  a: Tensor;
  b: Tensor;
  bias: Tensor | undefined;
  out: Tensor;
  transA: boolean;
  transB: boolean;
  alpha: number;
  accumulate: boolean;
}

/** A block of a product: batch entries b0..b1, rows m0..m1, columns n0..n1, k over k0..k1. */
interface MatmulBlock {
  b0: number;
  b1: number;
  m0: number;
  m1: number;
  n0: number;
  n1: number;
  k0: number;
  k1: number;
}

/** A checked row reduction of a [rows, cols] view. */
interface ReducePlan {
  a: Tensor;
  out: Tensor;
  rows: number;
  cols: number;
  op: ReduceOp;
}

/** The kernels of the core family, one per op, each taking its checked plan. */
export interface CoreKernels {
  matmul(p: MatmulPlan): void;
  add(p: { a: Tensor; b: Tensor; out: Tensor; n: number }): void;
  scale(p: { a: Tensor; s: number; out: Tensor; n: number }): void;
  reduce(p: ReducePlan): void;
  column_sum(p: { a: Tensor; out: Tensor; rows: number; cols: number }): void;
}

/** Below this many multiply-adds a WASM matmul runs on one thread: waking workers costs more. */
const PARALLEL_MIN_MACS = 1 << 18;
/** Invocations per workgroup of elementwise.wgsl, and of reduce.wgsl's column_sum. */
const ELEMENTWISE_WG = 256;
const COLUMN_WG = 64;
/** Values of a row one reduce workgroup (256 invocations) takes: 2048 iterations each. */
const REDUCE_SEGMENT = 256 * 2048;

export const coreFamily = opFamily<CoreKernels>('core', {
  webgpu: (gpu) => {
    const plain = { wg: ELEMENTWISE_WG };
    const elementwise = (op: string, entry: string, flat: Record<string, Tensor>, n: number, s?: number) =>
      gpu.elementwise(op, entry, flat, n, s === undefined ? plain : { wg: ELEMENTWISE_WG, params: { s } });
    /** One reduce dispatch: `op` over segments of `seg` values, segs per row, into out from outStart. */
    const reduceRows = (a: Tensor, out: Tensor, outStart: number, rows: number, cols: number, op: ReduceOp, segs: number, seg: number) => {
      const [x, y] = gpu.grid(rows * segs);
      gpu.dispatch(op, 'reduce', { a, out }, { rows, cols, gridX: x, segs, seg, outStart }, [x, y], { OP: REDUCE_CODES[op] });
    };
    /** Reduces rows of a into out[outStart ..]: in blocks of rows (or pieces of one row) where a does not bind whole. */
    const reduceInto = (a: Tensor, out: Tensor, outStart: number, rows: number, cols: number, op: ReduceOp): void => {
      const partial = op === 'sumsq' ? 'sum' : op;
      if (!gpu.fits(a)) {
        if (rows > 1) {
          for (const w of gpu.rowWindows(op, rows, cols, [a], true)) reduceInto(w.tensors[0]!, out, outStart + w.start, w.count, cols, op);
          return;
        }
        // One long row: each aligned piece reduces into a partial, then the partials.
        const pieces = gpu.rowWindows(op, cols, 1, [a], true);
        const partials = gpu.scratch([pieces.length]);
        pieces.forEach((w, i) => reduceInto(w.tensors[0]!, partials, i, 1, w.count, op));
        reduceInto(partials, out, outStart, 1, pieces.length, partial);
        gpu.retire(partials);
        return;
      }
      if (cols <= REDUCE_SEGMENT) return reduceRows(a, out, outStart, rows, cols, op, 1, cols);
      // Long rows: each row's segments reduce into partials [rows, segs] first (no invocation
      // may loop 65535 times on llvmpipe), then the partials reduce like any row.
      const segs = Math.ceil(cols / REDUCE_SEGMENT);
      const partials = gpu.scratch([rows, segs]);
      reduceRows(a, partials, 0, rows, cols, op, segs, Math.ceil(cols / segs));
      reduceInto(partials, out, outStart, rows, segs, partial);
      gpu.retire(partials);
    };
    const { R, C, WX, WY } = gpu.matmulTiling;
    /** One dispatch of a block of the product (see matmul.wgsl); k blocks after the first add into out. */
    const matmulBlock = (g: MatmulPlan, r: MatmulBlock, a: Window, b: Window, out: Window) => {
      const first = r.k0 === 0;
      const tilesX = Math.ceil((r.n1 - r.n0) / (WX * 4 * C));
      const tilesY = Math.ceil((r.m1 - r.m0) / (WY * R));
      // One workgroup per tile per batch entry, folded into x and y (each ≤ 65535).
      const grid = gpu.grid(tilesX * tilesY * (r.b1 - r.b0));
      const constants = {
        R, C, WX, WY,
        TRANS_A: Number(g.transA),
        TRANS_B: Number(g.transB),
        // vec4 loads need every stored row to start on a vec4: rows of A are M long when
        // transposed (else K), rows of B are K long when transposed (else N), rows of out N.
        ALIGNED_A: Number((g.transA ? g.M : g.K) % 4 === 0),
        ALIGNED_B: Number((g.transB ? g.K : g.N) % 4 === 0),
        ALIGNED_OUT: Number(g.N % 4 === 0),
        HAS_BIAS: Number(!!g.bias && first),
        ACCUMULATE: Number(g.accumulate || !first),
        B_DTYPE: DTYPE_CODES[g.b.dtype],
      };
      const params = {
        M: g.M, N: g.N, K: g.K, batch: r.b1, strideA: g.strideA, strideB: g.strideB, strideOut: g.strideOut, tilesX, tilesY, gridX: grid[0], alpha: g.alpha,
        batchStart: r.b0, rowStart: r.m0, rowEnd: r.m1, colStart: r.n0, colEnd: r.n1, kStart: r.k0, kEnd: r.k1, offA: a.base, offB: b.base, offOut: out.base,
      };
      const bias = g.bias && first ? g.bias : gpu.unused;
      gpu.dispatch('matmul', 'matmul', { a: a.tensor, b: b.tensor, bias, out: out.tensor }, params, grid, constants);
    };
    const whole = (t: Tensor): Window => ({ tensor: t, base: 0 });
    /**
     * A product whose operands do not bind whole, in blocks whose windows do: batch entries in
     * groups where whole matrices fit, else each entry cut along M (rows of out, and of A
     * unless transposed), N (rows of a transposed B) and K (rows of a transposed A, or of B).
     * Row and column blocks give each output element the same sum as one dispatch; K blocks
     * add partial sums into out.
     */
    const matmulSplit = (g: MatmulPlan) => {
      const { M, N, K, a, b, out, transA, transB } = g;
      const shared = g.strideB === 0;
      if (g.batch > 1 && (!shared || gpu.fits(b))) {
        const entries = gpu.tryBlocks(g.batch, [
          { t: a, origin: 0, width: g.strideA }, { t: out, origin: 0, width: g.strideOut }, ...(shared ? [] : [{ t: b, origin: 0, width: g.strideB }]),
        ]);
        if (typeof entries !== 'number') {
          for (const [b0, n] of entries) {
            const range = (t: Tensor, stride: number) => gpu.window(t, b0 * stride, n * stride);
            matmulBlock(g, { b0, b1: b0 + n, m0: 0, m1: M, n0: 0, n1: N, k0: 0, k1: K }, range(a, g.strideA), shared ? whole(b) : range(b, g.strideB), range(out, g.strideOut));
          }
          return;
        }
      }
      for (let bi = 0; bi < g.batch; bi++) {
        const [oA, oB, oOut] = [bi * g.strideA, bi * g.strideB, bi * g.strideOut];
        const ms = gpu.blocks('matmul', M, [{ t: out, origin: oOut, width: N }, ...(transA ? [] : [{ t: a, origin: oA, width: K }])], 4, WY * R);
        const ns = gpu.blocks('matmul', N, transB ? [{ t: b, origin: oB, width: K }] : [], 4, WX * 4 * C);
        const ks = gpu.blocks('matmul', K, [...(transA ? [{ t: a, origin: oA, width: M }] : []), ...(transB ? [] : [{ t: b, origin: oB, width: N }])], 4);
        for (const [m0, mn] of ms) {
          for (const [n0, nn] of ns) {
            for (const [k0, kn] of ks) {
              const aw = transA ? gpu.window(a, oA + k0 * M, kn * M) : gpu.window(a, oA + m0 * K, mn * K);
              const bw = transB ? gpu.window(b, oB + n0 * K, nn * K) : gpu.window(b, oB + k0 * N, kn * N);
              matmulBlock(g, { b0: bi, b1: bi + 1, m0, m1: m0 + mn, n0, n1: n0 + nn, k0, k1: k0 + kn }, aw, bw, gpu.window(out, oOut + m0 * N, mn * N));
            }
          }
        }
      }
    };
    const kernels: CoreKernels = {
      matmul(g) {
        if (!gpu.fits(g.a, g.b, g.out, g.bias)) return matmulSplit(g);
        matmulBlock(g, { b0: 0, b1: g.batch, m0: 0, m1: g.M, n0: 0, n1: g.N, k0: 0, k1: g.K }, whole(g.a), whole(g.b), whole(g.out));
      },
      add({ a, b, out, n }) {
        // WebGPU binds a buffer once per dispatch, so in-place forms have their own entry
        // points (IEEE addition is commutative, and x + x = 2x exactly).
        if (out === a && out === b) elementwise('add', 'scale__into', { out }, n, 2);
        else if (out === a) elementwise('add', 'add__into', { b, out }, n);
        else if (out === b) elementwise('add', 'add__into', { b: a, out }, n);
        else elementwise('add', 'add', { a, b, out }, n);
      },
      scale({ a, s, out, n }) {
        if (out === a) elementwise('scale', 'scale__into', { out }, n, s);
        else elementwise('scale', 'scale', { a, out }, n, s);
      },
      reduce({ a, out, rows, cols, op }) {
        reduceInto(a, out, 0, rows, cols, op);
      },
      column_sum({ a, out, rows, cols }) {
        const [x, y] = gpu.grid(Math.ceil(cols / COLUMN_WG));
        // One dispatch per chunk of rows, each adding into out in turn (the loop limit of
        // llvmpipe), within blocks of rows that bind.
        for (const w of gpu.rowWindows('columnSum', rows, cols, [a], true)) {
          for (const [rowStart, rowCount] of chunks(w.count, LOOP_CHUNK)) {
            gpu.dispatch('columnSum', 'column_sum', { a: w.tensors[0]!, out }, { cols, gridX: x, rowStart, rowCount }, [x, y]);
          }
        }
      },
    };
    return kernels;
  },
  wasm: (cpu) => {
    // Packing space for matmul, one slice per thread, for the backend's lifetime.
    const scratchStride = cpu.helper('matmul_scratch_bytes');
    const scratch = cpu.reserve(scratchStride * cpu.threads);
    return {
      ...cpu.direct<CoreKernels>(['add', 'scale']),
      matmul({ a, b, bias, out, M, N, K, batch, strideA, strideB, strideOut, transA, transB, alpha, accumulate }) {
        const args = { a, b, bias, out, M, N, K, batch, strideA, strideB, strideOut, transA, transB, alpha, accumulate, bType: DTYPE_CODES[b.dtype], scratch, scratchStride };
        // Parts split batch entries, else rows.
        cpu.split('matmul', args, { rows: batch > 1 ? batch * M : M, work: batch * M * N * K, minWork: PARALLEL_MIN_MACS });
      },
      reduce: ({ a, out, rows, cols, op }) => cpu.call('reduce', { a, out, rows, cols, op: REDUCE_CODES[op] }),
      // Column sums run in f64 in scratch space.
      column_sum: ({ a, out, rows, cols }) => cpu.call('column_sum', { a, out, rows, cols, scratch: cpu.workspace(cols * 8) }),
    };
  },
});

/**
 * out = alpha · op(A) · op(B) (+ bias), batched over A's leading dimensions with B either
 * shared (2-D) or batched alike: the forms a transformer's forward and backward need
 * (`dW += Xᵀ·dY` is `matmul(x, dy, { transA: true, out: dw, accumulate: true })`). B may be
 * stored in bf16 or f16 (frozen weights), read as such and computed with in f32; A, bias and
 * out are f32.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const be = backendWithWeights('matmul', { B: b }, a, options.bias, options.out);
  const g = matmulGeometry(a.shape, b.shape, options, options.bias?.shape);
  if (options.accumulate && !options.out) throw new ShapeError('matmul: accumulate needs an out tensor to add into');
  const out = outputOf('matmul', be, g.outShape, options.out);
  noAlias('matmul', [out], options.bias ? [a, b, options.bias] : [a, b]);
  be.kernels(coreFamily, 'matmul').matmul({
    a, b, bias: options.bias, out, M: g.M, N: g.N, K: g.K, batch: g.batch, strideA: g.strideA, strideB: g.strideB, strideOut: g.strideOut,
    transA: !!options.transA, transB: !!options.transB, alpha: options.alpha ?? 1, accumulate: !!options.accumulate,
  });
  return out;
}

/** out = a + b, elementwise; a and b have the same shape. `out` may be a or b itself. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const be = backendOf('add', a, b, out);
  checkSameShape('add', a.shape, b.shape);
  const o = outputOf('add', be, a.shape, out);
  // In place is fine (out is a or b itself); a different view of the same storage is not.
  noAlias('add', [o], [a, b].filter((t) => t !== o));
  be.kernels(coreFamily, 'add').add({ a, b, out: o, n: o.size });
  return o;
}

/** out = s · a, elementwise. `out` may be `a` itself. */
export function scale(a: Tensor, s: number, out?: Tensor): Tensor {
  const be = backendOf('scale', a, out);
  const o = outputOf('scale', be, a.shape, out);
  if (o !== a) noAlias('scale', [o], [a]);
  be.kernels(coreFamily, 'scale').scale({ a, s, out: o, n: o.size });
  return o;
}

/** Σ over everything (default, shape [1]) or the last axis. */
export function sum(a: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('sum', a, options);
}

/** The maximum over everything (default, shape [1]) or the last axis. */
export function max(a: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('max', a, options);
}

/** Σ a², over everything (default, shape [1]) or the last axis. */
export function sumSquares(a: Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('sumsq', a, options);
}

/** out[c] += Σₙ x[n, c]: the gradient of a bias. x [N, C] (or [..., C]), out [C]. */
export function columnSum(x: Tensor, out: Tensor): void {
  const k = kernelsOf('columnSum', coreFamily, x, out);
  const { rows, cols } = lastAxisGeometry(x.shape);
  expectShape('columnSum', 'out', out, [cols]);
  noAlias('columnSum', [out], [x]);
  k.column_sum({ a: x, out, rows, cols });
}

function reduce(op: ReduceOp, a: Tensor, options: ReduceOptions): Tensor {
  const be = backendOf(op, a, options.out);
  if (a.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor of shape ${fmt(a.shape)}`);
  const axis = options.axis ?? 'all';
  const { rows, cols, outShape } = axis === 'all' ? { rows: 1, cols: a.size, outShape: [1] } : lastAxisGeometry(a.shape);
  if (cols === 0) throw new ShapeError(`${op}: cannot reduce an empty last axis of shape ${fmt(a.shape)}`);
  const out = outputOf(op, be, outShape, options.out);
  noAlias(op, [out], [a]);
  be.kernels(coreFamily, op).reduce({ a, out, rows, cols, op });
  return out;
}

/** Rows × columns view of a tensor reduced along its last axis. */
export function lastAxisGeometry(shape: Shape): { rows: number; cols: number; outShape: number[] } {
  if (shape.length === 0) return { rows: 1, cols: 1, outShape: [1] };
  const cols = shape[shape.length - 1]!;
  const lead = shape.slice(0, -1);
  return { rows: sizeOf(lead), cols, outShape: lead.length ? [...lead] : [1] };
}
