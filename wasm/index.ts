// The WebAssembly backend: the same ops as kernels/*.wgsl, over raw pointers into the
// linear memory, which JavaScript creates and owns (src/backend/wasm/arena.ts): nothing here
// allocates, so the AssemblyScript runtime is the stub one. The module is built twice, with
// a plain and with a shared (threads) memory; kernels that split across threads take
// (part, parts) as their last arguments.
//
// Every export of a kernel file below is a kernel (or, returning a number, a size helper the
// host calls): the host calls each by its parameter names, which the build stores in the
// module (scripts/wasm_manifest.mjs), and each kernel has a WGSL twin of the same name
// (test/kernel_interface.test.ts). Shared helpers live in lib/ and are not exported.
export * from './activations';
export * from './adamw';
export * from './attention';
export * from './cached_attention';
export * from './crossentropy';
export * from './dropout';
export * from './elementwise';
export * from './embedding';
export * from './layernorm';
export * from './logprobs';
export * from './matmul';
export * from './random';
export * from './reduce';
export * from './rmsnorm';
export * from './rotary';
export * from './sampling';
export * from './losses/grpo';
export * from './losses/mib';
export * from './losses/ppo';
export * from './losses/preference';
export * from './losses/rlmec';

/** First byte JavaScript may allocate from. */
export function heap_base(): usize {
  return __heap_base;
}
