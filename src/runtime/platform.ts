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
  /** The local filesystem (Node, Deno); undefined in browsers and Web Workers. */
  fs: PlatformFS | undefined;
}

/** Local files, for model folders and datasets. Paths are OS paths or file: URLs. */
export interface PlatformFS {
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string | URL): Promise<Uint8Array | undefined>;
  /**
   * The file's bytes as a stream read a chunk at a time (the file is never held whole), or
   * undefined when it does not exist. Cancelling the stream closes the file.
   */
  openRead(path: string | URL): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * Writes `<path>.tmp`, flushes it to disk, then renames it over `path`: readers (and a
   * crash) see the old file or the new one, never a partial one. The .tmp is removed on failure.
   */
  writeFileAtomic(path: string | URL, bytes: Uint8Array): Promise<void>;
  /** Creates a directory and its parents; nothing when it exists. */
  mkdirp(path: string | URL): Promise<void>;
  // Run folders (src/training/run/run_storage.ts): logs appended line by line, checkpoints
  // committed by renaming a finished directory.
  /** Appends bytes to a file, creating it when missing. */
  appendFile(path: string | URL, bytes: Uint8Array): Promise<void>;
  /** The names in a directory (files and subdirectories), or undefined when it does not exist. */
  list(path: string | URL): Promise<string[] | undefined>;
  /** Renames a file or a directory (`to` must not be a non-empty directory). */
  rename(from: string | URL, to: string | URL): Promise<void>;
  /** Removes a file, or a directory with everything in it; nothing when it does not exist. */
  remove(path: string | URL): Promise<void>;
  /**
   * Flushes a file, or a directory's entries (so a rename in it survives a power cut), to
   * disk. Where the OS cannot sync a directory (Windows) this is a no-op for directories.
   */
  sync(path: string | URL): Promise<void>;
}

/** Bytes per chunk of openRead in Node (Deno's file streams choose their own). */
export const FILE_CHUNK_BYTES = 64 * 1024;

/** `<path>.tmp`, the file writeFileAtomic writes first. */
export function tmpPath(path: string | URL): string | URL {
  return typeof path === 'string' ? `${path}.tmp` : new URL(`${path.href}.tmp`);
}

let installed: Platform | undefined;

export function setPlatform(platform: Platform): void {
  installed = platform;
}

export function platform(): Platform {
  if (!installed) throw new Error('webrlhf: no platform installed; import webrlhf through its package entry (dist/node or dist/web)');
  return installed;
}
