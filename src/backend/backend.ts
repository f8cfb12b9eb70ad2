import { ShapeError, TensorStateError } from '../errors.js';
import { checkSameShape, checkShape, fmt, lastAxisGeometry, matmulGeometry, sizeOf, type MatmulGeometry, type Shape } from './shapes.js';

export type BackendKind = 'webgpu' | 'wasm';
export type ReduceOp = 'sum' | 'max';

/**
 * A float32 tensor that lives on one backend's device (a GPU buffer or WASM linear memory).
 * Its values are reached only through `backend.read()`, which is explicit and asynchronous.
 */
export abstract class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly backend: Backend;
  #disposed = false;

  protected constructor(backend: Backend, shape: Shape) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.release();
  }

  /** Gives the tensor's storage back to its backend. */
  protected abstract release(): void;

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.backend.kind})`;
  }
}

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

/** What a backend tells about itself; `webrlhf info` prints it. */
export interface BackendInfo {
  kind: BackendKind;
  /** Adapter description for WebGPU, "WebAssembly SIMD" for WASM. */
  device: string;
  /** True on a software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP). */
  software: boolean;
  details: Record<string, unknown>;
}

/**
 * The Backend contract: the one seam between the model code and the hardware.
 * This class validates every call (shapes, ownership, lifetime) once, so both
 * implementations see only well-formed work and fail the same way on bad input.
 */
export abstract class Backend {
  abstract readonly kind: BackendKind;
  abstract info(): BackendInfo;

  /** Allocates a zero-filled tensor. */
  zeros(shape: Shape): Tensor {
    checkShape(shape);
    return this.allocate(shape);
  }

  /** Uploads host data. `data.length` must equal the shape's size. */
  tensor(data: ArrayLike<number>, shape: Shape = [data.length]): Tensor {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} values)`);
    }
    const t = this.allocate(shape);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  /** Overwrites a tensor's values from host memory. */
  write(t: Tensor, data: ArrayLike<number>): void {
    this.own('write', t);
    if (data.length !== t.size) throw new ShapeError(`write: ${data.length} values for a tensor of shape ${fmt(t.shape)}`);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** Copies a tensor's values to the host once all queued work that writes it has run. */
  read(t: Tensor): Promise<Float32Array> {
    this.own('read', t);
    return this.download(t);
  }

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    this.own('matmul', a, b, options.bias, options.out);
    const g = matmulGeometry(a.shape, b.shape, options, options.bias?.shape);
    if (options.accumulate && !options.out) throw new ShapeError('matmul: accumulate needs an out tensor to add into');
    const out = this.output('matmul', g.outShape, options.out);
    if (out === a || out === b || out === options.bias) throw new ShapeError('matmul: out must not alias an input');
    this.runMatmul(a, b, out, g, options);
    return out;
  }

  /** out = a + b, elementwise; a and b have the same shape. `out` may alias an input. */
  add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
    this.own('add', a, b, out);
    checkSameShape('add', a.shape, b.shape);
    const o = this.output('add', a.shape, out);
    this.runAdd(a, b, o);
    return o;
  }

  /** out = s · a, elementwise. `out` may alias `a`. */
  scale(a: Tensor, s: number, out?: Tensor): Tensor {
    this.own('scale', a, out);
    const o = this.output('scale', a.shape, out);
    this.runScale(a, s, o);
    return o;
  }

  sum(a: Tensor, options: ReduceOptions = {}): Tensor {
    return this.reduce('sum', a, options);
  }

  max(a: Tensor, options: ReduceOptions = {}): Tensor {
    return this.reduce('max', a, options);
  }

  /** Waits until all queued work has run; rethrows any deferred device error with its op. */
  abstract flush(): Promise<void>;

  /** Frees the device (and every tensor on it). The backend is unusable afterwards. */
  abstract dispose(): void;

  private reduce(op: ReduceOp, a: Tensor, options: ReduceOptions): Tensor {
    this.own(op, a, options.out);
    if (a.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor of shape ${fmt(a.shape)}`);
    const axis = options.axis ?? 'all';
    const { rows, cols, outShape } = axis === 'all' ? { rows: 1, cols: a.size, outShape: [1] } : lastAxisGeometry(a.shape);
    if (cols === 0) throw new ShapeError(`${op}: cannot reduce an empty last axis of shape ${fmt(a.shape)}`);
    const out = this.output(op, outShape, options.out);
    if (out === a) throw new ShapeError(`${op}: out must not alias the input`);
    this.runReduce(op, a, out, rows, cols);
    return out;
  }

  private output(op: string, shape: Shape, out?: Tensor): Tensor {
    if (!out) return this.allocate(shape);
    if (fmt(out.shape) !== fmt(shape)) throw new ShapeError(`${op}: out has shape ${fmt(out.shape)}, the result has shape ${fmt(shape)}`);
    return out;
  }

  private own(op: string, ...tensors: (Tensor | undefined)[]): void {
    for (const t of tensors) {
      if (!t) continue;
      if (t.backend !== this) throw new TensorStateError(`${op}: ${t} belongs to another backend; read() it and upload it with tensor()`);
      if (t.disposed) throw new TensorStateError(`${op}: ${t} was disposed`);
    }
  }

  protected abstract allocate(shape: Shape): Tensor;
  protected abstract upload(t: Tensor, data: Float32Array): void;
  protected abstract download(t: Tensor): Promise<Float32Array>;
  protected abstract runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void;
  protected abstract runAdd(a: Tensor, b: Tensor, out: Tensor): void;
  protected abstract runScale(a: Tensor, s: number, out: Tensor): void;
  protected abstract runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void;
}
