// GPT-2's byte level (Hugging Face `tokenizers` ByteLevel): the alphabet that spells every
// byte as a printable character, and the pre-tokenizer split into words.

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

// Char code → byte for the byte-level alphabet (all of it below U+0144), −1 elsewhere.
const CODE_TO_BYTE = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (table[c.charCodeAt(0)] = b));
  return table;
})();

/**
 * The bytes a token decodes to, as the ByteLevel decoder does: its byte-level characters
 * mapped back, or, when it has any other character (an added token written with a space or
 * with non-Latin letters), the token's own UTF-8.
 */
export function tokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CODE_TO_BYTE[token.charCodeAt(i)] ?? -1;
    if (b < 0) return new TextEncoder().encode(token);
    out[i] = b;
  }
  return out;
}

/** What each id decodes to (tokenBytes of its token), in one buffer: bytes[offsets[id] .. offsets[id + 1]]. */
export function decodeTable(tokens: readonly string[]): { bytes: Uint8Array; offsets: Int32Array } {
  const offsets = new Int32Array(tokens.length + 1);
  let bytes = new Uint8Array(tokens.length * 8);
  tokens.forEach((token, id) => {
    const start = offsets[id]!;
    const b = tokenBytes(token);
    if (start + b.length > bytes.length) {
      const grown = new Uint8Array(2 * (start + b.length));
      grown.set(bytes);
      bytes = grown;
    }
    bytes.set(b, start);
    offsets[id + 1] = start + b.length;
  });
  return { bytes: bytes.subarray(0, offsets[tokens.length]!), offsets };
}

/**
 * GPT-2's pre-tokenizer regex with `\s` spelled as Unicode White_Space, the meaning it has in
 * Hugging Face `tokenizers` (oniguruma) and tiktoken (Rust regex). JavaScript's own `\s`
 * differs: it also matches U+FEFF and misses U+0085.
 */
export const GPT2_SPLIT_PATTERN =
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+`;

// One regex for every tokenizer: exec's lastIndex state is safe because a split runs to the end synchronously.
const GPT2_SPLIT = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/**
 * GPT-2's words of `text`, in order. Every character is matched by some branch of the regex,
 * so the words spell the text exactly.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  GPT2_SPLIT.lastIndex = 0;
  for (let m = GPT2_SPLIT.exec(text); m !== null; m = GPT2_SPLIT.exec(text)) words.push(m[0]);
  return words;
}
