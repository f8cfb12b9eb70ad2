// What the WASM backend gives op families (op_family.ts): its AssemblyScript exports, called
// by parameter name through the signatures the build stored in the module
// (kernel_manifest.ts); splitting across the thread pool; scratch space.
import { KernelInterfaceError } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import type { Arena } from './arena.js';
import { kernelNames, splittableKernels, type WasmSignature } from './kernel_manifest.js';
import type { WasmInstance } from './load_wasm.js';
import type { WasmThreadPool } from './thread_pool.js';

/** A kernel argument: a tensor (passed as its byte offset), a number, a flag; undefined is a null pointer. */
export type WasmArg = Tensor | number | boolean | undefined;
/** A kernel's arguments by parameter name (an op's plan object); checked against its signature when called. */
export type WasmArgs = object;

/** How a splittable kernel's rows are shared: across threads once `work` reaches `minWork`. */
export interface SplitOptions {
  rows: number;
  work: number;
  minWork: number;
}

type Kernel = (...args: number[]) => number | void;

interface CompiledSignature {
  readonly params: WasmSignature['params'];
  /** Parameters the caller names: all but a splittable kernel's (part, parts). */
  readonly named: number;
  readonly splittable: boolean;
}

export class WasmKernelContext {
  readonly threads: number;
  readonly #exports: WasmInstance['exports'];
  readonly #signatures = new Map<string, CompiledSignature>();
  readonly #pool: WasmThreadPool | undefined;
  readonly #arena: Arena;
  #workspacePtr = 0;
  #workspaceBytes = 0;

  constructor(instance: WasmInstance, arena: Arena, pool: WasmThreadPool | undefined) {
    this.#exports = instance.exports;
    this.#pool = pool;
    this.#arena = arena;
    this.threads = pool?.threads ?? 1;
    const splittable = new Set(splittableKernels(instance.manifest));
    for (const name of kernelNames(instance.manifest)) {
      const { params } = instance.manifest.exports[name]!;
      const split = splittable.has(name);
      this.#signatures.set(name, { params, named: params.length - (split ? 2 : 0), splittable: split });
    }
  }

  /** Runs kernel `name` on this thread, its parameters given by name. */
  call(name: string, args: WasmArgs): void {
    const sig = this.#signature(name);
    const values = this.#positional(name, sig, args);
    if (sig.splittable) values.push(0, 1);
    this.#exports[name]!(...values);
  }

  /**
   * Runs a kernel that takes (part, parts) over `rows` rows: split across the thread pool when
   * there is one and the work is big enough, else in one call. Every row is computed by the
   * same code either way, so results do not depend on the thread count.
   */
  split(name: string, args: WasmArgs, o: SplitOptions): void {
    const sig = this.#signature(name);
    if (!sig.splittable) throw new KernelInterfaceError(`WASM kernel ${name} takes no (part, parts): it cannot be split across threads`);
    const values = this.#positional(name, sig, args);
    const parts = Math.min(this.threads, o.rows);
    const kernel = this.#exports[name] as Kernel;
    if (this.#pool && parts > 1 && o.work >= o.minWork) this.#pool.run(name, kernel, values, parts);
    else kernel(...values, 0, 1);
  }

  /**
   * A family implementation whose methods pass an op's plan straight to the kernel of the same
   * name (the plan's keys are the kernel's parameter names). The names are checked now.
   */
  direct<K>(names: readonly (keyof K & string)[]): Pick<K, (typeof names)[number]> {
    for (const name of names) this.#signature(name);
    return Object.fromEntries(names.map((name) => [name, (plan: WasmArgs) => this.call(name, plan)])) as Pick<K, (typeof names)[number]>;
  }

  /** A helper export that returns a number (matmul_scratch_bytes, sample_scratch_bytes). */
  helper(name: string, ...args: number[]): number {
    const fn = this.#exports[name];
    if (typeof fn !== 'function') throw new KernelInterfaceError(`the WASM module has no export ${name}`);
    return fn(...args) as number;
  }

  /** Space that lives as long as the backend (a kernel's packing buffers), bytes from the arena. */
  reserve(bytes: number): number {
    return this.#arena.alloc(bytes);
  }

  /**
   * Scratch space for one kernel call (column sums in f64; a slice per thread for sampling);
   * kept between calls and grown on demand. Calls are synchronous, so one region serves them all.
   */
  workspace(bytes: number): number {
    if (bytes > this.#workspaceBytes) {
      if (this.#workspacePtr) this.#arena.release(this.#workspacePtr);
      this.#workspaceBytes = Math.max(bytes, 2 * this.#workspaceBytes, 4096);
      this.#workspacePtr = this.#arena.alloc(this.#workspaceBytes);
    }
    return this.#workspacePtr;
  }

  #signature(name: string): CompiledSignature {
    const sig = this.#signatures.get(name);
    if (!sig) throw new KernelInterfaceError(`the WASM module has no kernel ${name} (kernels: ${[...this.#signatures.keys()].join(', ')})`);
    return sig;
  }

  /** The arguments in the kernel's parameter order; every parameter named exactly once. */
  #positional(name: string, sig: CompiledSignature, plan: WasmArgs): number[] {
    const args = plan as Readonly<Record<string, WasmArg>>;
    const values: number[] = new Array(sig.named);
    for (let i = 0; i < sig.named; i++) {
      const [param, type] = sig.params[i]!;
      if (!(param in args)) throw new KernelInterfaceError(`WASM kernel ${name}: no value for parameter '${param}' (given: ${Object.keys(args).join(', ')})`);
      values[i] = argument(name, param, type, args[param]);
    }
    let given = 0;
    for (const _ in args) given++;
    if (given !== sig.named) {
      const known = new Set(sig.params.map(([p]) => p));
      const extra = Object.keys(args).filter((k) => !known.has(k));
      throw new KernelInterfaceError(`WASM kernel ${name} has no parameter ${extra.map((e) => `'${e}'`).join(', ')} (parameters: ${sig.params.map(([p]) => p).join(', ')})`);
    }
    return values;
  }
}

function argument(kernel: string, param: string, type: string, v: WasmArg): number {
  if (typeof v === 'object') {
    if (type !== 'usize') throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given a tensor`);
    return (v as unknown as { ptr: number }).ptr;
  }
  if (v === undefined) {
    if (type !== 'usize') throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given undefined`);
    return 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if ((type === 'i32' || type === 'u32' || type === 'usize') && !Number.isInteger(v)) {
    throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given ${v}`);
  }
  return v;
}
