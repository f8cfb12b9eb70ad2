// The WebAssembly backend: the same ops as kernels/*.wgsl, over raw pointers into this
// module's linear memory. JavaScript owns allocation (src/backend/wasm/arena.ts); nothing
// here allocates, so the AssemblyScript runtime is the stub one.
export { matmul } from './matmul';
export { add, scale } from './elementwise';
export { reduce_sum, reduce_max } from './reduce';

/** First byte JavaScript may allocate from. */
export function heap_base(): usize {
  return __heap_base;
}
