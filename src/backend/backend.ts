import { DTypeError, ShapeError, UnsupportedOpError } from '../errors.js';
import { checkDType, decode, encode, viewAlign, type DType } from './dtype.js';
import type { KernelContexts, OpFamily } from './op_family.js';
import { checkShape, fmt, sizeOf, type Shape } from './shapes.js';
import { MemoryTracker, Tensor, checkOwned, noAlias } from './tensor.js';

export { MemoryTracker, Tensor } from './tensor.js';
export type { DType } from './dtype.js';

export type BackendKind = 'webgpu' | 'wasm';

/**
 * Views of f32 tensors start on multiples of this many elements (256 bytes): WebGPU binds a
 * buffer range only at offsets that are multiples of minStorageBufferOffsetAlignment (256 on
 * every adapter). Views of 16-bit tensors start on multiples of 128 elements (viewAlign).
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
  /**
   * How elements are stored (default 'f32'). 'bf16' and 'f16' hold frozen weights in half the
   * memory: only the ops that read weights take them (matmul's B, embedding and gatherRows'
   * tables), no op writes them, `tensor`/`write` round to nearest even on the host and `read`
   * decodes to f32.
   */
  dtype?: DType;
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
    const t = this.allocate(shape, options.parts, checkDType(options.dtype ?? 'f32', 'zeros'));
    this.memoryTracker.allocate(t.bytes);
    return t;
  }

  /** Uploads host data. `data.length` must equal the shape's size. */
  tensor(data: ArrayLike<number>, shape: Shape = [data.length], options: StorageOptions = {}): Tensor {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} values)`);
    }
    const t = this.zeros(shape, options);
    this.upload(t, encode(data instanceof Float32Array ? data : Float32Array.from(data), t.dtype));
    return t;
  }

  /** Overwrites a tensor's values from host memory (rounded to nearest even for a 16-bit tensor). */
  write(t: Tensor, data: ArrayLike<number>): void {
    checkOwned('write', this, [t]);
    if (data.length !== t.size) throw new ShapeError(`write: ${data.length} values for a tensor of shape ${fmt(t.shape)}`);
    this.#checkWholeWords('write', t);
    this.overwrite(t, encode(data instanceof Float32Array ? data : Float32Array.from(data), t.dtype));
  }

  /**
   * write()'s upload into a tensor that queued work may still read: a backend that records work
   * and runs it later (WebGPU) must order the write after that work, not before it.
   */
  protected overwrite(t: Tensor, data: Float32Array | Uint16Array): void {
    this.upload(t, data);
  }

  /** Copies a tensor's values to the host (as f32, whatever its dtype) once all queued work that writes it has run. */
  async read(t: Tensor): Promise<Float32Array> {
    checkOwned('read', this, [t]);
    return decode(await this.download(t), t.dtype);
  }

  /**
   * A tensor of `shape` over t's elements [offset, offset + size): it shares t's storage
   * (writes through either are seen by both), has its dtype and lives as long as t. `offset`
   * must be a multiple of 256 bytes: VIEW_ALIGN (64) elements of f32, 128 of bf16 or f16.
   */
  view(t: Tensor, offset: number, shape: Shape): Tensor {
    checkOwned('view', this, [t]);
    checkShape(shape);
    const align = viewAlign(t.dtype);
    if (!Number.isInteger(offset) || offset < 0 || offset % align !== 0) {
      throw new ShapeError(
        `view: offset ${offset} must be a non-negative multiple of ${align} elements for a ${t.dtype} tensor ` +
        '(views start on 256 bytes, where WebGPU may bind them); pad what you pack to that boundary',
      );
    }
    if (offset + sizeOf(shape) > t.size) {
      throw new ShapeError(`view: elements ${offset}..${offset + sizeOf(shape)} of shape ${fmt(shape)} lie outside ${t} (${t.size} elements)`);
    }
    return this.makeView(t.base ?? t, this.viewOffset(t) + offset, shape);
  }

  /** Sets every element to 0. */
  zero(t: Tensor): void {
    checkOwned('zero', this, [t]);
    this.#checkWholeWords('zero', t);
    this.runZero(t);
  }

  /** dst ← src; same size and dtype (shapes may differ; the bits are copied); they must not share storage. */
  copy(src: Tensor, dst: Tensor): void {
    checkOwned('copy', this, [src, dst]);
    if (src.size !== dst.size) throw new ShapeError(`copy: ${src} has ${src.size} elements, ${dst} has ${dst.size}`);
    if (src.dtype !== dst.dtype) throw new DTypeError(`copy: ${src} is stored in ${src.dtype}, ${dst} in ${dst.dtype}; copy copies bits between tensors of one dtype (read() and tensor() convert)`);
    this.#checkWholeWords('copy', dst);
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

  /**
   * A 16-bit tensor of odd size inside a larger one ends mid-word: WebGPU writes, copies and
   * clears whole 4-byte words, which would touch its neighbour's first element. Roots (padded
   * storage) and views that end where their root ends may be odd; other views may not.
   */
  #checkWholeWords(op: string, t: Tensor): void {
    if (t.dtype === 'f32' || t.size % 2 === 0 || !t.base || this.viewOffset(t) + t.size === t.base.size) return;
    throw new DTypeError(`${op}: ${t} holds an odd number of 16-bit elements inside a larger tensor; ${op} works on whole 4-byte words, so give it an even number of elements`);
  }

  /** Waits until all queued work has run; rethrows any deferred device error with its op. */
  abstract flush(): Promise<void>;

  /** Frees the device (and every tensor on it). The backend is unusable afterwards. */
  abstract dispose(): void;

  /** What this backend gives op families to run kernels with (see op_family.ts). */
  protected abstract kernelContext(): KernelContexts[BackendKind];
  /** A new zero-filled root tensor (not yet counted by the memory tracker); see StorageOptions for parts. */
  protected abstract allocate(shape: Shape, parts: readonly StoragePart[] | undefined, dtype: DType): Tensor;
  /** Writes t's stored values (f32, or 16-bit words for a bf16/f16 tensor). */
  protected abstract upload(t: Tensor, data: Float32Array | Uint16Array): void;
  /** t's stored values, as upload takes them. */
  protected abstract download(t: Tensor): Promise<Float32Array | Uint16Array>;
  /** Element offset of t within its root's storage (0 for a root). */
  protected abstract viewOffset(t: Tensor): number;
  protected abstract makeView(root: Tensor, offset: number, shape: Shape): Tensor;
  protected abstract runZero(t: Tensor): void;
  protected abstract runCopy(src: Tensor, dst: Tensor): void;
}

