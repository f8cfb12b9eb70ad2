import { DeviceLimitError } from '../../errors.js';
import { MAXIMUM_PAGES } from './load_wasm.js';

const PAGE = 65536;
/** The memory's cap (wasm32's 4 GiB). */
export const MAX_WASM_BYTES = MAXIMUM_PAGES * PAGE;

/**
 * A first-fit allocator over a WebAssembly memory, kept on the JavaScript side so the
 * kernels never allocate. Blocks are 64-byte aligned (cache lines, and v128 loads).
 * Freed blocks coalesce with their neighbours; the memory grows when nothing fits.
 */
const ALIGN = 64;

export class Arena {
  readonly memory: WebAssembly.Memory;
  /** Free blocks as [offset, bytes], sorted by offset. */
  private free: [number, number][] = [];
  private top: number;
  private readonly used = new Map<number, number>();

  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.top = roundUp(base, ALIGN);
  }

  /** Bytes currently handed out. */
  get bytesInUse(): number {
    let n = 0;
    for (const bytes of this.used.values()) n += bytes;
    return n;
  }

  alloc(bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [off, len] = this.free[i]!;
      if (len < size) continue;
      if (len === size) this.free.splice(i, 1);
      else this.free[i] = [off + size, len - size];
      this.used.set(off, size);
      return off;
    }
    const off = this.top;
    this.ensure(off + size);
    this.top = off + size;
    this.used.set(off, size);
    return off;
  }

  release(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) return;
    this.used.delete(offset);
    let i = this.free.findIndex(([o]) => o > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, [offset, size]);
    // Coalesce with the next block, then with the previous one.
    const next = this.free[i + 1];
    if (next && offset + size === next[0]) {
      this.free[i] = [offset, size + next[1]];
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev[0] + prev[1] === offset) {
      prev[1] += this.free[i]![1];
      this.free.splice(i, 1);
    }
    // A free block at the top gives its bytes back to the bump pointer.
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free.pop();
    }
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow geometrically so repeated small allocations do not grow page by page.
    if (end > MAX_WASM_BYTES) {
      throw new DeviceLimitError(`WASM backend: ${end} bytes needed, but WebAssembly memory is limited to 4 GiB; use a smaller model or batch, or the WebGPU backend`);
    }
    const want = Math.min(MAX_WASM_BYTES, Math.max(end, Math.min(have * 2, have + 256 * 1024 * 1024)));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch (cause) {
      throw new DeviceLimitError(`WASM backend: could not grow memory to ${want} bytes (${String(cause)}); free tensors or use a smaller batch`);
    }
  }
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
