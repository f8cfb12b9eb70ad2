import type { WorkerHandle } from '../backend/wasm/thread_pool.js';
import { tmpPath, type Platform, type PlatformFS, type RuntimeName } from './platform.js';

type DenoFile = { write(bytes: Uint8Array): Promise<number>; sync(): Promise<void>; close(): void; readable: ReadableStream<Uint8Array> };
type DenoDirEntry = { name: string };
type DenoGlobal = {
  version: { deno: string };
  env: { get(name: string): string | undefined };
  readFile(path: string | URL): Promise<Uint8Array>;
  open(path: string | URL, options?: { read?: boolean; write?: boolean; create?: boolean; truncate?: boolean }): Promise<DenoFile>;
  writeFile(path: string | URL, bytes: Uint8Array, options: { append: boolean }): Promise<void>;
  readDir(path: string | URL): AsyncIterable<DenoDirEntry>;
  rename(from: string | URL, to: string | URL): Promise<void>;
  remove(path: string | URL, options?: { recursive: boolean }): Promise<void>;
  mkdir(path: string | URL, options: { recursive: boolean }): Promise<void>;
  errors: { NotFound: new (...args: never[]) => Error; PermissionDenied: new (...args: never[]) => Error; IsADirectory: new (...args: never[]) => Error };
};
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

/** Deno's filesystem (needs --allow-read / --allow-write). */
function denoFS(d: DenoGlobal): PlatformFS {
  return {
    async readFile(path) {
      try {
        return await d.readFile(path);
      } catch (e) {
        if (e instanceof d.errors.NotFound) return undefined;
        throw e;
      }
    },
    async openRead(path) {
      try {
        // The file closes itself when its stream ends or is cancelled.
        return (await d.open(path, { read: true })).readable;
      } catch (e) {
        if (e instanceof d.errors.NotFound) return undefined;
        throw e;
      }
    },
    async writeFileAtomic(path, bytes) {
      const tmp = tmpPath(path);
      const file = await d.open(tmp, { write: true, create: true, truncate: true });
      try {
        try {
          for (let done = 0; done < bytes.byteLength; ) done += await file.write(bytes.subarray(done));
          await file.sync();
        } finally {
          file.close();
        }
        await d.rename(tmp, path);
      } catch (e) {
        await d.remove(tmp).catch(() => {}); // ours: open() created it
        throw e;
      }
    },
    async mkdirp(path) {
      await d.mkdir(path, { recursive: true });
    },
    async appendFile(path, bytes) {
      await d.writeFile(path, bytes, { append: true });
    },
    async list(path) {
      const names: string[] = [];
      try {
        for await (const entry of d.readDir(path)) names.push(entry.name);
      } catch (e) {
        if (e instanceof d.errors.NotFound) return undefined;
        throw e;
      }
      return names;
    },
    async rename(from, to) {
      await d.rename(from, to);
    },
    async remove(path) {
      try {
        await d.remove(path, { recursive: true });
      } catch (e) {
        if (!(e instanceof d.errors.NotFound)) throw e;
      }
    },
    async sync(path) {
      let file: DenoFile | undefined;
      try {
        file = await d.open(path, { read: true });
        await file.sync();
      } catch (e) {
        // Windows opens no directory for syncing; its renames need none.
        if (!(e instanceof d.errors.PermissionDenied || e instanceof d.errors.IsADirectory)) throw e;
      } finally {
        file?.close();
      }
    },
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
  fs: deno ? denoFS(deno) : undefined,
};
