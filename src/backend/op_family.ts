// The seam between op families (src/ops/) and backends. A family is one module that owns its
// ops' argument checks and plans, the kernel interface its public functions call, and an
// implementation of that interface per backend. Backends know no family: each hands a
// family's implementation its kernel context (how to run a WGSL entry point or a WASM export
// by name) and caches what the family builds from it. So a new paper's losses are a new
// family file beside their WGSL and AssemblyScript, and a new backend can start with the core
// family alone.
import type { BackendKind } from './backend.js';
import type { GPUKernelContext } from './webgpu/gpu_kernels.js';
import type { WasmKernelContext } from './wasm/wasm_kernels.js';

/** What each backend gives a family's implementation to run its kernels with. */
export interface KernelContexts {
  webgpu: GPUKernelContext;
  wasm: WasmKernelContext;
}

/** Per backend: builds the family's kernel interface K from that backend's kernel context. */
export type FamilyImplementations<K> = { readonly [B in BackendKind]?: (context: KernelContexts[B]) => K };

export interface OpFamily<K> {
  /** Names the family in errors ('layers', 'ppo losses', ...). */
  readonly name: string;
  readonly implementations: FamilyImplementations<K>;
}

/** Declares a family; `backend.kernels(family)` builds and caches its implementation. */
export function opFamily<K>(name: string, implementations: FamilyImplementations<K>): OpFamily<K> {
  return { name, implementations };
}
