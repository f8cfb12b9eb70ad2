import { ConfigError } from '../errors.js';

/**
 * A GPT-2 model's shape, under the keys of Hugging Face's GPT-2 config.json, so a config
 * read from a checkpoint folder is used as it is.
 */
export interface GPTConfig {
  vocab_size: number;
  /** Longest sequence (rows of the position embedding). */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
}

/** GPT-2 small (124M parameters). */
export const GPT2_SMALL: GPTConfig = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, layer_norm_epsilon: 1e-5 };

/**
 * Validates a config (a parsed config.json may carry more keys; they are ignored here)
 * and fills `layer_norm_epsilon` (1e-5) when absent.
 */
export function gptConfig(raw: Partial<GPTConfig> & Record<string, unknown>): GPTConfig {
  const config = {
    vocab_size: raw.vocab_size,
    n_positions: raw.n_positions ?? (raw as { n_ctx?: number }).n_ctx,
    n_embd: raw.n_embd,
    n_layer: raw.n_layer,
    n_head: raw.n_head,
    layer_norm_epsilon: raw.layer_norm_epsilon ?? 1e-5,
  };
  for (const key of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || (v as number) < 1) {
      throw new ConfigError(`GPT config: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  const c = config as GPTConfig;
  if (c.n_embd % c.n_head !== 0) {
    throw new ConfigError(`GPT config: n_embd (${c.n_embd}) must be divisible by n_head (${c.n_head}); change one of them`);
  }
  if (!(typeof c.layer_norm_epsilon === 'number' && c.layer_norm_epsilon > 0)) {
    throw new ConfigError(`GPT config: layer_norm_epsilon must be a positive number, got ${JSON.stringify(c.layer_norm_epsilon)}`);
  }
  return c;
}

/** The config.json body of a model folder: HF GPT-2 keys, loadable by transformers. */
export function configJson(config: GPTConfig): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    ...config,
    n_ctx: config.n_positions,
    activation_function: 'gelu_new',
    tie_word_embeddings: true,
  };
}
