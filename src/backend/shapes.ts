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

export function checkSameShape(op: string, a: Shape, b: Shape): void {
  if (fmt(a) !== fmt(b)) throw new ShapeError(`${op}: operand shapes differ, ${fmt(a)} vs ${fmt(b)}`);
}
