import { ConfigError, DeviceLimitError, DeviceLostError, GPUOpError } from '../../errors.js';
import { adapterName, type AcquiredGPU, type AdapterSummary } from '../../runtime/gpu_acquire.js';
import { Backend, Tensor, VIEW_ALIGN, type BackendInfo, type StoragePart } from '../backend.js';
import { DTYPE_BYTES, viewAlign, type DType } from '../dtype.js';
import { fmt, sizeOf, type Shape } from '../shapes.js';
import { GPUKernelContext, HARDWARE_MATMUL, SOFTWARE_MATMUL, alignedRows, type GPUHost, type MatmulTiling, type RowKernels } from './gpu_kernels.js';
import { PipelineCache } from './pipelines.js';
import { UniformRing } from './uniform_ring.js';

export { HARDWARE_MATMUL, SOFTWARE_MATMUL, type MatmulTiling, type RowKernels } from './gpu_kernels.js';

/** One device buffer of a root's storage, holding the root's elements [start, end). */
interface Chunk {
  readonly buffer: GPUBuffer;
  readonly start: number;
  readonly end: number;
}

/**
 * A tensor's storage: elements [offset, offset + size) of its root, whose storage is one
 * GPUBuffer or, for a root larger than one buffer may be, consecutive buffers (chunks).
 * Offsets are multiples of 256 bytes (WebGPU's minStorageBufferOffsetAlignment: VIEW_ALIGN,
 * 64 f32 elements, or 128 of a 16-bit dtype, two to a 4-byte word), and so are chunk boundaries.
 */
class GPUTensor extends Tensor {
  readonly chunks: readonly Chunk[];
  readonly offset: number;
  constructor(backend: WebGPUBackend, shape: Shape, chunks: readonly Chunk[], offset = 0, base?: Tensor, dtype?: DType) {
    super(backend, shape, base, dtype);
    this.chunks = chunks;
    this.offset = offset;
  }
  /** Bytes per element. */
  get unit(): number {
    return DTYPE_BYTES[this.dtype];
  }
  /** The chunk holding root element `at` (the last one for an empty tensor at the very end). */
  chunkAt(at: number): Chunk {
    const c = this.chunks;
    if (c.length === 1) return c[0]!;
    let i = c.length - 1;
    while (i > 0 && c[i]!.start > at) i--;
    return c[i]!;
  }
  /** The chunk holding the whole tensor, or undefined when it runs across two. */
  get chunk(): Chunk | undefined {
    const c = this.chunkAt(this.offset);
    return this.offset + this.size <= c.end ? c : undefined;
  }
  /** Its elements chunk by chunk: [chunk, first, end) in root elements, in order. */
  spans(): [Chunk, number, number][] {
    const end = this.offset + this.size;
    if (this.chunks.length === 1) return [[this.chunks[0]!, this.offset, end]];
    const out: [Chunk, number, number][] = [];
    for (const c of this.chunks) if (c.end > this.offset && c.start < end) out.push([c, Math.max(c.start, this.offset), Math.min(c.end, end)]);
    return out;
  }
  protected release(): void {
    for (const c of this.chunks) (this.backend as WebGPUBackend).releaseBuffer(c.buffer);
  }
}

/** What one storage binding and one buffer may hold, in bytes. */
export interface StorageLimits {
  binding: number;
  buffer: number;
}

/** Command buffers waiting for one submit; flushed at read(), flush(), or when this many pile up. */
const MAX_PENDING = 64;

/**
 * The WebGPU backend: buffers, transfers and the command queue. Each dispatch records its
 * own command buffer inside an error scope (so a validation error names the op), command
 * buffers are submitted together, and data comes back to the host only through read(). Op
 * families dispatch through its GPUKernelContext.
 */
export class WebGPUBackend extends Backend implements GPUHost {
  readonly kind = 'webgpu' as const;
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** Chosen per adapter; tests switch it to cover both shapes on one device. */
  matmulTiling: MatmulTiling;
  /** Chosen per adapter (see RowKernels); tests switch it to cover both. */
  rowKernels: RowKernels;
  /** @internal */
  readonly pipelines: PipelineCache;
  /** @internal Bound in place of an UNUSED binding. */
  readonly placeholder: GPUBuffer;
  private readonly uniforms: UniformRing;
  private readonly context: GPUKernelContext;
  private pending: GPUCommandBuffer[] = [];
  /** Buffers of released tensors, destroyed once the pending batch is submitted. */
  private scratchBuffers: GPUBuffer[] = [];
  private errors: Promise<GPUOpError | undefined>[] = [];
  private lost: DeviceLostError | undefined;
  private disposed = false;
  #limits: StorageLimits;
  /**
   * The GPU object the device came from. Dawn (Node) tears its instance down when this is
   * garbage-collected, taking the device with it, so the backend holds it until dispose().
   */
  private gpu: GPU | undefined;

  constructor(acquired: AcquiredGPU) {
    super();
    this.device = acquired.device;
    this.adapter = acquired.summary;
    this.gpu = acquired.gpu;
    this.matmulTiling = this.adapter.software ? SOFTWARE_MATMUL : HARDWARE_MATMUL;
    this.rowKernels = this.adapter.software ? 'invocation' : 'workgroup';
    this.pipelines = new PipelineCache(this.device);
    this.uniforms = new UniformRing(this.device);
    this.placeholder = this.device.createBuffer({ label: 'placeholder', size: 16, usage: GPUBufferUsage.STORAGE });
    this.context = new GPUKernelContext(this);
    this.#limits = this.deviceLimits;
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = new DeviceLostError(info.reason ?? 'unknown', info.message);
    });
  }

  info(): BackendInfo {
    return {
      kind: 'webgpu',
      device: adapterName(this.adapter),
      software: this.adapter.software,
      details: { ...this.adapter, pipelines: this.pipelines.size, matmulTiling: this.matmulTiling, rowKernels: this.rowKernels, storageLimits: this.#limits },
    };
  }

  /** The device's own limits: maxStorageBufferBindingSize and maxBufferSize. */
  get deviceLimits(): StorageLimits {
    const l = this.device.limits;
    return { binding: l.maxStorageBufferBindingSize, buffer: l.maxBufferSize };
  }

  /** What one binding and one new buffer may hold now: the device's limits unless lowered. */
  get storageLimits(): StorageLimits {
    return { ...this.#limits };
  }

  /**
   * Lowers what one binding and one new buffer may hold (bytes, rounded down to multiples of
   * 256; the device's limits cap them; undefined restores them). Ops split their work into
   * more dispatches below these limits: tests lower them to run the split paths on small
   * tensors. Tensors already allocated keep their buffers.
   */
  setStorageLimits(limits: Partial<StorageLimits> | undefined): void {
    const device = this.deviceLimits;
    const pick = (v: number | undefined, max: number, name: string) => {
      if (v === undefined) return max;
      if (!Number.isFinite(v) || v < 256) throw new ConfigError(`setStorageLimits: ${name} must be at least 256 bytes, got ${v}`);
      return Math.min(max, Math.floor(v / 256) * 256);
    };
    this.#limits = { binding: pick(limits?.binding, device.binding, 'binding'), buffer: pick(limits?.buffer, device.buffer, 'buffer') };
  }

  protected kernelContext(): GPUKernelContext {
    return this.context;
  }

  protected allocate(shape: Shape, parts: readonly StoragePart[] | undefined, dtype: DType): Tensor {
    this.alive();
    const n = sizeOf(shape);
    const most = this.bufferElements(dtype);
    const chunks: Chunk[] = [];
    for (let start = 0; start < n || chunks.length === 0;) {
      const end = start + most >= n ? n : this.#cut(shape, n, start, most, parts ?? [{ offset: 0, width: shape.length > 1 ? shape[shape.length - 1]! : 1 }], dtype);
      // Multiples of 16 bytes, so any kernel may view the buffer as vec4s.
      const size = Math.max(16, Math.ceil(((end - start) * DTYPE_BYTES[dtype]) / 16) * 16);
      chunks.push({ buffer: this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }), start, end });
      start = end;
    }
    return new GPUTensor(this, shape, chunks, 0, undefined, dtype);
  }

  /** Elements of a dtype one buffer holds: whole multiples of 256 bytes, so chunks start where views may. */
  bufferElements(dtype: DType = 'f32'): number {
    return Math.floor(this.#limits.buffer / 256) * viewAlign(dtype);
  }

  /**
   * Where the chunk of a root of n elements that starts at `start` ends: the last cut within
   * `most` elements, at a part's start or, inside a part larger than one buffer (only there:
   * ops that do not split need their tensors whole), between groups of its whole rows (no op
   * could bind a row across two buffers) that end on VIEW_ALIGN and hold a multiple of 4
   * rows (matmul blocks step by 4 rows).
   */
  #cut(shape: Shape, n: number, start: number, most: number, parts: readonly StoragePart[], dtype: DType): number {
    const align = viewAlign(dtype);
    const limit = start + most;
    let end = start;
    for (let i = 0; i < parts.length && parts[i]!.offset <= limit; i++) {
      const { offset, width } = parts[i]!;
      const next = parts[i + 1]?.offset ?? n;
      end = Math.max(end, offset);
      if (next - offset > most && width > 0) {
        const unit = width * rowGroup(width, align);
        end = Math.max(end, offset + Math.floor((Math.min(limit, next) - offset) / unit) * unit);
      }
    }
    if (end > start) return end;
    const part = [...parts].reverse().find((p) => p.offset <= start)!;
    throw new DeviceLimitError(
      `WebGPU: a tensor of shape ${fmt(shape)} (${n * DTYPE_BYTES[dtype]} bytes) needs several buffers on this adapter (${adapterName(this.adapter)}), whose buffers hold at most ` +
      `${this.#limits.buffer} bytes (maxBufferSize ${this.device.limits.maxBufferSize}), but it may be cut only between whole rows of ${part.width} values ` +
      `(${rowGroup(part.width, align)} at a time, ${part.width * rowGroup(part.width, align) * DTYPE_BYTES[dtype]} bytes) from element ${part.offset}, and no cut falls within one buffer after element ${start}: ` +
      'use an adapter with a larger maxBufferSize, narrower rows, or the wasm backend',
    );
  }

  protected upload(t: Tensor, data: Float32Array | Uint16Array): void {
    this.alive();
    const g = t as GPUTensor;
    const u = g.unit;
    // Writes are whole 4-byte words: an odd count of 16-bit values (only at the end of its
    // root's storage, Backend checks) is padded by one.
    if (data.length % 2 === 1 && u === 2) data = Uint16Array.from({ length: data.length + 1 }, (_, i) => data[i] ?? 0);
    for (const [chunk, from, to] of g.spans()) {
      // Deno's wgpu panics on zero-byte writes.
      if (to > from) this.device.queue.writeBuffer(chunk.buffer, (from - chunk.start) * u, data.buffer, data.byteOffset + (from - g.offset) * u, words(to - from, u));
    }
  }

  /**
   * queue.writeBuffer runs before command buffers submitted after it, so a write into a buffer
   * that recorded, unsubmitted work reads (a model's batch tensors, reused by the next forward
   * of the same shape: gradient accumulation) would reach back into that work. Submitting
   * first keeps write() in program order.
   */
  protected override overwrite(t: Tensor, data: Float32Array | Uint16Array): void {
    if (this.pending.length) this.submit();
    this.upload(t, data);
  }

  protected async download(t: Tensor): Promise<Float32Array | Uint16Array> {
    this.alive();
    const g = t as GPUTensor;
    const u = g.unit;
    const parts = g.spans().map(([chunk, from, to]) => ({ chunk, from, to, staging: this.device.createBuffer({ size: Math.max(16, Math.ceil(((to - from) * u) / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) }));
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    for (const { chunk, from, staging } of parts) {
      // A view near the end of its buffer may have fewer than the rounded-up bytes after it.
      const at = (from - chunk.start) * u;
      const copy = Math.min(staging.size, chunk.buffer.size - at);
      if (copy > 0) encoder.copyBufferToBuffer(chunk.buffer, at, staging, 0, copy);
    }
    this.pending.push(encoder.finish());
    this.submit();
    try {
      const result = u === 4 ? new Float32Array(g.size) : new Uint16Array(g.size);
      for (const { from, to, staging } of parts) {
        await holdOpen(staging.mapAsync(GPUMapMode.READ));
        const range = staging.getMappedRange(0, staging.size);
        result.set(u === 4 ? new Float32Array(range, 0, to - from) : new Uint16Array(range, 0, to - from), from - g.offset);
        staging.unmap();
      }
      await this.rethrow();
      return result;
    } catch (e) {
      this.alive();
      throw e;
    } finally {
      for (const { staging } of parts) staging.destroy();
    }
  }

  protected viewOffset(t: Tensor): number {
    return (t as GPUTensor).offset;
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new GPUTensor(this, shape, (root as GPUTensor).chunks, offset, root);
  }

  protected runZero(t: Tensor): void {
    // Exactly the view's words: rounding up further would clear a neighbour's values.
    const g = t as GPUTensor;
    const spans = g.spans().filter(([, from, to]) => to > from);
    if (spans.length) this.record('zero', (e) => { for (const [c, from, to] of spans) e.clearBuffer(c.buffer, (from - c.start) * g.unit, words(to - from, g.unit)); });
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    const s = src as GPUTensor;
    const d = dst as GPUTensor;
    if (s.size === 0) return;
    this.record('copy', (e) => {
      // In pieces that lie in one chunk of each side.
      for (let i = 0; i < s.size;) {
        const [from, to] = [s.chunkAt(s.offset + i), d.chunkAt(d.offset + i)];
        const n = Math.min(from.end - s.offset, to.end - d.offset, s.size) - i;
        e.copyBufferToBuffer(from.buffer, (s.offset + i - from.start) * s.unit, to.buffer, (d.offset + i - to.start) * s.unit, words(n, s.unit));
        i += n;
      }
    });
  }

  async flush(): Promise<void> {
    this.alive();
    this.submit();
    await holdOpen(this.device.queue.onSubmittedWorkDone());
    this.alive();
    await this.rethrow();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pending = [];
    this.scratchBuffers = [];
    this.device.destroy();
    this.gpu = undefined;
  }

  /**
   * Destroys a tensor's buffer, or, while recorded commands that may use it wait for their
   * submit, right after that submit: a buffer destroyed before then fails the whole submit
   * ("used in submit while destroyed"). Destroying after a submit is safe: the buffer lives
   * until the submitted work has run. Internal: GPUTensor.release() calls it.
   */
  releaseBuffer(buffer: GPUBuffer): void {
    if (this.disposed) return;
    if (this.pending.length === 0) buffer.destroy();
    else this.scratchBuffers.push(buffer);
  }

  // ---- GPUHost: what the kernel context (gpu_kernels.ts) records through ------------------

  /** @internal */
  uniform(data: ArrayBuffer): GPUBufferBinding {
    this.alive();
    if (this.uniforms.full) this.submit();
    return this.uniforms.push(data);
  }

  /** @internal Records a command buffer inside validation and out-of-memory error scopes, checked at the next flush/read. */
  record(op: string, body: (encoder: GPUCommandEncoder) => void): void {
    this.alive();
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let validation: Promise<GPUError | null>;
    let oom: Promise<GPUError | null>;
    try {
      const encoder = device.createCommandEncoder({ label: op });
      body(encoder);
      this.pending.push(encoder.finish());
    } finally {
      // Popped even when body throws, so the scopes never outlive the op.
      validation = device.popErrorScope();
      oom = device.popErrorScope();
    }
    this.errors.push(
      Promise.all([validation, oom]).then(([v, m]) =>
        v ? new GPUOpError(op, 'validation', v.message) : m ? new GPUOpError(op, 'out-of-memory', m.message) : undefined,
      ),
    );
    if (this.pending.length >= MAX_PENDING) this.submit();
  }

  /**
   * @internal A tensor's range of its buffer. Views bind { offset, size } of their chunk of the
   * root, rounded up to 16 bytes (kernels may view buffers as vec4s) within the buffer; an
   * empty view at the very end of its buffer has no bytes to bind, so the placeholder (never
   * read: the op has no elements) stands in. A tensor over the binding limit, or across two
   * chunks, is a DeviceLimitError naming `op` and the binding `name`.
   */
  bind(t: Tensor, op: string, name: string): GPUBufferBinding {
    const g = t as GPUTensor;
    const chunk = g.chunk;
    const bytes = Math.ceil(g.bytes / 16) * 16;
    if (!chunk || bytes > this.#limits.binding) throw this.#unbindable(g, op, name, !chunk);
    const at = (g.offset - chunk.start) * g.unit;
    const size = Math.min(Math.max(16, bytes), chunk.buffer.size - at);
    if (size <= 0) return { buffer: this.placeholder };
    return { buffer: chunk.buffer, offset: at, size };
  }

  /** @internal Whether t binds whole (bind() would not refuse it). */
  fits(t: Tensor): boolean {
    const g = t as GPUTensor;
    return Math.ceil(g.bytes / 16) * 16 <= this.#limits.binding && (g.chunks.length === 1 || g.chunk !== undefined);
  }

  /**
   * @internal How many of t's elements from element `start` one binding can cover: the binding
   * starts at `start` rounded down to 256 bytes, holds at most the binding limit and ends at
   * its chunk's end.
   */
  room(t: Tensor, start: number): number {
    const g = t as GPUTensor;
    const at = g.offset + start;
    const from = at - (at % viewAlign(g.dtype));
    return Math.min(from + (Math.floor(this.#limits.binding / 16) * 16) / g.unit, g.chunkAt(at).end) - at;
  }

  /** @internal A view of t's elements [start, start + count), start on 256 bytes (untracked, like any view). */
  window(t: Tensor, start: number, count: number): Tensor {
    const g = t as GPUTensor;
    return new GPUTensor(this, [count], g.chunks, g.offset + start, g.base ?? g);
  }

  #unbindable(t: GPUTensor, op: string, name: string, split: boolean): DeviceLimitError {
    const l = this.#limits;
    const why = split
      ? `lies across two of the device buffers its root is stored in (a buffer holds at most ${l.buffer} bytes; maxBufferSize ${this.device.limits.maxBufferSize})`
      : `exceeds the ${l.binding} bytes one storage binding may hold on this adapter (maxStorageBufferBindingSize ${this.device.limits.maxStorageBufferBindingSize})`;
    return new DeviceLimitError(
      `${op}: ${name} ${t} (${t.bytes} bytes) ${why}, and ${op} does not split it into smaller bindings; ` +
      'lower the batch size or sequence length (or keep such a tensor in one buffer), or use the wasm backend',
    );
  }

  /** @internal */
  scratch(shape: Shape): Tensor {
    return this.allocate(shape, undefined, 'f32');
  }

  /** @internal */
  retire(t: Tensor): void {
    for (const c of (t as GPUTensor).chunks) this.releaseBuffer(c.buffer);
  }

  private submit(): void {
    if (this.pending.length === 0) return;
    this.device.queue.submit(this.pending);
    this.pending = [];
    // Destroying after submit is safe: the buffers live until the submitted work has run.
    for (const b of this.scratchBuffers) b.destroy();
    this.scratchBuffers = [];
    this.uniforms.recycle();
  }

  private async rethrow(): Promise<void> {
    const errors = this.errors;
    this.errors = [];
    for (const e of await Promise.all(errors)) if (e) throw e;
  }

  private alive(): void {
    if (this.lost) throw this.lost;
    if (this.disposed) throw new DeviceLostError('destroyed', 'the backend was disposed');
  }
}

/**
 * Awaits a device promise with a timer pending. Dawn's promises do not keep Node's event loop
 * alive: a program whose only pending work is a GPU readback would otherwise exit silently.
 */
async function holdOpen<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** Rows of `width` values a buffer holds whole groups of: a multiple of 4 that ends on `align` (alignedRows is a power of 2). */
function rowGroup(width: number, align: number): number {
  return Math.max(4, alignedRows(width, align));
}

/** Bytes of n elements of `unit` bytes as whole 4-byte words (an odd count of 16-bit values rounds up). */
function words(n: number, unit: number): number {
  return Math.ceil((n * unit) / 4) * 4;
}
