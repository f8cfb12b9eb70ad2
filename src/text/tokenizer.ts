// What generation, training and the tasks need from a tokenizer: text ↔ token ids.
import { TokenizerError } from '../errors.js';
import type { ChatTemplate } from './chat_template.js';

export interface Tokenizer {
  /** Ids are 0 … vocabSize − 1. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** The ids of `text`. Never adds BOS/EOS: the caller places them. */
  encode(text: string): number[];
  /**
   * The text of `ids`. Never throws on byte sequences that are not UTF-8 (a sampled token may
   * end inside a character): invalid bytes become U+FFFD. Throws TokenizerError on an id
   * outside the vocabulary. `skipSpecialTokens` leaves out special tokens (BOS, EOS, PAD, ...).
   */
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  /** The id of a vocabulary entry or added token, as written in the vocabulary (GPT-2: "Ġthe"). */
  tokenToId(token: string): number | undefined;
  /** The vocabulary entry of `id` (GPT-2: "Ġthe"), or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined;
  /** The model's chat template (tokenizer_config.json's chat_template), when it has one: conversations are rendered with it. */
  readonly chatTemplate?: ChatTemplate | undefined;
}

/** Throws TokenizerError unless `id` (at `position` of the ids being decoded) is a valid id. */
export function checkTokenId(id: number, position: number, vocabSize: number): void {
  if (Number.isInteger(id) && id >= 0 && id < vocabSize) return;
  const what = Number.isInteger(id) ? 'is outside the vocabulary' : 'is not an integer';
  throw new TokenizerError(
    `cannot decode token id ${id} at position ${position}: it ${what} (ids 0..${vocabSize - 1}, vocabSize ${vocabSize}). ` +
      'The ids most likely come from a model whose vocabulary does not match this tokenizer: use the tokenizer saved with the model ' +
      '(config.json vocab_size must equal the tokenizer\'s vocabSize).',
    { field: 'ids' },
  );
}
