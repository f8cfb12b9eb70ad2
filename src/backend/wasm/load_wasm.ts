import { WasmLoadError } from '../../errors.js';
import { readKernelManifest, type KernelManifest } from './kernel_manifest.js';

/** Where a compiled kernel module (webrlhf.wasm, webrlhf-mt.wasm) comes from. */
export type WasmSource = BufferSource | Response | URL | string | WebAssembly.Module;

/** An instantiated kernel module: its exports, the memory they work on, and their signatures. */
export interface WasmInstance {
  readonly exports: Readonly<Record<string, (...args: number[]) => number | void>>;
  readonly memory: WebAssembly.Memory;
  readonly manifest: KernelManifest;
}

/** Pages the memory starts with, and its cap (wasm32's 4 GiB); the build uses the same. */
export const INITIAL_PAGES = 16;
export const MAXIMUM_PAGES = 65536;

export function createMemory(shared: boolean): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared } as WebAssembly.MemoryDescriptor);
}

export async function compileWasm(source: WasmSource): Promise<WebAssembly.Module> {
  try {
    return source instanceof WebAssembly.Module ? source : await WebAssembly.compile(await bytes(source));
  } catch (cause) {
    throw new WasmLoadError(
      `could not load the WASM kernels (${cause instanceof Error ? cause.message : String(cause)}); ` +
      `pass createRuntime({ wasm }) a URL, Response or bytes of dist/web/webrlhf.wasm, and check the runtime supports WebAssembly SIMD`,
      { cause },
    );
  }
}

/** Instantiates the kernels on `memory` (which the module imports). */
export async function instantiateWasm(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<WasmInstance> {
  const manifest = readKernelManifest(module);
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory, abort: wasmAbort } });
  } catch (cause) {
    throw new WasmLoadError(`could not instantiate the WASM kernels (${String(cause)}): a threads build needs a shared memory and the plain build a plain one`, { cause });
  }
  const exports = instance.exports as Record<string, (...args: number[]) => number | void>;
  const missing = Object.keys(manifest.exports).filter((name) => typeof exports[name] !== 'function');
  if (missing.length) throw new WasmLoadError(`the WASM kernels lack ${missing.join(', ')}, which their own manifest lists: the file is damaged; rebuild with npm run build`);
  return { exports, memory, manifest };
}

async function bytes(source: WasmSource): Promise<BufferSource> {
  const response = typeof source === 'string' || source instanceof URL ? await fetch(source) : source;
  if (typeof Response !== 'undefined' && response instanceof Response) {
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${response.url}`);
    return response.arrayBuffer();
  }
  return response as BufferSource;
}

function wasmAbort(): never {
  throw new WasmLoadError('a WebAssembly kernel aborted: this is a bug in webrlhf, please report it with the op and shapes');
}
