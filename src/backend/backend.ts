import { ShapeError, UnsupportedOpError } from '../errors.js';
import type { KernelContexts, OpFamily } from './op_family.js';
import { checkShape, fmt, sizeOf, type Shape } from './shapes.js';
import { MemoryTracker, Tensor, checkOwned, noAlias } from './tensor.js';

export { MemoryTracker, Tensor } from './tensor.js';

export type BackendKind = 'webgpu' | 'wasm';

/**
 * Views start on multiples of this many elements (256 bytes): WebGPU binds a buffer range
 * only at offsets that are multiples of minStorageBufferOffsetAlignment (256 on every adapter).
 */
export const VIEW_ALIGN = 64;

/** A tensor packed into a larger one: its element offset (a multiple of VIEW_ALIGN) and its row width. */
export interface StoragePart {
  offset: number;
  width: number;
}

/** How a tensor's storage may be laid out on the device. */
export interface StorageOptions {
  /**
   * The tensors packed in this one, in order: should it be larger than one device buffer may
   * be (WebGPU's maxBufferSize), it is cut into several only where a part starts or between
   * a part's rows (whole rows, in groups that keep every cut on VIEW_ALIGN), never inside a
   * row. Default: one part, rows of the last dimension. WASM storage is never cut.
   */
  parts?: readonly StoragePart[];
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
 * Where tensors live: storage, views, transfers, memory accounting and the device's
 * lifetime. The math is in op families (src/ops/), each of which this backend builds once
 * from its kernel context (`kernels`); the ops check their arguments, so a backend's kernels
 * see only well-formed work and both backends fail the same way on bad input.
 */
export abstract class Backend {
  abstract readonly kind: BackendKind;
  abstract info(): BackendInfo;
  /** Bytes of live tensors (views not counted twice) and their high-water mark. */
  readonly memoryTracker = new MemoryTracker();
  readonly #families = new Map<OpFamily<unknown>, unknown>();

  /** Tensor bytes held now and the most held at once since the last resetPeak(). */
  memory(): { bytes: number; peakBytes: number } {
    return { bytes: this.memoryTracker.bytes, peakBytes: this.memoryTracker.peak };
  }

  /** Allocates a zero-filled tensor. */
  zeros(shape: Shape, options: StorageOptions = {}): Tensor {
    checkShape(shape);
    const t = this.allocate(shape, options.parts);
    this.memoryTracker.allocate(t.size * 4);
    return t;
  }

  /** Uploads host data. `data.length` must equal the shape's size. */
  tensor(data: ArrayLike<number>, shape: Shape = [data.length], options: StorageOptions = {}): Tensor {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} values)`);
    }
    const t = this.zeros(shape, options);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  /** Overwrites a tensor's values from host memory. */
  write(t: Tensor, data: ArrayLike<number>): void {
    checkOwned('write', this, [t]);
    if (data.length !== t.size) throw new ShapeError(`write: ${data.length} values for a tensor of shape ${fmt(t.shape)}`);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** Copies a tensor's values to the host once all queued work that writes it has run. */
  read(t: Tensor): Promise<Float32Array> {
    checkOwned('read', this, [t]);
    return this.download(t);
  }

  /**
   * A tensor of `shape` over t's elements [offset, offset + size): it shares t's storage
   * (writes through either are seen by both) and lives as long as t. `offset` must be a
   * multiple of VIEW_ALIGN (64) elements.
   */
  view(t: Tensor, offset: number, shape: Shape): Tensor {
    checkOwned('view', this, [t]);
    checkShape(shape);
    if (!Number.isInteger(offset) || offset < 0 || offset % VIEW_ALIGN !== 0) {
      throw new ShapeError(`view: offset ${offset} must be a non-negative multiple of ${VIEW_ALIGN} elements`);
    }
    if (offset + sizeOf(shape) > t.size) {
      throw new ShapeError(`view: elements ${offset}..${offset + sizeOf(shape)} of shape ${fmt(shape)} lie outside ${t} (${t.size} elements)`);
    }
    return this.makeView(t.base ?? t, this.viewOffset(t) + offset, shape);
  }

  /** Sets every element to 0. */
  zero(t: Tensor): void {
    checkOwned('zero', this, [t]);
    this.runZero(t);
  }

  /** dst ← src; same size (shapes may differ); they must not share storage. */
  copy(src: Tensor, dst: Tensor): void {
    checkOwned('copy', this, [src, dst]);
    if (src.size !== dst.size) throw new ShapeError(`copy: ${src} has ${src.size} elements, ${dst} has ${dst.size}`);
    noAlias('copy', [dst], [src]);
    this.runCopy(src, dst);
  }

  /**
   * This backend's implementation of an op family (src/ops/), built on first use from the
   * backend's kernel context and kept. `op` names the caller in an UnsupportedOpError.
   */
  kernels<K>(family: OpFamily<K>, op = family.name): K {
    let kernels = this.#families.get(family) as K | undefined;
    if (kernels === undefined) {
      const build = family.implementations[this.kind] as ((context: KernelContexts[BackendKind]) => K) | undefined;
      if (!build) throw new UnsupportedOpError(op, family.name, this.kind, Object.keys(family.implementations));
      kernels = build(this.kernelContext());
      this.#families.set(family, kernels);
    }
    return kernels;
  }

  /** Waits until all queued work has run; rethrows any deferred device error with its op. */
  abstract flush(): Promise<void>;

  /** Frees the device (and every tensor on it). The backend is unusable afterwards. */
  abstract dispose(): void;

  /** What this backend gives op families to run kernels with (see op_family.ts). */
  protected abstract kernelContext(): KernelContexts[BackendKind];
  /** A new zero-filled root tensor (not yet counted by the memory tracker); see StorageOptions for parts. */
  protected abstract allocate(shape: Shape, parts?: readonly StoragePart[]): Tensor;
  protected abstract upload(t: Tensor, data: Float32Array): void;
  protected abstract download(t: Tensor): Promise<Float32Array>;
  /** Element offset of t within its root's storage (0 for a root). */
  protected abstract viewOffset(t: Tensor): number;
  protected abstract makeView(root: Tensor, offset: number, shape: Shape): Tensor;
  protected abstract runZero(t: Tensor): void;
  protected abstract runCopy(src: Tensor, dst: Tensor): void;
}
