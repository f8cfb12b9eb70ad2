// Added tokens (special tokens like <|endoftext|>, and tokens added after training): text is
// split on their exact contents before the pre-tokenizer sees it, as Hugging Face
// `tokenizers` does (AddedVocabulary).

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedToken {
  id: number;
  content: string;
  /** Left out by decode({ skipSpecialTokens: true }); not matched in text when the tokenizer splits special tokens. */
  special: boolean;
  /** Matches only when neither neighbour is a word character. */
  singleWord: boolean;
  /** The match takes the whitespace on its left (which then is not encoded). */
  lstrip: boolean;
  /** The match takes the whitespace on its right. */
  rstrip: boolean;
  /** Matched in the normalized text, after the non-normalized tokens were matched in the raw text. */
  normalized: boolean;
}

/** A piece of split text: a string to encode, or the id of an added token found in it. */
export type Piece = string | number;

// Rust regex's \w (Unicode), which `tokenizers` uses for single_word.
const WORD_AT_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const WORD_AT_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE = /\p{White_Space}/u;

const escapeRegExp = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

interface Group {
  re: RegExp;
  byContent: Map<string, AddedToken>;
}

/** Finds added tokens in text: leftmost match first, the longest one where several start there. */
export class AddedTokenSplitter {
  private readonly groups: (Group | undefined)[];

  /** `splitSpecialTokens`: special tokens in text are ordinary text (Hugging Face's encode_special_tokens). */
  constructor(tokens: readonly AddedToken[], private readonly splitSpecialTokens: boolean) {
    this.groups = [false, true].map((normalized) => {
      const group = tokens.filter((t) => t.normalized === normalized);
      if (group.length === 0) return undefined;
      // Longest first: JavaScript alternation takes the first branch that matches.
      const contents = group.map((t) => t.content).sort((a, b) => b.length - a.length);
      return { re: new RegExp(contents.map(escapeRegExp).join('|'), 'gu'), byContent: new Map(group.map((t) => [t.content, t])) };
    });
  }

  /**
   * `text` split on the tokens that are (`normalized`) or are not matched in normalized text:
   * tokenizers matches the non-normalized ones in the raw text, then normalizes each piece
   * between them and matches the normalized ones there.
   */
  split(text: string, normalized: boolean): Piece[] {
    const group = this.groups[normalized ? 1 : 0];
    if (!group) return [text];
    const out: Piece[] = [];
    this.splitOne(text, group, out);
    return out;
  }

  private splitOne(s: string, { re, byContent }: Group, out: Piece[]): void {
    let cursor = 0;
    re.lastIndex = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const token = byContent.get(m[0])!;
      let start = m.index;
      let stop = start + m[0].length;
      if (this.splitSpecialTokens && token.special) continue;
      if (token.singleWord) {
        // Two code units cover a surrogate pair: the whole character next to the match.
        const wordBefore = start > 0 && WORD_AT_END.test(s.slice(Math.max(0, start - 2), start));
        const wordAfter = stop < s.length && WORD_AT_START.test(s.slice(stop, stop + 2));
        if (wordBefore || wordAfter) continue;
      }
      if (token.lstrip) while (start > cursor && SPACE.test(s[start - 1]!)) start--;
      if (token.rstrip) while (stop < s.length && SPACE.test(s[stop]!)) stop++;
      if (start > cursor) out.push(s.slice(cursor, start));
      out.push(token.id);
      cursor = stop;
      re.lastIndex = stop;
    }
    if (cursor < s.length) out.push(s.slice(cursor));
  }
}
