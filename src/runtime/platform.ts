import type { WasmSource } from '../backend/wasm/load_wasm.js';
import type { GPUSource } from './gpu_acquire.js';

export type RuntimeName = 'node' | 'deno' | 'browser' | 'worker';

/**
 * What differs between Node, Deno and browsers: where a GPU comes from, where the WASM
 * kernels are read from, and how settings are read. The entry points (src/entry/) install
 * one; everything else is runtime-agnostic.
 */
export interface Platform {
  runtime: RuntimeName;
  runtimeVersion: string;
  gpuSources(): GPUSource[];
  wasmSource(): Promise<WasmSource>;
  env(name: string): string | undefined;
  /** What to do when no GPU was found, for NoGPUError. */
  gpuHelp: string;
}

let installed: Platform | undefined;

export function setPlatform(platform: Platform): void {
  installed = platform;
}

export function platform(): Platform {
  if (!installed) throw new Error('webrlhf: no platform installed; import webrlhf through its package entry (dist/node or dist/web)');
  return installed;
}
