// Configs shaped like real checkpoints, for benchmarks with random weights (no downloads).
import type { LlamaConfig } from 'webrlhf';

/** HuggingFaceTB/SmolLM2-135M's config.json, as far as it shapes the model. */
export const SMOLLM2_135M: LlamaConfig = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
  num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000,
  rms_norm_eps: 1e-5, tie_word_embeddings: true, hidden_act: 'silu',
};

/** Qwen/Qwen2.5-0.5B's config.json, as far as it shapes the model (qwen2: q, k, v biases). */
export const QWEN25_05B = {
  model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
  num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rope_theta: 1000000,
  rms_norm_eps: 1e-6, tie_word_embeddings: true, hidden_act: 'silu', use_sliding_window: false, sliding_window: null, max_window_layers: 21,
} as unknown as LlamaConfig;
