import { WasmLoadError } from '../../errors.js';
import type { WasmKernels } from './wasm_backend.js';

/** Where the compiled kernels (webrlhf.wasm) come from. */
export type WasmSource = BufferSource | Response | URL | string | WebAssembly.Module;

const EXPORTS = ['memory', 'heap_base', 'matmul', 'add', 'scale', 'reduce_sum', 'reduce_max'] as const;

export async function instantiateWasm(source: WasmSource): Promise<WasmKernels> {
  let module: WebAssembly.Module;
  try {
    module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(await bytes(source));
  } catch (cause) {
    throw new WasmLoadError(
      `could not load webrlhf.wasm (${cause instanceof Error ? cause.message : String(cause)}); ` +
      `pass createRuntime({ wasm }) a URL, Response or bytes of dist/web/webrlhf.wasm, and check the runtime supports WebAssembly SIMD`,
      { cause },
    );
  }
  const instance = await WebAssembly.instantiate(module, { env: { abort: wasmAbort } });
  const exports = instance.exports as Record<string, unknown>;
  const missing = EXPORTS.filter((name) => !(name in exports));
  if (missing.length) throw new WasmLoadError(`webrlhf.wasm lacks ${missing.join(', ')}: it is from another version; rebuild with npm run build`);
  return exports as unknown as WasmKernels;
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
