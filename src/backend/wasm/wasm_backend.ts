import { Backend, Tensor, type BackendInfo } from '../backend.js';
import { DTYPE_BYTES, type DType } from '../dtype.js';
import { sizeOf, type Shape } from '../shapes.js';
import { Arena } from './arena.js';
import type { WasmInstance } from './load_wasm.js';
import type { WasmThreadPool } from './thread_pool.js';
import { WasmKernelContext } from './wasm_kernels.js';

class WasmTensor extends Tensor {
  /** Byte offset in linear memory; a view's is its root's plus its offset. */
  readonly ptr: number;
  constructor(backend: WasmBackend, shape: Shape, ptr: number, base?: Tensor, dtype?: DType) {
    super(backend, shape, base, dtype);
    this.ptr = ptr;
  }
  protected release(): void {
    (this.backend as WasmBackend).arena.release(this.ptr);
  }
}

/**
 * The CPU backend: AssemblyScript SIMD kernels over one WebAssembly memory, optionally split
 * across worker threads that share it. Tensors are byte ranges of that memory, handed out by
 * a JavaScript-side arena; op families run the kernels through WasmKernelContext.
 */
export class WasmBackend extends Backend {
  readonly kind = 'wasm' as const;
  readonly arena: Arena;
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #pool: WasmThreadPool | undefined;
  readonly #context: WasmKernelContext;

  constructor(instance: WasmInstance, pool?: WasmThreadPool) {
    super();
    this.#memory = instance.memory;
    this.#pool = pool;
    this.threads = pool?.threads ?? 1;
    this.arena = new Arena(instance.memory, instance.exports.heap_base!() as number);
    this.#context = new WasmKernelContext(instance, this.arena, pool);
  }

  info(): BackendInfo {
    return {
      kind: 'wasm',
      device: `WebAssembly SIMD (${this.threads} thread${this.threads > 1 ? 's' : ''})`,
      software: true,
      details: { threads: this.threads, memoryBytes: this.#memory.buffer.byteLength, bytesInUse: this.arena.bytesInUse },
    };
  }

  protected kernelContext(): WasmKernelContext {
    return this.#context;
  }

  protected allocate(shape: Shape, _parts: unknown, dtype: DType): Tensor {
    const t = new WasmTensor(this, shape, this.arena.alloc(sizeOf(shape) * DTYPE_BYTES[dtype]), undefined, dtype);
    this.bytesOf(t).fill(0);
    return t;
  }

  protected upload(t: Tensor, data: Float32Array | Uint16Array): void {
    this.bytesOf(t).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  protected download(t: Tensor): Promise<Float32Array | Uint16Array> {
    const bytes = this.bytesOf(t).slice();
    return Promise.resolve(t.dtype === 'f32' ? new Float32Array(bytes.buffer) : new Uint16Array(bytes.buffer));
  }

  protected viewOffset(t: Tensor): number {
    return ((t as WasmTensor).ptr - ((t.base ?? t) as WasmTensor).ptr) / DTYPE_BYTES[t.dtype];
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new WasmTensor(this, shape, (root as WasmTensor).ptr + offset * DTYPE_BYTES[root.dtype], root);
  }

  protected runZero(t: Tensor): void {
    this.bytesOf(t).fill(0);
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    const from = (src as WasmTensor).ptr;
    new Uint8Array(this.#memory.buffer).copyWithin((dst as WasmTensor).ptr, from, from + src.bytes);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.#pool?.dispose();
  }

  /** A view of the tensor's bytes; made fresh each time because memory.grow detaches old views. */
  private bytesOf(t: Tensor): Uint8Array {
    return new Uint8Array(this.#memory.buffer, (t as WasmTensor).ptr, t.bytes);
  }
}
