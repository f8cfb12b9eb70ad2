// The WebAssembly backend: the same ops as kernels/*.wgsl, over raw pointers into the
// linear memory, which JavaScript creates and owns (src/backend/wasm/arena.ts): nothing here
// allocates, so the AssemblyScript runtime is the stub one. The module is built twice, with
// a plain and with a shared (threads) memory; kernels that split across threads take
// (part, parts) as their last arguments.
export { matmul, matmul_scratch_bytes } from './matmul';
export { add, scale } from './elementwise';
export { reduce_sum, reduce_max, reduce_sumsq, column_sum } from './reduce';
export { random_uniform } from './philox';
export { sample_tokens, sample_scratch_bytes } from './sampling';
export { token_logprobs } from './logprobs';
export { embedding, gather_rows, scatter_add_rows } from './embedding';
export { layernorm, layernorm_backward } from './layernorm';
export { gelu, gelu_backward } from './gelu';
export { gather_heads, scatter_heads, causal_softmax, causal_softmax_backward } from './attention';
export { cached_attention } from './cached_attention';
export { softmax_crossentropy } from './crossentropy';
export { adamw } from './adamw';
export { ppo_rewards, masked_whiten, gae, ppo_policy_loss, ppo_value_loss } from './losses/ppo';
export { bradley_terry, dpo } from './losses/preference';
export { rlmec } from './losses/rlmec';
export { gaussian_reparameterize, gaussian_reparameterize_backward, mib_loss } from './losses/mib';

/** First byte JavaScript may allocate from. */
export function heap_base(): usize {
  return __heap_base;
}
