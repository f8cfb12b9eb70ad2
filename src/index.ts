// The runtime-agnostic public API. Import it through the package ('webrlhf'), whose
// entry for Node, Deno or browsers installs the matching platform first.
export { createRuntime, type Runtime, type RuntimeOptions, type BackendChoice } from './runtime/create_runtime.js';
export { chooseAuto } from './runtime/auto_choice.js';
export type { AdapterSummary } from './runtime/gpu_acquire.js';
export type { RuntimeName } from './runtime/platform.js';
export { Backend, Tensor, type BackendKind, type BackendInfo, type MatmulOptions, type ReduceOptions } from './backend/backend.js';
export { VIEW_ALIGN, type RowIndex, type AdamWStep } from './backend/layer_ops.js';
export type { WasmSource } from './backend/wasm/load_wasm.js';
export * from './errors.js';
