import { DeviceLimitError, DeviceLostError, GPUOpError } from '../../errors.js';
import { adapterName, type AcquiredGPU, type AdapterSummary } from '../../runtime/gpu_acquire.js';
import { Backend, Tensor, type BackendInfo } from '../backend.js';
import { fmt, sizeOf, type Shape } from '../shapes.js';
import { GPUKernelContext, HARDWARE_MATMUL, SOFTWARE_MATMUL, type GPUHost, type MatmulTiling, type RowKernels } from './gpu_kernels.js';
import { PipelineCache } from './pipelines.js';
import { UniformRing } from './uniform_ring.js';

export { HARDWARE_MATMUL, SOFTWARE_MATMUL, type MatmulTiling, type RowKernels } from './gpu_kernels.js';

/**
 * A tensor's storage: a whole GPUBuffer (a root), or for a view the root's buffer from
 * `byteOffset` on (a multiple of 256 bytes, WebGPU's minStorageBufferOffsetAlignment).
 */
class GPUTensor extends Tensor {
  readonly buffer: GPUBuffer;
  readonly byteOffset: number;
  constructor(backend: WebGPUBackend, shape: Shape, buffer: GPUBuffer, byteOffset = 0, base?: Tensor) {
    super(backend, shape, base);
    this.buffer = buffer;
    this.byteOffset = byteOffset;
  }
  /** Bytes the tensor's values occupy (copies and clears touch exactly these). */
  get bytes(): number {
    return this.size * 4;
  }
  /**
   * Bytes a binding of the tensor covers: its values rounded up to 16 (kernels may view
   * buffers as vec4s), clamped to what the buffer holds past the offset.
   */
  get bindBytes(): number {
    return Math.min(Math.max(16, Math.ceil(this.bytes / 16) * 16), this.buffer.size - this.byteOffset);
  }
  protected release(): void {
    (this.backend as WebGPUBackend).releaseBuffer(this.buffer);
  }
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
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = new DeviceLostError(info.reason ?? 'unknown', info.message);
    });
  }

  info(): BackendInfo {
    return {
      kind: 'webgpu',
      device: adapterName(this.adapter),
      software: this.adapter.software,
      details: { ...this.adapter, pipelines: this.pipelines.size, matmulTiling: this.matmulTiling, rowKernels: this.rowKernels },
    };
  }

  protected kernelContext(): GPUKernelContext {
    return this.context;
  }

  protected allocate(shape: Shape): Tensor {
    this.alive();
    const bytes = sizeOf(shape) * 4;
    const limits = this.device.limits;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (bytes > limit) {
      throw new DeviceLimitError(
        `WebGPU: a tensor of shape ${fmt(shape)} needs ${bytes} bytes, but this adapter (${adapterName(this.adapter)}) binds at most ` +
        `${limit} bytes (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize}); ` +
        `split the tensor, lower the batch size, or use the wasm backend`,
      );
    }
    // Multiples of 16 bytes, so any kernel may view the buffer as vec4s.
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return new GPUTensor(this, shape, buffer);
  }

  protected upload(t: Tensor, data: Float32Array): void {
    this.alive();
    // Deno's wgpu panics on zero-byte writes.
    const g = t as GPUTensor;
    if (data.byteLength > 0) this.device.queue.writeBuffer(g.buffer, g.byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  protected async download(t: Tensor): Promise<Float32Array> {
    this.alive();
    const g = t as GPUTensor;
    const bytes = g.bytes;
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    // A view near the end of its buffer may have fewer than the rounded-up bytes after it.
    const copy = Math.min(staging.size, g.buffer.size - g.byteOffset);
    if (copy > 0) encoder.copyBufferToBuffer(g.buffer, g.byteOffset, staging, 0, copy);
    this.pending.push(encoder.finish());
    this.submit();
    try {
      await holdOpen(staging.mapAsync(GPUMapMode.READ));
      const result = new Float32Array(staging.getMappedRange(0, staging.size).slice(0, bytes));
      staging.unmap();
      await this.rethrow();
      return result;
    } catch (e) {
      this.alive();
      throw e;
    } finally {
      staging.destroy();
    }
  }

  protected viewOffset(t: Tensor): number {
    return (t as GPUTensor).byteOffset / 4;
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new GPUTensor(this, shape, (root as GPUTensor).buffer, offset * 4, root);
  }

  protected runZero(t: Tensor): void {
    const g = t as GPUTensor;
    // Exactly the view's bytes (a multiple of 4): rounding up would clear a neighbour's values.
    if (g.bytes > 0) this.record('zero', (e) => e.clearBuffer(g.buffer, g.byteOffset, g.bytes));
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    const s = src as GPUTensor;
    const d = dst as GPUTensor;
    if (s.bytes > 0) this.record('copy', (e) => e.copyBufferToBuffer(s.buffer, s.byteOffset, d.buffer, d.byteOffset, s.bytes));
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
   * @internal A tensor's range of its buffer. Views bind { offset, size } of the root's buffer;
   * an empty view at the very end of its buffer has no bytes to bind, so the placeholder
   * (never read: the op has no elements) stands in.
   */
  bind(t: Tensor): GPUBufferBinding {
    const g = t as GPUTensor;
    const size = g.bindBytes;
    if (size <= 0) return { buffer: this.placeholder };
    return { buffer: g.buffer, offset: g.byteOffset, size };
  }

  /** @internal */
  scratch(shape: Shape): Tensor {
    return this.allocate(shape);
  }

  /** @internal */
  retire(t: Tensor): void {
    this.releaseBuffer((t as GPUTensor).buffer);
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
