import { ShapeError } from '../errors.js';

export type Shape = readonly number[];

export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${what} ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
}

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

export function checkSameShape(op: string, a: Shape, b: Shape): void {
  if (fmt(a) !== fmt(b)) throw new ShapeError(`${op}: operand shapes differ, ${fmt(a)} vs ${fmt(b)}`);
}

/** Rows × columns view of a tensor reduced along its last axis. */
export function lastAxisGeometry(shape: Shape): { rows: number; cols: number; outShape: number[] } {
  if (shape.length === 0) return { rows: 1, cols: 1, outShape: [1] };
  const cols = shape[shape.length - 1]!;
  const lead = shape.slice(0, -1);
  return { rows: sizeOf(lead), cols, outShape: lead.length ? [...lead] : [1] };
}
