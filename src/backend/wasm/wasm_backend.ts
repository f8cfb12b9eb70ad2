import { Backend, Tensor, type BackendInfo, type MatmulOptions, type ReduceOp } from '../backend.js';
import { sizeOf, type MatmulGeometry, type Shape } from '../shapes.js';
import { Arena } from './arena.js';
import type { WasmThreadPool } from './thread_pool.js';

/** The functions wasm/index.ts exports (pointers are byte offsets). */
export interface WasmKernels {
  memory: WebAssembly.Memory;
  heap_base(): number;
  /**
   * (a, b, bias, out, M, N, K, batch, strideA, strideB, strideOut, transA, transB, alpha,
   * accumulate, scratch, scratchStride, part, parts): see wasm/matmul.ts.
   */
  matmul: (...args: number[]) => void;
  matmul_scratch_bytes(): number;
  add(a: number, b: number, out: number, n: number): void;
  scale(a: number, s: number, out: number, n: number): void;
  reduce_sum(a: number, out: number, rows: number, cols: number): void;
  reduce_max(a: number, out: number, rows: number, cols: number): void;
}

class WasmTensor extends Tensor {
  readonly ptr: number;
  constructor(backend: WasmBackend, shape: Shape, ptr: number) {
    super(backend, shape);
    this.ptr = ptr;
  }
  protected release(): void {
    (this.backend as WasmBackend).arena.release(this.ptr);
  }
}

/** Below this many multiply-adds a matmul runs on one thread: waking workers costs more. */
const PARALLEL_MIN_MACS = 1 << 18;

/**
 * The CPU backend: AssemblyScript SIMD kernels over one WebAssembly memory, optionally split
 * across worker threads that share it. Every element is computed by the same code whatever
 * the thread count, so results do not depend on it.
 */
export class WasmBackend extends Backend {
  readonly kind = 'wasm' as const;
  readonly arena: Arena;
  readonly threads: number;
  private readonly k: WasmKernels;
  private readonly pool: WasmThreadPool | undefined;
  /** Packing space for matmul, one slice per thread. */
  private readonly scratch: number;
  private readonly scratchBytes: number;

  constructor(kernels: WasmKernels, pool?: WasmThreadPool) {
    super();
    this.k = kernels;
    this.pool = pool;
    this.threads = pool?.threads ?? 1;
    this.arena = new Arena(kernels.memory, kernels.heap_base());
    this.scratchBytes = kernels.matmul_scratch_bytes();
    this.scratch = this.arena.alloc(this.scratchBytes * this.threads);
  }

  info(): BackendInfo {
    return {
      kind: 'wasm',
      device: `WebAssembly SIMD (${this.threads} thread${this.threads > 1 ? 's' : ''})`,
      software: true,
      details: { threads: this.threads, memoryBytes: this.k.memory.buffer.byteLength, bytesInUse: this.arena.bytesInUse },
    };
  }

  protected allocate(shape: Shape): Tensor {
    const t = new WasmTensor(this, shape, this.arena.alloc(sizeOf(shape) * 4));
    this.f32(t).fill(0);
    return t;
  }

  protected upload(t: Tensor, data: Float32Array): void {
    this.f32(t).set(data);
  }

  protected download(t: Tensor): Promise<Float32Array> {
    return Promise.resolve(this.f32(t).slice());
  }

  protected runMatmul(a: Tensor, b: Tensor, out: Tensor, g: MatmulGeometry, o: MatmulOptions): void {
    const args = [ptr(a), ptr(b), o.bias ? ptr(o.bias) : 0, ptr(out), g.M, g.N, g.K, g.batch,
      g.strideA, g.strideB, g.strideOut, o.transA ? 1 : 0, o.transB ? 1 : 0, o.alpha ?? 1, o.accumulate ? 1 : 0, this.scratch, this.scratchBytes];
    const rows = g.batch > 1 ? g.batch * g.M : g.M;
    const parts = Math.min(this.threads, rows);
    if (this.pool && parts > 1 && g.batch * g.M * g.N * g.K >= PARALLEL_MIN_MACS) this.pool.run('matmul', this.k.matmul, args, parts);
    else this.k.matmul(...args, 0, 1);
  }

  protected runAdd(a: Tensor, b: Tensor, out: Tensor): void {
    this.k.add(ptr(a), ptr(b), ptr(out), out.size);
  }

  protected runScale(a: Tensor, s: number, out: Tensor): void {
    this.k.scale(ptr(a), s, ptr(out), out.size);
  }

  protected runReduce(op: ReduceOp, a: Tensor, out: Tensor, rows: number, cols: number): void {
    (op === 'sum' ? this.k.reduce_sum : this.k.reduce_max)(ptr(a), ptr(out), rows, cols);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.pool?.dispose();
  }

  /** A view of the tensor's bytes; made fresh each time because memory.grow detaches old views. */
  private f32(t: Tensor): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr(t), t.size);
  }
}

const ptr = (t: Tensor): number => (t as WasmTensor).ptr;

