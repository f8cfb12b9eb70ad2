// Text examples to token ids, the way the trainers feed them to the model: a prompt and a
// completion that ends with EOS, cut to fit max_length.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../text/tokenizer.js';

export interface EncodedPair {
  prompt: number[];
  completion: number[];
}

export interface EncodeOptions {
  /** Prompt + completion tokens at most (also capped by the model's n_positions by the caller). */
  maxLength: number;
  /** Keep only the last this many prompt tokens (default: no limit of its own). */
  maxPromptLength?: number;
  /** End the completion with the tokenizer's EOS (default true): the model learns to stop. */
  appendEos?: boolean;
}

/**
 * Encodes one (prompt, completion). An empty prompt becomes [BOS] (or [EOS]) so the first
 * completion token has a position predicting it. Too long: the prompt keeps its end (the part
 * next to the completion), then the completion is cut at its end, keeping at least one token.
 */
export function encodePair(tokenizer: Tokenizer, prompt: string, completion: string, o: EncodeOptions): EncodedPair {
  if (!Number.isInteger(o.maxLength) || o.maxLength < 2) throw new ConfigError(`max_length must be an integer ≥ 2, got ${o.maxLength}`);
  let p = tokenizer.encode(prompt);
  if (p.length === 0) {
    const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
    if (start === undefined) throw new ConfigError('an empty prompt needs a BOS or EOS token to start from; this tokenizer has neither');
    p = [start];
  }
  const c = tokenizer.encode(completion);
  if (o.appendEos ?? true) {
    if (tokenizer.eosTokenId === undefined) throw new ConfigError('the tokenizer has no EOS token to end completions with; add one (eos_token) or set appendEos: false');
    c.push(tokenizer.eosTokenId);
  }
  if (o.maxPromptLength !== undefined && p.length > o.maxPromptLength) p = p.slice(p.length - o.maxPromptLength);
  if (p.length > o.maxLength - 1) p = p.slice(p.length - (o.maxLength - 1));
  return { prompt: p, completion: c.slice(0, Math.max(1, o.maxLength - p.length)) };
}

/** Token ids with a label per token: the id where it is learned, −100 where it is not. */
export interface EncodedRow {
  ids: number[];
  labels: number[];
}

/**
 * Encodes a conversation's segments one by one (the EOS id after a segment that asks for it),
 * labelling the tokens of trained segments; cut to maxLength from the right (its start kept).
 */
export function encodeSegments(tokenizer: Tokenizer, segments: readonly { text: string; train: boolean; endOfTurn: boolean }[], o: { maxLength: number }): EncodedRow {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const s of segments) {
    const piece = tokenizer.encode(s.text);
    if (s.endOfTurn) {
      if (tokenizer.eosTokenId === undefined) throw new ConfigError('the tokenizer has no EOS token to end assistant turns with; add one (eos_token)');
      piece.push(tokenizer.eosTokenId);
    }
    ids.push(...piece);
    labels.push(...piece.map((id) => (s.train ? id : -100)));
  }
  return { ids: ids.slice(0, o.maxLength), labels: labels.slice(0, o.maxLength) };
}

/** A preference pair's ids: the prompt once, each completion cut as encodePair cuts it. */
export function encodePreference(tokenizer: Tokenizer, pair: { prompt: string; chosen: string; rejected: string }, o: EncodeOptions): { prompt: number[]; chosen: number[]; rejected: number[] } {
  const chosen = encodePair(tokenizer, pair.prompt, pair.chosen, o);
  return { prompt: chosen.prompt, chosen: chosen.completion, rejected: encodePair(tokenizer, pair.prompt, pair.rejected, o).completion };
}
