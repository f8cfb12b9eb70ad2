// The byte tokenizer, the default of the built-in tasks: a token per UTF-8 byte. It has no
// merges to run, so it is written here rather than run by Tokenizers.js; saved, it is a
// tokenizer.json that Python `tokenizers`, transformers and loadTokenizer read the same way.
import { TokenizerError } from '../errors.js';
import { BYTE_TO_CHAR } from './byte_level.js';
import { checkTokenId, type Tokenizer } from './tokenizer.js';

export const BYTE_BOS_TOKEN = '<|bos|>';
export const BYTE_EOS_TOKEN = '<|endoftext|>';
export const BYTE_PAD_TOKEN = '<|pad|>';

const SPECIALS = [BYTE_BOS_TOKEN, BYTE_EOS_TOKEN, BYTE_PAD_TOKEN] as const;

/**
 * Ids 0..255 are the bytes of the text's UTF-8; BOS `<|bos|>` = 256, EOS `<|endoftext|>` = 257,
 * PAD `<|pad|>` = 258; vocabSize 259.
 *
 * Text is never turned into special ids: "<|endoftext|>" written in the text is 13 bytes, and
 * only the ids themselves (eosTokenId, ...) mean EOS (saved as transformers'
 * `split_special_tokens: true`), so untrusted text cannot forge a BOS/EOS/PAD.
 * decode(encode(s)) === s for every well-formed string; a lone surrogate encodes as U+FFFD.
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 259;
  readonly bosTokenId = 256;
  readonly eosTokenId = 257;
  readonly padTokenId = 258;
  /** The special tokens' contents, BOS, EOS, PAD. */
  readonly specialTokens: readonly string[] = SPECIALS;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a leading U+FEFF is text

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode takes a string; got ${Object.prototype.toString.call(text)}`, { field: 'text' });
    return Array.from(this.encoder.encode(text));
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      checkTokenId(id, i, this.vocabSize);
      if (id < 256) bytes.push(id);
      else if (!options.skipSpecialTokens) for (const b of this.encoder.encode(SPECIALS[id - 256])) bytes.push(b);
    }
    return this.decoder.decode(Uint8Array.from(bytes)); // not fatal: invalid UTF-8 becomes U+FFFD
  }

  tokenToId(token: string): number | undefined {
    const special = SPECIALS.indexOf(token as (typeof SPECIALS)[number]);
    if (special >= 0) return 256 + special;
    const byte = BYTE_TO_CHAR.indexOf(token);
    return byte >= 0 ? byte : undefined;
  }

  /** The byte-level spelling of a byte ("Ġ" for a space), or a special token's content. */
  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return id < 256 ? BYTE_TO_CHAR[id] : SPECIALS[id - 256];
  }

  /** Whether `id` is BOS, EOS or PAD. */
  isSpecial(id: number): boolean {
    return id >= 256 && id < this.vocabSize;
  }
}

/** The byte tokenizer (see ByteTokenizer). */
export function byteTokenizer(): ByteTokenizer {
  return new ByteTokenizer();
}
