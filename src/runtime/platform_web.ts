import type { Platform, RuntimeName } from './platform.js';

type DenoGlobal = { version: { deno: string }; env: { get(name: string): string | undefined } };
const deno = (globalThis as { Deno?: DenoGlobal }).Deno;

function runtimeName(): RuntimeName {
  if (deno) return 'deno';
  return typeof (globalThis as { document?: unknown }).document === 'undefined' ? 'worker' : 'browser';
}

/** Deno, browsers and Web Workers: navigator.gpu, and the WASM file fetched beside the bundle. */
export const webPlatform: Platform = {
  runtime: runtimeName(),
  runtimeVersion: deno ? deno.version.deno : (globalThis.navigator?.userAgent ?? 'unknown'),
  gpuSources: () => [
    {
      label: 'navigator.gpu',
      featureLevels: ['core', 'compatibility'],
      open: async () => (globalThis.navigator as Navigator | undefined)?.gpu ?? undefined,
    },
  ],
  wasmSource: async () => new URL('./webrlhf.wasm', import.meta.url),
  env: (name) => {
    if (deno) {
      try {
        return deno.env.get(name);
      } catch {
        return undefined; // no --allow-env
      }
    }
    return undefined;
  },
  gpuHelp: deno
    ? "Deno's navigator.gpu needs a Vulkan driver. With no GPU, install a software one: apt-get install mesa-vulkan-drivers libvulkan1. Or use { backend: 'wasm' }."
    : "Use a browser with WebGPU (Chrome/Edge 113+, or start Chromium with --enable-unsafe-webgpu), or use { backend: 'wasm' }.",
};
