import type { WorkerSpawner } from '../backend/wasm/thread_pool.js';
import type { WasmSource } from '../backend/wasm/load_wasm.js';
import type { GPUSource } from './gpu_acquire.js';

export type RuntimeName = 'node' | 'deno' | 'browser' | 'worker';

/** The two builds of the WASM kernels: plain memory, and shared memory for threads. */
export type WasmBuild = 'single' | 'threads';

/**
 * What differs between Node, Deno and browsers: where a GPU comes from, where the WASM
 * kernels are read from, how threads start, and how settings are read. The entry points
 * (src/entry/) install one; everything else is runtime-agnostic.
 */
export interface Platform {
  runtime: RuntimeName;
  runtimeVersion: string;
  gpuSources(): GPUSource[];
  wasmSource(build: WasmBuild): Promise<WasmSource>;
  env(name: string): string | undefined;
  /** What to do when no GPU was found, for NoGPUError. */
  gpuHelp: string;
  /** Logical CPUs, for the default number of WASM threads. */
  concurrency(): number;
  /** Starts a worker thread; undefined where threads cannot share a WebAssembly memory. */
  spawnWorker: WorkerSpawner | undefined;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  canBlock: boolean;
}

let installed: Platform | undefined;

export function setPlatform(platform: Platform): void {
  installed = platform;
}

export function platform(): Platform {
  if (!installed) throw new Error('webrlhf: no platform installed; import webrlhf through its package entry (dist/node or dist/web)');
  return installed;
}
