import type { BackendKind } from '../backend/backend.js';
import { adapterName, type AdapterSummary } from './gpu_acquire.js';

/**
 * What `backend: 'auto'` picks. A hardware adapter always means WebGPU. On a software
 * adapter (llvmpipe, lavapipe, SwiftShader) the GPU is emulated on the same CPU cores the
 * WASM backend uses; measured on a 2-core x86-64 machine (docs/ARCHITECTURE.md, "auto"),
 * the WASM backend is the faster one there, so it is the choice.
 */
export function chooseAuto(adapter: AdapterSummary | undefined): { backend: BackendKind; reason: string } {
  if (!adapter) return { backend: 'wasm', reason: 'no WebGPU adapter found' };
  if (!adapter.software) return { backend: 'webgpu', reason: `hardware adapter: ${adapterName(adapter)}` };
  return { backend: 'wasm', reason: `software adapter (${adapterName(adapter)}): the WASM backend is faster on the same CPU` };
}
