// A tokenizer.json tokenizer (GPT-2, SmolLM2, Qwen2.5/3, Llama, Mistral): the added tokens are
// found here (added_tokens.ts, as Python `tokenizers` finds them), the normalizer, pre-tokenizer,
// BPE and decoder run in Tokenizers.js (pipeline.ts).
import { TokenizerError } from '../errors.js';
import { AddedTokenSplitter, type AddedToken } from './added_tokens.js';
import type { ChatTemplate } from './chat_template.js';
import { buildPipeline, type Pipeline } from './pipeline.js';
import { checkTokenId, type Tokenizer } from './tokenizer.js';
import type { CheckedVocabulary } from './vocabulary.js';

/** What parseTokenizer hands HFTokenizer: every part checked. */
export interface HFTokenizerParts {
  /** tokenizer.json, its added_tokens those of `vocabulary`. */
  json: Record<string, unknown>;
  /** tokenizer_config.json as read ({} without one), kept for saving. */
  config: Record<string, unknown>;
  vocabulary: CheckedVocabulary;
  /** Special tokens written in text are text (transformers' split_special_tokens). */
  splitSpecialTokens: boolean;
  chatTemplate?: ChatTemplate | undefined;
}

/**
 * encode(text), as Python `tokenizers` with add_special_tokens=False:
 * 1. the added tokens that are not normalized are found in the text (leftmost, longest;
 *    single_word, lstrip, rstrip honoured) and become their ids; special ones stay text when
 *    splitSpecialTokens is set;
 * 2. each piece between them is normalized, and the normalized added tokens are found in it;
 * 3. the pieces left are pre-tokenized and encoded by the BPE model.
 * decode(ids) runs tokenizer.json's decoder; invalid UTF-8 becomes U+FFFD, never an error.
 */
export class HFTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** Added tokens in id order, the special tokens named by tokenizer_config.json included. */
  readonly addedTokens: readonly AddedToken[];
  readonly splitSpecialTokens: boolean;
  /** tokenizer_config.json's chat_template (or chat_template.jinja's), when the folder has one. */
  readonly chatTemplate: ChatTemplate | undefined;
  /** The files as read, for saving: tokenizer.json (with the added tokens above) and tokenizer_config.json. */
  readonly tokenizerJson: Readonly<Record<string, unknown>>;
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;

  private readonly pipeline: Pipeline;
  private readonly splitter: AddedTokenSplitter;
  private readonly tokens: string[];
  private readonly vocab: Map<string, number>;
  private readonly addedIds: Map<string, number>;
  private readonly special: Uint8Array;
  private readonly unkId: number | undefined;

  constructor(parts: HFTokenizerParts) {
    const v = parts.vocabulary;
    this.vocabSize = v.tokens.length;
    this.bosTokenId = v.bosTokenId;
    this.eosTokenId = v.eosTokenId;
    this.padTokenId = v.padTokenId;
    this.addedTokens = v.addedTokens;
    this.splitSpecialTokens = parts.splitSpecialTokens;
    this.chatTemplate = parts.chatTemplate;
    this.tokenizerJson = parts.json;
    this.tokenizerConfig = parts.config;
    this.tokens = v.tokens;
    this.vocab = v.vocab;
    this.addedIds = new Map(this.addedTokens.map((t) => [t.content, t.id]));
    this.special = new Uint8Array(this.vocabSize);
    for (const t of this.addedTokens) if (t.special) this.special[t.id] = 1;
    this.splitter = new AddedTokenSplitter(this.addedTokens, this.splitSpecialTokens);
    this.pipeline = buildPipeline(parts.json);
    const unk = (parts.json.model as { unk_token?: unknown }).unk_token;
    this.unkId = typeof unk === 'string' ? this.tokenToId(unk) : undefined;
  }

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string; got ${Object.prototype.toString.call(text)}`, { field: 'text' });
    const ids: number[] = [];
    this.splitter.split(text, false).forEach((piece, i) => {
      if (typeof piece === 'number') return void ids.push(piece);
      if (piece === '') return; // a normalizer that prepends (Llama's) leaves empty text empty
      const normalized = this.pipeline.normalizer ? this.pipeline.normalizer(piece) : piece;
      this.splitter.split(normalized, true).forEach((part, j) => {
        if (typeof part === 'number') ids.push(part);
        // Metaspace's prepend_scheme "first" prefixes only the text at the start of the input.
        else if (part !== '') this.encodeSection(part, i === 0 && j === 0, ids);
      });
    });
    return ids;
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    for (let i = 0; i < ids.length; i++) checkTokenId(ids[i]!, i, this.vocabSize);
    if (ids.length === 0) return ''; // Tokenizers.js refuses an empty list
    return this.pipeline.decode(Array.from(ids), { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokens[id] : undefined;
  }

  /** Whether `id` is a special token (left out by decode's skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }

  private encodeSection(text: string, atStart: boolean, ids: number[]): void {
    const words = this.pipeline.pre_tokenizer ? this.pipeline.pre_tokenizer(text, { section_index: atStart ? 0 : 1 }) : [text];
    for (const token of this.pipeline.model!(words)) {
      const id = this.vocab.get(token) ?? this.unkId;
      if (id === undefined) {
        throw new TokenizerError(
          `cannot encode ${JSON.stringify(text.slice(0, 40))}: the BPE model made ${JSON.stringify(token)}, which is not in the vocabulary, and there is no unk_token ` +
            'or byte fallback to stand for it. The vocabulary lacks characters of this text: use the tokenizer the model was trained with',
          { field: 'text' },
        );
      }
      ids.push(id);
    }
  }
}
