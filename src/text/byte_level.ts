// GPT-2's byte level (Hugging Face `tokenizers` ByteLevel): the alphabet that spells every
// byte as a printable character, and the regex its pre-tokenizer splits words with.

/**
 * The character that stands for byte b in byte-level vocabularies. Printable Latin-1 bytes
 * ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 (controls, space, DEL,
 * 0x80-0xA0, soft hyphen) move to U+0100 and up in byte order, so space is 'Ġ' and '\n' is 'Ċ'.
 * Every vocabulary entry is then printable and free of spaces.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars: string[] = [];
  let moved = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCharCode(printable ? b : 0x100 + moved++));
  }
  return chars;
})();

/** The byte-level spelling of some bytes ("Ġthe" for " the"). */
export function byteLevelString(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!]!;
  return s;
}

/**
 * GPT-2's pre-tokenizer regex with `\s` spelled as Unicode White_Space, the meaning it has in
 * Hugging Face `tokenizers` (oniguruma) and tiktoken (Rust regex). JavaScript's own `\s`
 * differs: it also matches U+FEFF and misses U+0085.
 */
export const GPT2_SPLIT_PATTERN =
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+`;
