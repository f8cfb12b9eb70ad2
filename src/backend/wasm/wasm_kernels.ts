// What the WASM backend gives op families (op_family.ts): its AssemblyScript exports, called
// by parameter name through the signatures the build stored in the module
// (kernel_manifest.ts); splitting across the thread pool; scratch space.
import { KernelInterfaceError } from '../../errors.js';
import { KeyOrderCache } from '../key_order_cache.js';
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
  /** Where each named parameter stands in an argument object's keys. */
  readonly positions: KeyOrderCache<number[]>;
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
      const named = params.length - (split ? 2 : 0);
      this.#signatures.set(name, { params, named, splittable: split, positions: new KeyOrderCache((keys) => positions(name, params, named, keys)) });
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
    const positions = sig.positions.layout(Object.keys(plan));
    const given = Object.values(plan) as WasmArg[];
    const values: number[] = new Array(sig.named);
    for (let i = 0; i < sig.named; i++) values[i] = argument(name, sig.params[i]!, given[positions[i]!]);
    return values;
  }
}

/** Where each of the kernel's named parameters stands among `keys`; a missing or unknown name throws. */
function positions(name: string, params: WasmSignature['params'], named: number, keys: readonly string[]): number[] {
  const names = params.slice(0, named).map(([p]) => p);
  const missing = names.filter((p) => !keys.includes(p));
  if (missing.length) throw new KernelInterfaceError(`WASM kernel ${name}: no value for parameter ${missing.map((m) => `'${m}'`).join(', ')} (given: ${keys.join(', ')})`);
  const extra = keys.filter((k) => !names.includes(k));
  if (extra.length) throw new KernelInterfaceError(`WASM kernel ${name} has no parameter ${extra.map((e) => `'${e}'`).join(', ')} (parameters: ${params.map(([p]) => p).join(', ')})`);
  return names.map((p) => keys.indexOf(p));
}

function argument(kernel: string, [param, type]: readonly [string, string], v: WasmArg): number {
  if (typeof v === 'number') {
    if ((type === 'i32' || type === 'u32' || type === 'usize') && !Number.isInteger(v)) {
      throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given ${v}`);
    }
    return v;
  }
  if (typeof v === 'object') {
    if (type !== 'usize') throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given a tensor`);
    return (v as unknown as { ptr: number }).ptr;
  }
  if (v === undefined) {
    if (type !== 'usize') throw new KernelInterfaceError(`WASM kernel ${kernel}: parameter '${param}' is ${type}, given undefined`);
    return 0;
  }
  return v ? 1 : 0;
}
