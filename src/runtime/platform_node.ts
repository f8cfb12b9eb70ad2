import { mkdirSync } from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { WorkerHandle } from '../backend/wasm/thread_pool.js';
import type { GPUSource } from './gpu_acquire.js';
import { FILE_CHUNK_BYTES, tmpPath, type Platform, type PlatformFS } from './platform.js';

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

let dawn: Promise<DawnModule> | undefined;

function loadDawn(): Promise<DawnModule> {
  // Mesa's EGL needs a platform when there is no display; it is read when Dawn opens GL.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  // Without a runtime directory Mesa prints an error on every start; a private one silences it.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `webrlhf-runtime-${process.getuid?.() ?? 'user'}`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      process.env.XDG_RUNTIME_DIR = dir;
    } catch {
      // Only cosmetic: leave it unset.
    }
  }
  dawn ??= import('webgpu').then((module) => {
    const m = module as unknown as DawnModule;
    // Dawn's GPUBufferUsage, GPUMapMode, ... are what WebGPU code expects as globals.
    for (const [k, v] of Object.entries(m.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    return m;
  });
  return dawn;
}

function dawnSource(flags: string[], featureLevels: GPUSource['featureLevels']): GPUSource {
  return {
    label: `Dawn [${flags.join(' ') || 'default backend'}]`,
    featureLevels,
    open: async () => (await loadDawn()).create(flags),
  };
}

/**
 * Dawn backends to try. The default one is Vulkan (or Metal/D3D12); Mesa's lavapipe lacks a
 * Vulkan feature Dawn wants, so OpenGL ES (compatibility level) on llvmpipe comes next.
 * WEBRLHF_DAWN replaces the list with the user's own flags.
 */
export function dawnSources(userFlags: string | undefined): GPUSource[] {
  if (userFlags) return [dawnSource(userFlags.split(/[\s;]+/).filter(Boolean), ['core', 'compatibility'])];
  return [
    dawnSource([], ['core', 'compatibility']),
    dawnSource(['backend=opengles'], ['compatibility']),
    dawnSource(['backend=vulkan'], ['core', 'compatibility']),
  ];
}

export const nodePlatform: Platform = {
  runtime: 'node',
  runtimeVersion: process.versions.node,
  gpuSources: () => dawnSources(process.env.WEBRLHF_DAWN),
  wasmSource: async (build) => readFile(new URL(build === 'threads' ? './webrlhf-mt.wasm' : './webrlhf.wasm', import.meta.url)),
  env: (name) => process.env[name],
  gpuHelp:
    'Node uses Dawn (npm package webgpu). Install a GPU driver; with no GPU, install software ones: ' +
    'apt-get install mesa-vulkan-drivers libegl-mesa0 libgl1-mesa-dri libvulkan1 (Dawn then runs on OpenGL ES/llvmpipe). ' +
    "Choose Dawn's backend with WEBRLHF_DAWN, e.g. WEBRLHF_DAWN=backend=opengles or WEBRLHF_DAWN=backend=vulkan " +
    "(with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader). Or use { backend: 'wasm' }.",
  concurrency: () => availableParallelism(),
  spawnWorker: spawnNodeWorker,
  canBlock: true,
  fs: nodeFS(),
};

function nodeFS(): PlatformFS {
  return {
    async readFile(path) {
      try {
        const b = await readFile(path);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async openRead(path) {
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
      return fileStream(handle);
    },
    async writeFileAtomic(path, bytes) {
      const tmp = tmpPath(path);
      const file = await open(tmp, 'w');
      try {
        try {
          await file.writeFile(bytes);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {}); // ours: open() created it
        throw e;
      }
    },
    async mkdirp(path) {
      await mkdir(path, { recursive: true });
    },
    async appendFile(path, bytes) {
      await appendFile(path, bytes);
    },
    async list(path) {
      try {
        return await readdir(path);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async rename(from, to) {
      await rename(from, to);
    },
    async remove(path) {
      await rm(path, { recursive: true, force: true });
    },
    async sync(path) {
      let file;
      try {
        file = await open(path, 'r');
        await file.sync();
      } catch (e) {
        // Windows opens no directory for syncing (EISDIR, EPERM), some filesystems sync none (EINVAL).
        if (!CANNOT_SYNC_DIRECTORY.has((e as { code?: string }).code ?? '')) throw e;
      } finally {
        await file?.close();
      }
    },
  };
}

/** A pull stream over an open file: one chunk read per pull, the file closed at the end, on error and on cancel. */
function fileStream(handle: FileHandle): ReadableStream<Uint8Array> {
  const close = () => handle.close().catch(() => {}); // a second close (end, then cancel) is harmless
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = new Uint8Array(FILE_CHUNK_BYTES);
        const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, null);
        if (bytesRead === 0) {
          await close();
          controller.close();
        } else {
          controller.enqueue(chunk.subarray(0, bytesRead));
        }
      } catch (e) {
        await close();
        controller.error(e);
      }
    },
    cancel: close,
  });
}

const CANNOT_SYNC_DIRECTORY = new Set(['EISDIR', 'EPERM', 'EINVAL']);

function spawnNodeWorker(source: string): WorkerHandle {
  const worker = new Worker(source, { eval: true });
  // Workers block in Atomics.wait between jobs; they must not keep the process alive.
  worker.unref();
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (fn) => worker.on('message', fn),
    terminate: () => void worker.terminate(),
  };
}
