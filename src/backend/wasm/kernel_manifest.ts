// The WASM kernels' parameter names and types, which the build stores in the module itself
// (scripts/wasm_manifest.mjs reads them off wasm/'s `export function` declarations). The host
// calls every kernel by these names, so an AssemblyScript signature edit cannot silently
// misalign it.
import { WasmLoadError } from '../../errors.js';

export const KERNEL_SECTION = 'webrlhf.kernels';

export type WasmValueType = 'usize' | 'i32' | 'u32' | 'f32' | 'f64' | 'bool' | 'void';

export interface WasmSignature {
  readonly params: readonly (readonly [name: string, type: WasmValueType])[];
  readonly result: WasmValueType;
}

export interface KernelManifest {
  /** Every exported function. Kernels return void; the rest are helpers (sizes, heap_base). */
  readonly exports: Readonly<Record<string, WasmSignature>>;
}

export function readKernelManifest(module: WebAssembly.Module): KernelManifest {
  const sections = WebAssembly.Module.customSections(module, KERNEL_SECTION);
  if (sections.length !== 1) {
    throw new WasmLoadError(`the WASM kernels carry no ${KERNEL_SECTION} section: they are from another version or build; rebuild with npm run build`);
  }
  return JSON.parse(new TextDecoder().decode(sections[0])) as KernelManifest;
}

/** The kernels (void exports), in a fixed order. */
export function kernelNames(m: KernelManifest): string[] {
  return Object.keys(m.exports).filter((name) => m.exports[name]!.result === 'void').sort();
}

/** Kernels whose last two parameters are (part, parts): they may be split across threads. */
export function splittableKernels(m: KernelManifest): string[] {
  return kernelNames(m).filter((name) => {
    const p = m.exports[name]!.params;
    return p.length >= 2 && p[p.length - 2]![0] === 'part' && p[p.length - 1]![0] === 'parts';
  });
}
