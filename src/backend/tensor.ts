import { ShapeError, TensorStateError } from '../errors.js';
import { fmt, sizeOf, type Shape } from './shapes.js';
import type { Backend } from './backend.js';
import { DTYPE_BYTES, type DType } from './dtype.js';

/**
 * A tensor that lives on one backend's device (a GPU buffer or WASM linear memory), stored as
 * f32 or, for frozen weights, in 16 bits (`dtype`; see dtype.ts). Its values are reached only
 * through `backend.read()`, which is explicit and asynchronous and always gives f32.
 */
export abstract class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly backend: Backend;
  /** How its elements are stored (a view's is its root's). */
  readonly dtype: DType;
  /** For a view: the tensor whose storage it shares. Disposing a view frees nothing. */
  readonly base: Tensor | undefined;
  #disposed = false;

  protected constructor(backend: Backend, shape: Shape, base?: Tensor, dtype: DType = base?.dtype ?? 'f32') {
    this.backend = backend;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.base = base;
  }

  get disposed(): boolean {
    return this.#disposed || (this.base?.disposed ?? false);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.base) return;
    this.release();
    this.backend.memoryTracker.free(this.bytes);
  }

  /** Bytes its values occupy. */
  get bytes(): number {
    return this.size * DTYPE_BYTES[this.dtype];
  }

  /** Gives the tensor's storage back to its backend. */
  protected abstract release(): void;

  toString(): string {
    return `Tensor(${fmt(this.shape)}${this.dtype === 'f32' ? '' : `, ${this.dtype}`}, ${this.backend.kind})`;
  }
}

/** Counts tensor bytes as they are allocated and disposed. */
export class MemoryTracker {
  bytes = 0;
  peak = 0;
  allocate(n: number): void {
    this.bytes += n;
    this.peak = Math.max(this.peak, this.bytes);
  }
  free(n: number): void {
    this.bytes -= n;
  }
  /** Starts a new high-water mark from what is held now. */
  resetPeak(): void {
    this.peak = this.bytes;
  }
}

/** Fails unless every tensor is live and belongs to `backend` (undefined entries are skipped). */
export function checkOwned(op: string, backend: Backend, tensors: readonly (Tensor | undefined)[]): void {
  for (const t of tensors) {
    if (!t) continue;
    if (t.backend !== backend) throw new TensorStateError(`${op}: ${t} belongs to another backend; read() it and upload it with tensor()`);
    if (t.disposed) throw new TensorStateError(`${op}: ${t} was disposed`);
  }
}

/**
 * Outputs must not share storage with inputs: kernels read inputs while writing outputs,
 * and WebGPU forbids binding one buffer as read-only and writable in a dispatch.
 */
export function noAlias(op: string, outs: readonly Tensor[], ins: readonly Tensor[]): void {
  for (const o of outs) {
    for (const i of ins) {
      if ((o.base ?? o) === (i.base ?? i)) throw new ShapeError(`${op}: output ${o} shares storage with input ${i}; give it a separate tensor`);
    }
  }
}
