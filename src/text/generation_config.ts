// Generation options, named as in Hugging Face's GenerationConfig, with their checks.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from './tokenizer.js';

export interface GenerationConfig {
  /** New tokens per sequence at most (default 32). */
  max_new_tokens?: number;
  /** Sample (default true); false is greedy decoding (argmax, lowest id on ties). */
  do_sample?: boolean;
  /** Logits are divided by it before sampling (default 1; 0 means greedy). */
  temperature?: number;
  /** Keep only the k most likely tokens (default 0: off). */
  top_k?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches top_p (default 1: off). */
  top_p?: number;
  /** Samples per prompt (default 1). */
  num_return_sequences?: number;
  /** Seed of the device RNG: the same seed gives the same samples on every runtime and backend (default 0). */
  seed?: number;
  /** Token(s) that end a sequence (default: the tokenizer's EOS; null: none). */
  eos_token_id?: number | number[] | null;
  /** Id that fills the left of shorter prompts (masked out; default: the tokenizer's PAD, else EOS, else 0). */
  pad_token_id?: number;
  /** A sequence ends after the token that completes one of these strings (needs a tokenizer). */
  stop_strings?: string[];
  /** Keep keys and values on the device and feed one token per step (default true). */
  use_cache?: boolean;
  /** Sequences per device batch (default: all of them in one). */
  batch_size?: number;
  /** Steps between checks of which sequences have stopped (each check reads the new tokens back; default 8). */
  sync_every?: number;
}

/** A GenerationConfig with every default filled in and checked. */
export interface ResolvedGeneration {
  maxNewTokens: number;
  /** 0 when greedy. */
  temperature: number;
  topK: number;
  topP: number;
  n: number;
  seed: number;
  eos: Set<number>;
  pad: number;
  stopStrings: string[];
  useCache: boolean;
  batchSize: number | undefined;
  syncEvery: number;
}

/** The sampling keys of a generation_config.json that generate() honours; the rest are transformers' own. */
const FOLDER_KEYS = ['max_new_tokens', 'do_sample', 'temperature', 'top_k', 'top_p', 'eos_token_id', 'pad_token_id'] as const;

/**
 * The defaults a model folder's generation_config.json sets, as transformers reads it: keys it
 * leaves out take transformers' GenerationConfig defaults (greedy: do_sample false; top_k 50
 * when sampling), not webrlhf's. Options given to generate() override them.
 */
export function generationDefaults(json: unknown, file = 'generation_config.json'): GenerationConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: it is ${JSON.stringify(json)}, not a JSON object`);
  const raw = json as Record<string, unknown>;
  const out: Record<string, unknown> = { do_sample: false, top_k: 50 };
  for (const key of FOLDER_KEYS) if (raw[key] !== undefined && raw[key] !== null) out[key] = raw[key];
  return out as GenerationConfig;
}

const KNOWN = new Set(['max_new_tokens', 'do_sample', 'temperature', 'top_k', 'top_p', 'num_return_sequences', 'seed', 'eos_token_id',
  'pad_token_id', 'stop_strings', 'use_cache', 'batch_size', 'sync_every']);

export function resolveGeneration(c: GenerationConfig, vocabSize: number, tokenizer: Tokenizer | undefined): ResolvedGeneration {
  for (const key of Object.keys(c)) {
    if (!KNOWN.has(key)) throw new ConfigError(`generation: unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`);
  }
  const int = (name: keyof GenerationConfig, value: unknown, min: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new ConfigError(`generation: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const temperature = c.temperature ?? 1;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new ConfigError(`generation: temperature must be a finite number ≥ 0 (0 is greedy), got ${JSON.stringify(c.temperature)}`);
  }
  const topP = c.top_p ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new ConfigError(`generation: top_p must be in (0, 1] (1 is off), got ${JSON.stringify(c.top_p)}`);
  const token = (name: string, id: number): number => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new ConfigError(`generation: ${name} ${id} is not a token id of this model (0..${vocabSize - 1})`);
    }
    return id;
  };
  const eosOption = c.eos_token_id === undefined ? tokenizer?.eosTokenId : c.eos_token_id;
  const eos = new Set((eosOption === null || eosOption === undefined ? [] : Array.isArray(eosOption) ? eosOption : [eosOption]).map((id) => token('eos_token_id', id)));
  const stopStrings = c.stop_strings ?? [];
  if (!Array.isArray(stopStrings) || stopStrings.some((s) => typeof s !== 'string' || s === '')) {
    throw new ConfigError('generation: stop_strings must be an array of non-empty strings');
  }
  if (stopStrings.length && !tokenizer) throw new ConfigError('generation: stop_strings need a tokenizer to read the text; pass { tokenizer }');
  const greedy = c.do_sample === false || temperature === 0;
  return {
    maxNewTokens: int('max_new_tokens', c.max_new_tokens ?? 32, 1),
    temperature: greedy ? 0 : temperature,
    topK: int('top_k', c.top_k ?? 0, 0),
    topP,
    n: int('num_return_sequences', c.num_return_sequences ?? 1, 1),
    seed: int('seed', c.seed ?? 0, 0),
    eos,
    pad: token('pad_token_id', c.pad_token_id ?? tokenizer?.padTokenId ?? tokenizer?.eosTokenId ?? 0),
    stopStrings,
    useCache: c.use_cache ?? true,
    batchSize: c.batch_size === undefined ? undefined : int('batch_size', c.batch_size, 1),
    syncEvery: int('sync_every', c.sync_every ?? 8, 1),
  };
}
