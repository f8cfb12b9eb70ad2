// Byte-level BPE (GPT-2's tokenizer) with Hugging Face `tokenizers` semantics: split on added
// tokens, then GPT-2's regex, then UTF-8 bytes spelled in the byte-level alphabet, merged by rank.
import { TokenizerError } from '../errors.js';
import { AddedTokenSplitter, type AddedToken } from './added_tokens.js';
import type { MergeTable } from './bpe_merges.js';
import { checkBPESpec, SPEC_ORIGIN, type BPETokenizerSpec, type SpecOrigin } from './bpe_spec.js';
import { byteLevelString, decodeTable, splitWords } from './byte_level.js';
import { checkTokenId, type Tokenizer } from './tokenizer.js';

export type { AddedTokenSpec, BPETokenizerSpec, FieldRef, SpecOrigin } from './bpe_spec.js';

/** Words up to this long are cached; the cache holds at most CACHE_SIZE words (Hugging Face's default capacity). */
const MAX_CACHED_WORD = 256;
const CACHE_SIZE = 10_000;

/**
 * A byte-level BPE tokenizer (GPT-2, and every tokenizer.json with a BPE model and the
 * ByteLevel pre-tokenizer). encode(text):
 * 1. splits text on the contents of added tokens (leftmost, longest), which become their ids.
 *    Special tokens written in the text (GPT-2: "<|endoftext|>") are matched too, as in
 *    Hugging Face `tokenizers`, unless `splitSpecialTokens` is set;
 * 2. splits each remaining piece with GPT-2's regex (see GPT2_SPLIT_PATTERN);
 * 3. merges each word's UTF-8 bytes by merge rank (lowest first, leftmost on ties).
 *
 * decode(encode(s)) === s for every well-formed string s when no added token strips
 * whitespace and addPrefixSpace is off. Lone surrogates are not Unicode text: encode turns
 * each into U+FFFD's bytes (as TextEncoder does), so they decode as U+FFFD.
 */
export class BPETokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** The BPE model's vocabulary (byte-level token → id). */
  readonly vocab: ReadonlyMap<string, number>;
  readonly merges: readonly (readonly [string, string])[];
  /** Added tokens in id order, the special tokens named by bosToken/eosToken/padToken included. */
  readonly addedTokens: readonly AddedToken[];
  readonly unkToken: string | null;
  readonly addPrefixSpace: boolean;
  readonly useRegex: boolean;
  readonly ignoreMerges: boolean;
  readonly splitSpecialTokens: boolean;

  private readonly tokens: string[];
  private readonly addedByContent: Map<string, number>;
  private readonly special: Uint8Array;
  private readonly byteIds: Int32Array;
  private readonly mergeTable: MergeTable;
  private readonly splitter: AddedTokenSplitter;
  private readonly cache = new Map<string, number[]>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a leading U+FEFF is text
  private utf8Buffer = new Uint8Array(256);
  // Token id → the bytes it decodes to: bytes[offsets[id] .. offsets[id + 1]].
  private readonly decodeBytes: Uint8Array;
  private readonly decodeOffsets: Int32Array;

  /** Checks the spec (TokenizerError naming `origin`'s file and field) and builds the tokenizer. */
  constructor(spec: BPETokenizerSpec, origin: SpecOrigin = SPEC_ORIGIN) {
    const checked = checkBPESpec(spec, origin);
    this.vocabSize = checked.tokens.length;
    this.bosTokenId = checked.bosTokenId;
    this.eosTokenId = checked.eosTokenId;
    this.padTokenId = checked.padTokenId;
    this.vocab = checked.vocab;
    this.merges = checked.merges;
    this.addedTokens = checked.addedTokens;
    this.unkToken = spec.unkToken ?? null;
    this.addPrefixSpace = spec.addPrefixSpace ?? false;
    this.useRegex = spec.useRegex ?? true;
    this.ignoreMerges = spec.ignoreMerges ?? false;
    this.splitSpecialTokens = spec.splitSpecialTokens ?? false;
    this.tokens = checked.tokens;
    this.byteIds = checked.byteIds;
    this.mergeTable = checked.mergeTable;
    this.addedByContent = new Map(this.addedTokens.map((t) => [t.content, t.id]));
    this.special = new Uint8Array(this.vocabSize);
    for (const t of this.addedTokens) if (t.special) this.special[t.id] = 1;
    this.splitter = new AddedTokenSplitter(this.addedTokens, this.splitSpecialTokens);
    ({ bytes: this.decodeBytes, offsets: this.decodeOffsets } = decodeTable(this.tokens));
  }

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string; got ${Object.prototype.toString.call(text)}`, { field: 'text' });
    const ids: number[] = [];
    for (const piece of this.splitter.split(text)) {
      if (typeof piece === 'number') ids.push(piece);
      else if (piece !== '') this.encodeText(piece, ids);
    }
    return ids;
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      checkTokenId(id, i, this.vocabSize);
      if (!(skip && this.special[id])) total += this.decodeOffsets[id + 1]! - this.decodeOffsets[id]!;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.special[id]) continue;
      const piece = this.decodeBytes.subarray(this.decodeOffsets[id]!, this.decodeOffsets[id + 1]!);
      bytes.set(piece, at);
      at += piece.length;
    }
    return this.decoder.decode(bytes); // not fatal: invalid UTF-8 becomes U+FFFD
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokens[id] : undefined;
  }

  /** Whether `id` is a special token (left out by decode's skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }

  /** Text between added tokens: the pre-tokenizer, then BPE per word. */
  private encodeText(text: string, ids: number[]): void {
    const s = this.addPrefixSpace && !text.startsWith(' ') ? ` ${text}` : text;
    if (!this.useRegex) return this.encodeWord(s, ids);
    for (const w of splitWords(s)) this.encodeWord(w, ids);
  }

  private encodeWord(word: string, ids: number[]): void {
    const cached = this.cache.get(word);
    if (cached) {
      for (const id of cached) ids.push(id);
      return;
    }
    const bytes = this.utf8(word);
    if (this.mergeTable.size === 0 && !this.ignoreMerges) {
      for (const b of bytes) ids.push(this.byteIds[b]!); // no merges (the byte tokenizer): nothing to cache
      return;
    }
    const whole = this.ignoreMerges ? this.vocab.get(byteLevelString(bytes)) : undefined;
    const result = whole !== undefined ? [whole] : this.mergeTable.apply(Array.from(bytes, (b) => this.byteIds[b]!));
    if (word.length <= MAX_CACHED_WORD) {
      if (this.cache.size >= CACHE_SIZE) this.cache.clear();
      this.cache.set(word, result);
    }
    for (const id of result) ids.push(id);
  }

  /** The UTF-8 of `s` in a reused buffer (valid until the next call). */
  private utf8(s: string): Uint8Array {
    if (this.utf8Buffer.length < 3 * s.length) this.utf8Buffer = new Uint8Array(3 * s.length);
    const { written } = this.encoder.encodeInto(s, this.utf8Buffer);
    return this.utf8Buffer.subarray(0, written);
  }
}
