// The byte tokenizer, the default of the built-in tasks: a token per UTF-8 byte.
import { BPETokenizer } from './bpe_tokenizer.js';
import { BYTE_TO_CHAR } from './byte_level.js';

export const BYTE_BOS_TOKEN = '<|bos|>';
export const BYTE_EOS_TOKEN = '<|endoftext|>';
export const BYTE_PAD_TOKEN = '<|pad|>';

/**
 * Ids 0..255 are the bytes of the text's UTF-8; BOS `<|bos|>` = 256, EOS `<|endoftext|>` = 257,
 * PAD `<|pad|>` = 258; vocabSize 259.
 *
 * It is a byte-level BPE without merges whose vocabulary gives each byte's character its byte
 * value, plus three special added tokens, so saveTokenizer writes it as a tokenizer.json that
 * Hugging Face `tokenizers`/transformers load and encode the same way.
 *
 * Text is never turned into special ids: "<|endoftext|>" written in the text is 13 bytes, and
 * only the ids themselves (eosTokenId, ...) mean EOS. (splitSpecialTokens is set; it is saved
 * as transformers' `split_special_tokens` in tokenizer_config.json.) Untrusted text therefore
 * cannot forge a BOS/EOS/PAD. decode(encode(s)) === s for every well-formed string.
 */
export function byteTokenizer(): BPETokenizer {
  return new BPETokenizer({
    vocab: new Map(BYTE_TO_CHAR.map((c, b) => [c, b])),
    merges: [],
    addedTokens: [BYTE_BOS_TOKEN, BYTE_EOS_TOKEN, BYTE_PAD_TOKEN].map((content, i) => ({ id: 256 + i, content, special: true })),
    bosToken: BYTE_BOS_TOKEN,
    eosToken: BYTE_EOS_TOKEN,
    padToken: BYTE_PAD_TOKEN,
    useRegex: false, // without merges, splitting into words changes nothing
    splitSpecialTokens: true,
  });
}
