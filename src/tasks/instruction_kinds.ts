// The kinds of instruction of the built-in RLP task (ALGORITHMS.md §4): for each, how a prompt
// is drawn and worded, its canonical answer, how the words of a response are graded against
// it (partial credit, so a reward model can learn from pairwise labels), the answer's
// normal form (for answer equivalence), and the plausible mistake the simulated reference
// model makes. Everything here works on the answer's words; the annotator handles format.
import { levenshteinAlignment } from '../text/alignment.js';

export type InstructionKind = 'sort' | 'reverse' | 'count' | 'evens' | 'add' | 'extreme' | 'starts_with';
export const INSTRUCTION_KINDS: readonly InstructionKind[] = ['sort', 'reverse', 'count', 'evens', 'add', 'extreme', 'starts_with'];

/**
 * What each kind needs to judge a response. The sizes are tuned so that a 2-layer, 64-wide
 * GPT-2 after a few hundred SFT steps is right on some prompts and partly right on many.
 */
export interface InstructionPayloads {
  /** 3–4 distinct digits: "Sort ascending: 7 3 9" → "3 7 9". */
  sort: { numbers: number[] };
  /** A made-up word of 3–4 letters: "Reverse the word: kalo" → "olak". */
  reverse: { word: string };
  /** 4–7 letters of a, b, c: "Count the letter a in: cabab" → "2". */
  count: { letter: string; text: string };
  /** 3–4 distinct digits, at least one even and one odd: "List the even numbers: 3 8 5 2" → "8 2" (in any order). */
  evens: { numbers: number[] };
  /** 10–49 plus 1–9: "What is 23 + 8?" → "31". */
  add: { left: number; right: number };
  /** 3–4 distinct numbers to 20: "Largest of: 14 9 20" → "20"; "Smallest of: …" when largest is false. */
  extreme: { numbers: number[]; largest: boolean };
  /** 3–4 made-up words of 2–3 letters, some starting with the letter: "Words starting with b: ba cow bet" → "ba bet" (in any order). */
  starts_with: { letter: string; words: string[] };
}

/** A seeded draw: pick(n) is a whole number in [0, n). */
export type Pick = (n: number) => number;

/** A pick over a block of uniforms, used in order (64 per draw is far more than any kind uses). */
export function picker(u: Float32Array): Pick {
  let k = 0;
  return (n) => Math.min(n - 1, Math.floor(u[k++ % u.length]! * n));
}

export interface KindSpec<P> {
  draw(pick: Pick): P;
  /** The instruction, one line without its newline. */
  instruction(p: P): string;
  /** The canonical best response. */
  answer(p: P): string;
  /** One word expected (later words are junk) or a list (every word is an item). */
  single: boolean;
  /** Credit in [0, 1] of the answer's words: 1 only when the answer is right. */
  grade(p: P, words: string[]): number;
  /** The answer's normal form: two responses with the same answer have the same key. */
  key(words: string[]): string;
  /** A wrong but plausible answer (the simulated reference model's mistake). */
  mistake(p: P, pick: Pick): string;
}

const CONSONANTS = 'bdfgklmnprst';
const VOWELS = 'aeiou';
/** Initials of the starts_with words: few, so a target letter recurs in a line. */
const INITIALS = 'bcdmpst';
const COUNT_ALPHABET = 'abc';
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** A pronounceable made-up word (consonant–vowel), so prompts are plenty and not memorisable. */
function madeUpWord(pick: Pick, length: number, first?: string): string {
  let w = first ?? '';
  while (w.length < length) w += w.length % 2 === 0 ? CONSONANTS[pick(CONSONANTS.length)] : VOWELS[pick(VOWELS.length)];
  return w;
}

/** `count` distinct whole numbers in [lo, hi], in random order (each drawn from those left: no retries). */
function distinctNumbers(pick: Pick, count: number, lo: number, hi: number): number[] {
  const left = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return Array.from({ length: count }, () => left.splice(pick(left.length), 1)[0]!);
}

/** A whole number written in digits (signs allowed), else NaN: NaN never matches an item. */
function integerOf(word: string): number {
  return /^-?\d+$/.test(word) ? Number(word) : NaN;
}

/** Credit for one item given for another: 1 or 0, unless a kind grades near misses. */
type ItemCredit<T> = (got: T, want: T) => number;
const sameItem = <T>(got: T, want: T) => (got === want ? 1 : 0);

/**
 * How much of `got` pairs off with `want`, as multisets: each item of `got` in turn takes the
 * free item of `want` it earns most credit for (an exact match earns 1).
 */
function matched<T>(got: readonly T[], want: readonly T[], credit: ItemCredit<T>): number {
  const free = want.map(() => true);
  let total = 0;
  for (const g of got) {
    let best = -1;
    let most = 0;
    want.forEach((w, i) => {
      const c = free[i] ? credit(g, w) : 0;
      if (c > most) [best, most] = [i, c];
    });
    if (best >= 0) {
      free[best] = false;
      total += most;
    }
  }
  return total;
}

/** F1 of two multisets (0 when either is empty). */
function f1<T>(got: readonly T[], want: readonly T[], credit: ItemCredit<T> = sameItem): number {
  const hits = matched(got, want, credit);
  return hits === 0 ? 0 : (2 * hits) / (got.length + want.length);
}

/** A set answer: exact (any order) is 1, else 0.8·F1² — copying the whole input earns little. */
function gradeSet<T>(got: readonly T[], want: readonly T[], credit: ItemCredit<T> = sameItem): number {
  if (got.length === want.length && matched(got, want, sameItem) === want.length) return 1;
  const score = f1(got, want, credit);
  return 0.8 * score * score;
}

/** 1 − edit distance / the longer length. */
function similarity(a: string, b: string): number {
  const codes = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
  const longer = Math.max(a.length, b.length);
  return longer === 0 ? 1 : 1 - levenshteinAlignment(codes(a), codes(b)).distance / longer;
}

/** A misspelt word earns its similarity when at least half of it is right ("ca" for "cu" earns ½). */
const nearWord: ItemCredit<string> = (got, want) => {
  const s = similarity(got, want);
  return s >= 0.5 ? s : 0;
};

/** Fraction of the pairs (i < j) of `xs` in ascending order (1 for fewer than two). */
function ascendingPairs(xs: readonly number[]): number {
  let pairs = 0;
  let good = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      pairs++;
      if (xs[i]! <= xs[j]!) good++;
    }
  }
  return pairs === 0 ? 1 : good / pairs;
}

/** A word of a numeric answer in normal form: "07" → "7"; anything else lower-cased as it is. */
function numberKey(word: string): string {
  const n = integerOf(word);
  return Number.isNaN(n) ? word.toLowerCase() : String(n);
}

const ascending = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const joinWords = (xs: readonly (string | number)[]) => xs.join(' ');
/** A list key: its items in a fixed order, so "8 2" and "2, 8" agree. */
const setKey = (words: string[]) => [...words].sort().join(' ');

/** A list with one element removed at random. */
function withoutOne<T>(xs: readonly T[], pick: Pick): T[] {
  const at = pick(xs.length);
  return xs.filter((_, i) => i !== at);
}

const sort: KindSpec<InstructionPayloads['sort']> = {
  draw: (pick) => ({ numbers: distinctNumbers(pick, 3 + pick(2), 1, 9) }),
  instruction: (p) => `Sort ascending: ${joinWords(p.numbers)}`,
  answer: (p) => joinWords(ascending(p.numbers)),
  single: false,
  // The right items (F1) in the right order (ascending pairs, squared so a shuffle earns little).
  grade(p, words) {
    const got = words.map(integerOf);
    const want = ascending(p.numbers);
    if (got.length === want.length && got.every((n, i) => n === want[i])) return 1;
    const order = ascendingPairs(got.filter((n) => !Number.isNaN(n)));
    return 0.8 * f1(got, want) * order * order;
  },
  key: (words) => words.map(numberKey).join(' '),
  mistake(p, pick) {
    const sorted = ascending(p.numbers);
    const i = pick(sorted.length - 1);
    [sorted[i], sorted[i + 1]] = [sorted[i + 1]!, sorted[i]!];
    return joinWords(sorted);
  },
};

const reverse: KindSpec<InstructionPayloads['reverse']> = {
  draw: (pick) => ({ word: madeUpWord(pick, 3 + pick(2)) }),
  instruction: (p) => `Reverse the word: ${p.word}`,
  answer: (p) => [...p.word].reverse().join(''),
  single: true,
  grade(p, words) {
    const got = (words[0] ?? '').toLowerCase();
    const want = this.answer(p);
    if (got === want) return 1;
    const s = similarity(got, want);
    return 0.8 * s * s;
  },
  key: (words) => (words[0] ?? '').toLowerCase(),
  // Two neighbouring letters swapped, or one left out.
  mistake(p, pick) {
    const letters = [...this.answer(p)];
    const i = pick(letters.length - 1);
    if (pick(2) === 0) [letters[i], letters[i + 1]] = [letters[i + 1]!, letters[i]!];
    else letters.splice(i, 1);
    const wrong = letters.join('');
    return wrong === this.answer(p) ? wrong.slice(1) : wrong; // "aab": swapping equal letters changes nothing
  },
};

/** A count in digits, or spelled out ("three"), else NaN. */
function countOf(word: string): number {
  const spelled = NUMBER_WORDS.indexOf(word.toLowerCase());
  return spelled >= 0 ? spelled : integerOf(word);
}

const count: KindSpec<InstructionPayloads['count']> = {
  draw(pick) {
    const letter = COUNT_ALPHABET[pick(COUNT_ALPHABET.length)]!;
    const text = Array.from({ length: 4 + pick(4) }, () => COUNT_ALPHABET[pick(COUNT_ALPHABET.length)]).join('');
    return { letter, text };
  },
  instruction: (p) => `Count the letter ${p.letter} in: ${p.text}`,
  answer: (p) => String([...p.text].filter((c) => c === p.letter).length),
  single: true,
  // Halved for each step off: 1, 0.5, 0.25, …
  grade(p, words) {
    const got = countOf(words[0] ?? '');
    return Number.isNaN(got) ? 0 : 0.5 ** Math.abs(got - Number(this.answer(p)));
  },
  key(words) {
    const n = countOf(words[0] ?? '');
    return Number.isNaN(n) ? (words[0] ?? '').toLowerCase() : String(n);
  },
  mistake(p, pick) {
    const right = Number(this.answer(p));
    return String(right === 0 || pick(2) === 0 ? right + 1 : right - 1);
  },
};

const evens: KindSpec<InstructionPayloads['evens']> = {
  draw(pick) {
    const numbers = distinctNumbers(pick, 3 + pick(2), 1, 9);
    // At least one even and one odd, so the answer is never empty nor the whole list.
    if (numbers.every((n) => n % 2 === 1)) numbers[pick(numbers.length)]! += 1;
    else if (numbers.every((n) => n % 2 === 0)) numbers[pick(numbers.length)]! -= 1;
    return { numbers };
  },
  instruction: (p) => `List the even numbers: ${joinWords(p.numbers)}`,
  answer: (p) => joinWords(p.numbers.filter((n) => n % 2 === 0)),
  single: false,
  grade: (p, words) => gradeSet(words.map(integerOf), p.numbers.filter((n) => n % 2 === 0)),
  key: (words) => setKey(words.map(numberKey)),
  // One even left out (when there are two or more), else one odd let in.
  mistake(p, pick) {
    const even = p.numbers.filter((n) => n % 2 === 0);
    if (even.length > 1 && pick(2) === 0) return joinWords(withoutOne(even, pick));
    const odd = p.numbers.filter((n) => n % 2 === 1);
    const extra = odd[pick(odd.length)];
    return joinWords(p.numbers.filter((n) => n % 2 === 0 || n === extra));
  },
};

const add: KindSpec<InstructionPayloads['add']> = {
  draw: (pick) => ({ left: 10 + pick(40), right: 1 + pick(9) }),
  instruction: (p) => `What is ${p.left} + ${p.right}?`,
  answer: (p) => String(p.left + p.right),
  single: true,
  // The better of two partial credits: digits in place, aligned from the right (0.8 × the
  // fraction right: a carry error keeps the units), and nearness (0.4 × (1 − |off| / 10): 49
  // for 50 has no digit in place but is one off).
  grade(p, words) {
    const got = words[0] ?? '';
    const want = this.answer(p);
    if (got === want) return 1;
    if (!/^\d+$/.test(got)) return 0;
    const width = Math.max(got.length, want.length);
    const a = got.padStart(width, ' ');
    const b = want.padStart(width, ' ');
    let right = 0;
    for (let i = 0; i < width; i++) if (a[i] === b[i]) right++;
    const off = Math.abs(Number(got) - Number(want));
    return Math.max((0.8 * right) / width, 0.4 * Math.max(0, 1 - off / 10));
  },
  key: (words) => numberKey(words[0] ?? ''),
  // A dropped or extra carry (±10), or a units digit one off.
  mistake(p, pick) {
    const right = p.left + p.right;
    const steps = [10, -10, 1, -1];
    return String(right + steps[pick(steps.length)]!);
  },
};

const extreme: KindSpec<InstructionPayloads['extreme']> = {
  draw: (pick) => ({ numbers: distinctNumbers(pick, 3 + pick(2), 1, 20), largest: pick(2) === 0 }),
  instruction: (p) => `${p.largest ? 'Largest' : 'Smallest'} of: ${joinWords(p.numbers)}`,
  answer: (p) => String(ranked(p)[0]),
  single: true,
  // Halved for each rank away from the extreme; a number not in the list earns nothing.
  grade(p, words) {
    const rank = ranked(p).indexOf(integerOf(words[0] ?? ''));
    return rank < 0 ? 0 : 0.5 ** rank;
  },
  key: (words) => numberKey(words[0] ?? ''),
  mistake: (p) => String(ranked(p)[1]),
};

/** The numbers from the one asked for to the other extreme. */
function ranked(p: InstructionPayloads['extreme']): number[] {
  const up = ascending(p.numbers);
  return p.largest ? up.reverse() : up;
}

const startsWith: KindSpec<InstructionPayloads['starts_with']> = {
  draw(pick) {
    const letter = INITIALS[pick(INITIALS.length)]!;
    const others = INITIALS.replace(letter, '');
    const n = 3 + pick(2);
    const words = Array.from({ length: n }, () => madeUpWord(pick, 2 + pick(2), pick(5) < 2 ? letter : others[pick(others.length)]));
    // At least one word that starts with the letter and one that does not.
    const hit = pick(n);
    const miss = (hit + 1 + pick(n - 1)) % n;
    words[hit] = letter + words[hit]!.slice(1);
    if (words[miss]![0] === letter) words[miss] = others[pick(others.length)] + words[miss]!.slice(1);
    return { letter, words: [...new Set(words)] };
  },
  instruction: (p) => `Words starting with ${p.letter}: ${joinWords(p.words)}`,
  answer: (p) => joinWords(p.words.filter((w) => w.startsWith(p.letter))),
  single: false,
  grade: (p, words) => gradeSet(words.map((w) => w.toLowerCase()), p.words.filter((w) => w.startsWith(p.letter)), nearWord),
  key: (words) => setKey(words.map((w) => w.toLowerCase())),
  mistake(p, pick) {
    const hits = p.words.filter((w) => w.startsWith(p.letter));
    if (hits.length > 1 && pick(2) === 0) return joinWords(withoutOne(hits, pick));
    const misses = p.words.filter((w) => !w.startsWith(p.letter));
    const extra = misses[pick(misses.length)];
    return joinWords(p.words.filter((w) => w.startsWith(p.letter) || w === extra));
  },
};

/** Every kind's rules, by name. */
export const KIND_SPECS: { readonly [K in InstructionKind]: KindSpec<InstructionPayloads[K]> } = {
  sort,
  reverse,
  count,
  evens,
  add,
  extreme,
  starts_with: startsWith,
};
