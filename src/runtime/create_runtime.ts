import type { Backend, BackendKind } from '../backend/backend.js';
import { instantiateWasm, type WasmSource } from '../backend/wasm/load_wasm.js';
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
  /** The compiled kernels, when the default location (beside the bundle) does not fit. */
  wasm?: WasmSource;
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
    backend = new WasmBackend(await instantiateWasm(options.wasm ?? (await p.wasmSource())));
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
