// The starting policy of a built-in task: a small GPT-2 (or Llama, Qwen2, Qwen3) trained from
// scratch by SFT on the task's demonstrations, with the keys that size and train it (shared by `webrlhf rlmec` and
// `webrlhf rlp`, each with its own context length and step count).
import { sftConfig } from '../algorithms/sft/config.js';
import { SFTTrainer } from '../algorithms/sft/trainer.js';
import type { Backend } from '../backend/backend.js';
import type { SFTRecord } from '../data/records.js';
import type { ModelConfig, ModelType } from '../nn/architecture.js';
import { gptConfig } from '../nn/config.js';
import { CausalLM } from '../nn/causal_lm.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { enumKey, integerKey, numberKey } from '../training/config/schema.js';
import type { TrainOptions } from '../training/trainer.js';

export interface BuiltinPolicyConfig {
  model_type: ModelType;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_positions: number;
  sft_max_steps: number;
  sft_batch_size: number;
  sft_learning_rate: number;
  logging_steps: number;
}

/** The keys, with the task's context length and SFT steps (and why they suit it). */
export function builtinPolicyKeys(d: { n_positions: number; positionsWhy: string; sft_max_steps: number; sft_batch_size?: number; data: string }) {
  return {
    model_type: enumKey(['gpt2', 'llama', 'qwen2', 'qwen3'], 'gpt2', 'Built-in starting policy: its family (llama, qwen2, qwen3: RMSNorm, rotary positions, a SwiGLU MLP of the same parameter count as GPT-2\'s, half as many KV heads as heads when that divides).'),
    n_embd: integerKey(64, 'Built-in starting policy: width.', { min: 1 }),
    n_layer: integerKey(2, 'Built-in starting policy: layers.', { min: 1 }),
    n_head: integerKey(4, 'Built-in starting policy: attention heads (must divide n_embd).', { min: 1 }),
    n_positions: integerKey(d.n_positions, `Built-in starting policy: context length (${d.positionsWhy}).`, { min: 16 }),
    sft_max_steps: integerKey(d.sft_max_steps, `Built-in starting policy: SFT steps on ${d.data}.`, { min: 1 }),
    sft_batch_size: integerKey(d.sft_batch_size ?? 16, 'Built-in starting policy: demonstrations per SFT step.', { min: 1 }),
    sft_learning_rate: numberKey(3e-3, 'Built-in starting policy: SFT learning rate.', { min: 0 }),
  };
}

/** A new policy trained from scratch on `demos` (cosine schedule, 5% warm-up, sft_batch_size per step); the caller owns it. */
export async function trainBuiltinPolicy(backend: Backend, tokenizer: Tokenizer, c: BuiltinPolicyConfig, seed: number, demos: readonly SFTRecord[], run: TrainOptions): Promise<CausalLM> {
  const model = CausalLM.create(backend, builtinModelConfig(c, tokenizer.vocabSize), { seed });
  try {
    const sft = sftConfig({
      seed, max_steps: c.sft_max_steps, learning_rate: c.sft_learning_rate, per_device_train_batch_size: c.sft_batch_size,
      lr_scheduler_type: 'cosine', warmup_ratio: 0.05, save_steps: 1_000_000, logging_steps: c.logging_steps,
    });
    await new SFTTrainer({ model, tokenizer, config: sft, train: demos }).train(run);
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The config.json of a built-in policy of this family and size. */
export function builtinModelConfig(c: Pick<BuiltinPolicyConfig, 'model_type' | 'n_embd' | 'n_layer' | 'n_head' | 'n_positions'>, vocabSize: number): ModelConfig {
  if (c.model_type === 'gpt2') return gptConfig({ vocab_size: vocabSize, n_positions: c.n_positions, n_embd: c.n_embd, n_layer: c.n_layer, n_head: c.n_head });
  return {
    model_type: c.model_type, vocab_size: vocabSize, hidden_size: c.n_embd,
    // Three matrices of 8/3·C hold as many weights as GPT-2's two of 4·C.
    intermediate_size: Math.round((8 * c.n_embd) / 3), num_hidden_layers: c.n_layer, num_attention_heads: c.n_head,
    num_key_value_heads: c.n_head % 2 === 0 ? c.n_head / 2 : c.n_head, max_position_embeddings: c.n_positions,
    rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true,
  };
}
