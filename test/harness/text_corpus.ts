// A varied text corpus for the tokenizer tests, drawn from a seeded generator so every
// runtime sees the same strings: code, English with contractions, numbers, whitespace runs,
// many scripts, emoji sequences, combining marks, random code points of every plane.
import { rng } from './reference.js';

const WORDS = [
  'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'tokenizer', 'model', 'reward', 'policy', 'gradient',
  'I', 'you', 'we', 'they', 'it', 'she', 'he', 'The', 'A', 'Hello', 'World', 'GPT', 'RLHF', 'WebGPU', 'JavaScript',
  'internationalization', 'antidisestablishmentarianism', 'naïve', 'café', 'résumé', 'Straße', 'coöperate', 'mañana',
  'don', 'can', 'won', 'isn', 'aren', 'O', 'McDonald', 'rock', 'n', 'y', 'all', 'ma', 'am', 'e-mail', 'co-op', 'x86_64',
];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "n't", '’s', '’t', '’re', '’ll', '’d', "'", "''"];
const SCRIPTS = [
  '漢字仮名交じり文', '中文分词测试', '東京都', 'ひらがな', 'カタカナ', '한국어 텍스트', '훈민정음',
  'مرحبا بالعالم', 'السَّلَامُ عَلَيْكُمْ', 'שלום עולם', 'עִבְרִית', 'Привет, мир', 'Ёжик', 'नमस्ते दुनिया', 'क्षत्रिय',
  'สวัสดีชาวโลก', 'ภาษาไทย', 'Γειά σου Κόσμε', 'ქართული', 'Հայերեն', 'አማርኛ', 'தமிழ்', 'ᚠᚢᚦᚨᚱᚲ', '𐌰𐌱𐌲', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𠜎𠜱𠝹𠱓',
];
const EMOJI = [
  '😀', '🙂', '🚀', '🔥', '👍', '👍🏽', '👋🏿', '👨‍👩‍👧‍👦', '👩‍💻', '🧑🏿‍💻', '🏳️‍🌈', '🏴‍☠️', '🇯🇵', '🇺🇸🇫🇷', '1️⃣', '#️⃣', '❤️', '☺︎',
  '👩🏻‍❤️‍💋‍👨🏼', '🫠', '🦀', '🐍', '∑', '∞', '✓',
];
const SPACES = [' ', ' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', '\r', ' \n ', '\u00a0', '\u3000', '\u2003', '\u2009', '\u202f', '\u1680', '\u2028', '\v', '\f', '      '];
const PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’—–…¿¡·•§¶†‡‰′″‹›€£¥©®™°±×÷';
const CONTROLS = ['\0', '\x01', '\x07', '\b', '\x1b', '\x1f', '\x7f', '\x80', '\x9f', '\u200b', '\u200d', '\u2060', '\u00ad', '\u0085', '\ufeff'];
const COMBINING: [number, number][] = [[0x300, 0x36f], [0x1ab0, 0x1aff], [0x20d0, 0x20ff], [0xfe20, 0xfe2f]];

/** A well-formed code point anywhere in Unicode (never a surrogate). */
function codePoint(r: () => number): string {
  const plane = r();
  let cp: number;
  if (plane < 0.5) cp = Math.floor(r() * 0x10000); // BMP
  else if (plane < 0.8) cp = 0x10000 + Math.floor(r() * 0x20000); // planes 1-2
  else cp = Math.floor(r() * 0x110000); // anywhere
  if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
  return String.fromCodePoint(cp);
}

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const repeat = (n: number, f: () => string) => Array.from({ length: n }, f).join('');
  const ident = () => pick(['x', 'i', 'value', 'self', 'encodeText', 'MAX_LEN', '_private', 'fooBar', 'ñame', 'ident2']);
  const indent = () => pick(['', '  ', '    ', '\t', '\t\t', '        ']);
  const word = () => (r() < 0.1 ? pick(WORDS).toUpperCase() : pick(WORDS));
  const number = () =>
    pick([
      () => String(int(1000)), () => String(int(1e9)), () => (r() * 1000).toFixed(int(6)), () => `${int(1000)},${String(int(1000)).padStart(3, '0')}`,
      () => `0x${int(0xffffff).toString(16)}`, () => `${int(10)}e-${int(20)}`, () => repeat(5 + int(30), () => String(int(10))),
      () => '٣٤٥', () => '१२३', () => '１２３', () => '½', () => 'x²', () => 'Ⅻ', () => '-42', () => '3.14159',
    ])();
  const code = () =>
    pick([
      () => `function ${ident()}(${ident()}, ${ident()}) {\n${indent()}return ${ident()} + ${number()};\n}\n`,
      () => `def ${ident()}(${ident()}):\n${indent()}if ${ident()} >= ${number()}:\n${indent()}${indent()}return None\n`,
      () => `#include <stdio.h>\nint main(void) {\n\tprintf("%d\\n", ${number()});\n\treturn 0;\n}`,
      () => `const ${ident()} = { a: [1, 2, 3], 'b': "str", \`tpl\${${ident()}}\`: null };`,
      () => `for (let i = 0; i < n; i++)${indent()}{ ${ident()}[i] += ${ident()}[i] * 2; }\r\n`,
      () => `    # comment: it's ${word()}'s\n    x = f"{${ident()}!r:>10}"\n`,
      () => `if (a && b || !c) { /* ${word()} */ x >>>= 2; y ??= z?.w; }`,
      () => `<div class="${word()}">${word()} &amp; ${word()}</div>`,
      () => `SELECT * FROM ${ident()} WHERE id = ${number()};`,
    ])();
  const english = () => {
    const n = 1 + int(12);
    let s = '';
    for (let i = 0; i < n; i++) {
      s += (i ? ' ' : '') + word();
      if (r() < 0.3) s += pick(CONTRACTIONS);
      if (r() < 0.15) s += pick([',', '.', '!', '?', ';', ':', '...', ' —', '"']);
    }
    return r() < 0.3 ? `"${s}"` : s;
  };
  const whitespace = () => {
    const n = 1 + int(6);
    let s = r() < 0.5 ? pick(SPACES) : '';
    for (let i = 0; i < n; i++) s += (r() < 0.5 ? word() : pick(SCRIPTS)) + pick(SPACES) + (r() < 0.3 ? pick(SPACES) : '');
    return s;
  };
  const scripts = () => repeat(1 + int(4), () => pick(SCRIPTS) + (r() < 0.5 ? ' ' : pick(['', ', ', '。', '،', ' 123 '])));
  const emoji = () => repeat(1 + int(6), () => pick(EMOJI) + (r() < 0.4 ? ' ' : r() < 0.3 ? word() : ''));
  const combining = () =>
    repeat(1 + int(6), () => {
      let s = pick(['a', 'e', 'o', 'Z', 'n', 'ш', 'ア', ' ', '1', '!']);
      for (let k = int(5); k > 0; k--) {
        const [lo, hi] = pick(COMBINING);
        s += String.fromCodePoint(lo + int(hi - lo + 1));
      }
      return s;
    });
  const randomCodePoints = () => repeat(1 + int(12), () => (r() < 0.15 ? pick(SPACES) : codePoint(r)));
  const punctuation = () => repeat(1 + int(5), () => repeat(1 + int(6), () => PUNCT[int(PUNCT.length)]!) + (r() < 0.5 ? pick(SPACES) : word()));
  const controls = () => repeat(1 + int(6), () => pick(CONTROLS) + (r() < 0.5 ? word() : pick(SPACES)));
  const special = () => pick(['<|endoftext|>', '<|endoftext|>Hi', 'a<|endoftext|>b', ' <|endoftext|> ', '<|endoftext', '<|endoftext|>>', '<|bos|><|pad|>']);
  const kinds = [code, english, whitespace, scripts, emoji, combining, randomCodePoints, punctuation, number, controls];
  return () => {
    const u = r();
    if (u < 0.02) return pick(['', ' ', '\n', 'a', '\0', ' '.repeat(1 + int(40)), '\n'.repeat(1 + int(5)), 'x'.repeat(1 + int(300))]);
    if (u < 0.04) return special() + (r() < 0.5 ? pick(kinds)() : '');
    if (u < 0.7) return pick(kinds)();
    return repeat(2 + int(4), () => pick(kinds)() + (r() < 0.5 ? pick(SPACES) : ''));
  };
}

/** `n` strings, the same for the same seed in every runtime. */
export function textCorpus(n: number, seed: number): string[] {
  const next = generator(seed);
  return Array.from({ length: n }, next);
}
