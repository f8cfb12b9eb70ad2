import { Backend, Tensor, type BackendInfo } from '../backend.js';
import { sizeOf, type Shape } from '../shapes.js';
import { Arena } from './arena.js';
import type { WasmInstance } from './load_wasm.js';
import type { WasmThreadPool } from './thread_pool.js';
import { WasmKernelContext } from './wasm_kernels.js';

class WasmTensor extends Tensor {
  /** Byte offset in linear memory; a view's is its root's plus its offset. */
  readonly ptr: number;
  constructor(backend: WasmBackend, shape: Shape, ptr: number, base?: Tensor) {
    super(backend, shape, base);
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

  protected viewOffset(t: Tensor): number {
    return ((t as WasmTensor).ptr - ((t.base ?? t) as WasmTensor).ptr) / 4;
  }

  protected makeView(root: Tensor, offset: number, shape: Shape): Tensor {
    return new WasmTensor(this, shape, (root as WasmTensor).ptr + offset * 4, root);
  }

  protected runZero(t: Tensor): void {
    this.f32(t).fill(0);
  }

  protected runCopy(src: Tensor, dst: Tensor): void {
    const from = (src as WasmTensor).ptr;
    new Uint8Array(this.#memory.buffer).copyWithin((dst as WasmTensor).ptr, from, from + src.size * 4);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.#pool?.dispose();
  }

  /** A view of the tensor's bytes; made fresh each time because memory.grow detaches old views. */
  private f32(t: Tensor): Float32Array {
    return new Float32Array(this.#memory.buffer, (t as WasmTensor).ptr, t.size);
  }
}
