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
  /** MLP width; null or absent means 4·n_embd. */
  n_inner?: number | null;
  /** Other config.json keys, kept as they are on load and on save. */
  [key: string]: unknown;
}

/** GPT-2 small (124M parameters). */
export const GPT2_SMALL: GPTConfig = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, layer_norm_epsilon: 1e-5 };

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Checks the keys that shape a GPT-2, in place on a copy of a parsed config.json (other keys
 * are kept): fills n_positions from the older n_ctx and layer_norm_epsilon (1e-5) when absent.
 * `complain` turns a problem into the caller's error (ConfigError here, CheckpointError for
 * a file).
 */
export function checkGPTConfig<T extends Record<string, unknown>>(raw: T, complain: (problem: string) => Error): T & GPTConfig {
  const c: Record<string, unknown> = { ...raw };
  if (c.n_positions === undefined && c.n_ctx !== undefined) c.n_positions = c.n_ctx;
  if (c.layer_norm_epsilon === undefined) c.layer_norm_epsilon = 1e-5;
  for (const key of ['n_embd', 'n_layer', 'n_head', 'n_positions', 'vocab_size']) {
    if (!isPositiveInt(c[key])) throw complain(`${key} is ${c[key] === undefined ? 'missing' : JSON.stringify(c[key])}; it must be a positive integer`);
  }
  const eps = c.layer_norm_epsilon;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw complain(`layer_norm_epsilon is ${JSON.stringify(eps)}; it must be a positive number`);
  if (c.n_inner !== undefined && c.n_inner !== null && !isPositiveInt(c.n_inner)) throw complain(`n_inner is ${JSON.stringify(c.n_inner)}; it must be null or a positive integer`);
  if ((c.n_embd as number) % (c.n_head as number) !== 0) throw complain(`n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  return c as T & GPTConfig;
}

/** Validates a config (a parsed config.json may carry more keys; they are dropped here). */
export function gptConfig(raw: Partial<GPTConfig> & Record<string, unknown>): GPTConfig {
  const c = checkGPTConfig(raw, (problem) => new ConfigError(`GPT config: ${problem}`));
  const shape: GPTConfig = { vocab_size: c.vocab_size, n_positions: c.n_positions, n_embd: c.n_embd, n_layer: c.n_layer, n_head: c.n_head, layer_norm_epsilon: c.layer_norm_epsilon };
  if (c.n_inner != null) shape.n_inner = c.n_inner;
  return shape;
}
