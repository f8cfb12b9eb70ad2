import { DeviceLimitError, DeviceLostError, GPUOpError } from '../../errors.js';
import { adapterName, type AcquiredGPU, type AdapterSummary } from '../../runtime/gpu_acquire.js';
import { Backend, Tensor, type BackendInfo, type MatmulOptions, type ReduceOp } from '../backend.js';
import { fmt, sizeOf, type MatmulGeometry, type Shape } from '../shapes.js';
import type { KernelFile } from './kernels.js';
import { PipelineCache } from './pipelines.js';
import { packParams, UniformRing } from './uniform_ring.js';

class GPUTensor extends Tensor {
  readonly buffer: GPUBuffer;
  constructor(backend: WebGPUBackend, shape: Shape, buffer: GPUBuffer) {
    super(backend, shape);
    this.buffer = buffer;
  }
  protected release(): void {
    this.buffer.destroy();
  }
}

/** Command buffers waiting for one submit; flushed at read(), flush(), or when this many pile up. */
const MAX_PENDING = 64;
/** Workgroups per grid dimension that every adapter supports. */
const MAX_GRID = 65535;

/**
 * The shape of the matmul kernel (override constants of kernels/matmul.wgsl): each invocation
 * computes R rows × 4·C columns of the product; a workgroup is WX × WY invocations.
 */
export interface MatmulTiling {
  R: number;
  C: number;
  WX: number;
  WY: number;
}

/**
 * Software rasterisers (llvmpipe, lavapipe, SwiftShader) run a workgroup on one CPU thread,
 * 8 invocations to a SIMD vector, and fetch each lane's load separately, so the largest
 * block wins: on llvmpipe 16×16 outputs per invocation ran ~1.8× faster than 8×16. 32×16
 * was 5–20% faster still but takes ~2.5× as long to compile (~3 s per variant), so not
 * chosen. 8 invocations across N fill exactly one SIMD vector.
 */
export const SOFTWARE_MATMUL: MatmulTiling = { R: 16, C: 4, WX: 8, WY: 8 };
/** Hardware GPUs keep accumulators in registers: 4×4 per invocation, 256 invocations. */
export const HARDWARE_MATMUL: MatmulTiling = { R: 4, C: 1, WX: 16, WY: 16 };

/**
 * The WebGPU backend. Each op records its own command buffer inside an error scope (so a
 * validation error names the op), command buffers are submitted together, and data comes
 * back to the host only through read().
 */
export class WebGPUBackend extends Backend {
  readonly kind = 'webgpu' as const;
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** Chosen per adapter; tests switch it to cover both shapes on one device. */
  matmulTiling: MatmulTiling;
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformRing;
  private pending: GPUCommandBuffer[] = [];
  private errors: Promise<GPUOpError | undefined>[] = [];
  private lost: DeviceLostError | undefined;
  private disposed = false;
  /** Bound in place of an absent optional input (a matmul without bias). */
  private readonly placeholder: GPUBuffer;
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
    this.pipelines = new PipelineCache(this.device);
    this.uniforms = new UniformRing(this.device);
    this.placeholder = this.device.createBuffer({ label: 'placeholder', size: 16, usage: GPUBufferUsage.STORAGE });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = new DeviceLostError(info.reason ?? 'unknown', info.message);
    });
  }

  info(): BackendInfo {
    return {
      kind: 'webgpu',
      device: adapterName(this.adapter),
      software: this.adapter.software,
      details: { ...this.adapter, pipelines: this.pipelines.size, matmulTiling: this.matmulTiling },
    };
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
    if (data.byteLength > 0) this.device.queue.writeBuffer(buf(t), 0, data.buffer, data.byteOffset, data.byteLength);
  }

  protected async download(t: Tensor): Promise<Float32Array> {
    this.alive();
    const bytes = t.size * 4;
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder({ label: 'read' });
    encoder.copyBufferToBuffer(buf(t), 0, staging, 0, staging.size);
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

  protected runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void {
    const { R, C, WX, WY } = this.matmulTiling;
    const tilesX = Math.ceil(g.N / (WX * 4 * C));
    const tilesY = Math.ceil(g.M / (WY * R));
    // One workgroup per tile per batch entry, folded into x and y (each ≤ 65535).
    const [gridX, gridY] = grid2d(tilesX * tilesY * g.batch);
    const params = packParams([g.M, g.N, g.K, g.batch, g.strideA, g.strideB, g.strideOut, tilesX, tilesY, gridX, o.alpha ?? 1], [10]);
    const constants = {
      ...this.matmulTiling,
      TRANS_A: Number(!!o.transA),
      TRANS_B: Number(!!o.transB),
      // vec4 loads need every stored row to start on a vec4: rows of A are M long when
      // transposed (else K), rows of B are K long when transposed (else N), rows of out N.
      ALIGNED_A: Number((o.transA ? g.M : g.K) % 4 === 0),
      ALIGNED_B: Number((o.transB ? g.K : g.N) % 4 === 0),
      ALIGNED_OUT: Number(g.N % 4 === 0),
      HAS_BIAS: Number(!!o.bias),
      ACCUMULATE: Number(!!o.accumulate),
    };
    this.dispatch('matmul', 'matmul', 'main', [a, b, o.bias ?? this.placeholder, out], params, [gridX, gridY, 1], constants);
  }

  protected runAdd(a: Tensor, b: Tensor, out: Tensor): void {
    // In-place forms keep every buffer bound once (IEEE addition is commutative, x + x = 2x exactly).
    if (out === a && out === b) this.elementwise('scale_into', null, null, 2, out);
    else if (out === a) this.elementwise('add_into', null, b, 0, out);
    else if (out === b) this.elementwise('add_into', null, a, 0, out);
    else this.elementwise('add', a, b, 0, out);
  }

  protected runScale(a: Tensor, s: number, out: Tensor): void {
    if (out === a) this.elementwise('scale_into', null, null, s, out);
    else this.elementwise('scale', a, null, s, out);
  }

  protected runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void {
    const [x, y] = grid2d(rows);
    this.dispatch(op, 'reduce', 'reduce_rows', [a, out], packParams([rows, cols, x]), [x, y, 1], { IS_MAX: op === 'max' ? 1 : 0 });
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
    this.device.destroy();
    this.gpu = undefined;
  }

  private elementwise(entry: 'add' | 'add_into' | 'scale' | 'scale_into', a: Tensor | null, b: Tensor | null, s: number, out: Tensor): void {
    const groups = Math.ceil(out.size / 256);
    const [x, y] = grid2d(groups);
    this.dispatch(entry, 'elementwise', entry, [a, b, out], packParams([out.size, x * 256, s], [2]), [x, y, 1]);
  }

  /**
   * Records one dispatch in its own command buffer, inside validation and out-of-memory
   * error scopes whose results are checked at the next flush/read.
   * Bindings are the storage buffers in binding order (null: a binding this entry point
   * does not use, so 'auto' layout leaves it out); the uniform comes last.
   */
  private dispatch(
    op: string, file: KernelFile, entry: string, storage: (Tensor | GPUBuffer | null)[], params: ArrayBuffer,
    grid: [number, number, number], constants: Record<string, number> = {},
  ): void {
    this.alive();
    if (this.uniforms.full) this.submit();
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const pipeline = this.pipelines.get(file, entry, constants);
    const entries: GPUBindGroupEntry[] = [];
    storage.forEach((s, binding) => {
      if (s) entries.push({ binding, resource: { buffer: s instanceof Tensor ? buf(s) : s } });
    });
    entries.push({ binding: storage.length, resource: this.uniforms.push(params) });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const encoder = device.createCommandEncoder({ label: op });
    const pass = encoder.beginComputePass({ label: op });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    if (grid[0] > 0 && grid[1] > 0 && grid[2] > 0) pass.dispatchWorkgroups(...grid);
    pass.end();
    this.pending.push(encoder.finish());
    const validation = device.popErrorScope();
    const oom = device.popErrorScope();
    this.errors.push(
      Promise.all([validation, oom]).then(([v, m]) =>
        v ? new GPUOpError(op, 'validation', v.message) : m ? new GPUOpError(op, 'out-of-memory', m.message) : undefined,
      ),
    );
    if (this.pending.length >= MAX_PENDING) this.submit();
  }

  private submit(): void {
    if (this.pending.length === 0) return;
    this.device.queue.submit(this.pending);
    this.pending = [];
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

const buf = (t: Tensor): GPUBuffer => (t as GPUTensor).buffer;

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

/** Spreads n workgroups over x (≤ 65535) and y. */
function grid2d(n: number): [number, number] {
  if (n <= MAX_GRID) return [n, 1];
  const y = Math.ceil(n / MAX_GRID);
  return [Math.ceil(n / y), y];
}
