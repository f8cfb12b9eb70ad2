import { Backend, Tensor, type BackendInfo, type MatmulOptions, type ReduceOp } from '../backend.js';
import { sizeOf, type MatmulGeometry, type Shape } from '../shapes.js';
import { Arena } from './arena.js';

/** The functions wasm/index.ts exports (pointers are byte offsets). */
export interface WasmKernels {
  memory: WebAssembly.Memory;
  heap_base(): number;
  matmul(a: number, b: number, bias: number, out: number, M: number, N: number, K: number, batch: number,
    strideA: number, strideB: number, strideOut: number, transA: number, transB: number, alpha: number, accumulate: number): void;
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

/** The CPU backend: AssemblyScript SIMD kernels over one WebAssembly memory. */
export class WasmBackend extends Backend {
  readonly kind = 'wasm' as const;
  readonly arena: Arena;
  private readonly k: WasmKernels;

  constructor(kernels: WasmKernels) {
    super();
    this.k = kernels;
    this.arena = new Arena(kernels.memory, kernels.heap_base());
  }

  info(): BackendInfo {
    return {
      kind: 'wasm',
      device: 'WebAssembly SIMD (1 thread)',
      software: true,
      details: { memoryBytes: this.k.memory.buffer.byteLength, bytesInUse: this.arena.bytesInUse },
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
    this.k.matmul(ptr(a), ptr(b), o.bias ? ptr(o.bias) : 0, ptr(out), g.M, g.N, g.K, g.batch,
      g.strideA, g.strideB, g.strideOut, o.transA ? 1 : 0, o.transB ? 1 : 0, o.alpha ?? 1, o.accumulate ? 1 : 0);
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

  dispose(): void {}

  /** A view of the tensor's bytes; made fresh each time because memory.grow detaches old views. */
  private f32(t: Tensor): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr(t), t.size);
  }
}

const ptr = (t: Tensor): number => (t as WasmTensor).ptr;

