import type { WorkerHandle } from '../backend/wasm/thread_pool.js';
import type { Platform, RuntimeName } from './platform.js';

type DenoGlobal = { version: { deno: string }; env: { get(name: string): string | undefined } };
const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
const isWindow = typeof (globalThis as { document?: unknown }).document !== 'undefined';

function runtimeName(): RuntimeName {
  if (deno) return 'deno';
  return isWindow ? 'browser' : 'worker';
}

/** Threads share a WebAssembly memory only through SharedArrayBuffer: browsers allow it on cross-origin-isolated pages. */
function canShareMemory(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer !== 'undefined' && typeof Worker !== 'undefined' && (deno !== undefined || g.crossOriginIsolated === true);
}

function spawnWebWorker(source: string): WorkerHandle {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  URL.revokeObjectURL(url);
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (fn) => worker.addEventListener('message', (e) => fn((e as MessageEvent).data)),
    terminate: () => worker.terminate(),
  };
}

/** Deno, browsers and Web Workers: navigator.gpu, and the WASM files fetched beside the bundle. */
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
  wasmSource: async (build) => new URL(build === 'threads' ? './webrlhf-mt.wasm' : './webrlhf.wasm', import.meta.url),
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
  concurrency: () => globalThis.navigator?.hardwareConcurrency ?? 1,
  spawnWorker: canShareMemory() ? spawnWebWorker : undefined,
  canBlock: !isWindow,
};
