import type { Backend, BackendKind } from '../backend/backend.js';
import { compileWasm, createMemory, instantiateWasm, type WasmSource } from '../backend/wasm/load_wasm.js';
import { WasmThreadPool } from '../backend/wasm/thread_pool.js';
import { splittableKernels } from '../backend/wasm/kernel_manifest.js';
import { WasmBackend } from '../backend/wasm/wasm_backend.js';
import { WebGPUBackend } from '../backend/webgpu/webgpu_backend.js';
import { ConfigError, NoGPUError } from '../errors.js';
import { chooseAuto } from './auto_choice.js';
import { acquireGPU, type AcquiredGPU, type AdapterSummary } from './gpu_acquire.js';
import { platform, type RuntimeName } from './platform.js';

export type BackendChoice = 'auto' | BackendKind;

export interface RuntimeOptions {
  /** 'auto' (default): WebGPU on a hardware GPU, else WASM. Overridden by WEBRLHF_BACKEND. */
  backend?: BackendChoice;
  /**
   * WASM threads (worker threads sharing one memory). Default: the logical CPU count, at
   * most 8; overridden by WEBRLHF_THREADS. Browsers get threads only on cross-origin-isolated
   * pages (COOP/COEP headers); elsewhere the WASM backend runs on one thread.
   */
  threads?: number;
  /** The plain WASM kernels (webrlhf.wasm), when the default location (beside the bundle) does not fit. */
  wasm?: WasmSource;
  /** The threads build (webrlhf-mt.wasm); without it, a custom `wasm` runs on one thread. */
  wasmThreads?: WasmSource;
}

export interface Runtime {
  /** node, deno, browser or worker. */
  runtime: RuntimeName;
  runtimeVersion: string;
  backend: Backend;
  /** What was asked for, what was chosen, and why. */
  choice: { requested: BackendChoice; chosen: BackendKind; reason: string };
  /** The WebGPU adapter, when one was found (even if 'auto' chose WASM). */
  adapter?: AdapterSummary;
  /** Every GPU acquisition attempt and its outcome. */
  gpuAttempts: string[];
  dispose(): void;
}

const CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

/** The one call that gives a ready backend in any runtime. */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const p = platform();
  const requested = options.backend ?? (p.env('WEBRLHF_BACKEND') as BackendChoice | undefined) ?? 'auto';
  if (!CHOICES.includes(requested)) {
    throw new ConfigError(`backend '${String(requested)}' is not one of ${CHOICES.map((c) => `'${c}'`).join(', ')}`);
  }

  let acquired: AcquiredGPU | undefined;
  let gpuAttempts: string[] = [];
  if (requested !== 'wasm') {
    const result = await acquireGPU(p.gpuSources());
    acquired = result.gpu;
    gpuAttempts = result.attempts;
  }
  if (requested === 'webgpu' && !acquired) {
    throw new NoGPUError(
      `backend 'webgpu' was requested but no usable WebGPU device was found in ${p.runtime}.\nTried:\n` +
      gpuAttempts.map((a) => `  - ${a}`).join('\n') + `\nFix: ${p.gpuHelp}`,
      gpuAttempts,
    );
  }

  const { backend: chosen, reason } = requested === 'auto'
    ? chooseAuto(acquired?.summary)
    : { backend: requested, reason: 'requested' };

  let backend: Backend;
  if (chosen === 'webgpu') {
    backend = new WebGPUBackend(acquired!);
  } else {
    acquired?.device.destroy();
    backend = await createWasmBackend(options);
  }

  return {
    runtime: p.runtime,
    runtimeVersion: p.runtimeVersion,
    backend,
    choice: { requested, chosen, reason },
    adapter: acquired?.summary,
    gpuAttempts,
    dispose: () => backend.dispose(),
  };
}

const MAX_DEFAULT_THREADS = 8;

function threadCount(options: RuntimeOptions): number {
  const p = platform();
  const fromEnv = p.env('WEBRLHF_THREADS');
  const threads = options.threads ?? (fromEnv !== undefined ? Number(fromEnv) : Math.min(p.concurrency(), MAX_DEFAULT_THREADS));
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError(`threads must be a positive integer, got ${JSON.stringify(options.threads ?? fromEnv)}`);
  }
  return threads;
}

/** The WASM backend, threaded where the platform can share a WebAssembly memory between workers. */
async function createWasmBackend(options: RuntimeOptions): Promise<WasmBackend> {
  const p = platform();
  const threads = threadCount(options);
  const threaded = threads > 1 && p.spawnWorker !== undefined && (options.wasm === undefined || options.wasmThreads !== undefined);
  if (!threaded) {
    const module = await compileWasm(options.wasm ?? (await p.wasmSource('single')));
    return new WasmBackend(await instantiateWasm(module, createMemory(false)));
  }
  const module = await compileWasm(options.wasmThreads ?? (await p.wasmSource('threads')));
  const memory = createMemory(true);
  const instance = await instantiateWasm(module, memory);
  const pool = await WasmThreadPool.start(module, memory, threads, splittableKernels(instance.manifest), p.spawnWorker!, p.canBlock);
  return new WasmBackend(instance, pool);
}
