// What a byte-level BPE tokenizer is made of, checked: every problem is a TokenizerError that
// names the file and field it came from and what to change.
import { TokenizerError } from '../errors.js';
import type { AddedToken } from './added_tokens.js';
import { MergeTable } from './bpe_merges.js';
import { BYTE_TO_CHAR } from './byte_level.js';

/** An added token as given to BPETokenizer: the flags default to false (normalized: false). */
export type AddedTokenSpec = Pick<AddedToken, 'id' | 'content'> & Partial<Omit<AddedToken, 'id' | 'content'>>;

/** Everything a byte-level BPE tokenizer is made of (what tokenizer.json holds). */
export interface BPETokenizerSpec {
  /** The BPE model's vocabulary: byte-level token ("Ġthe") → id. */
  vocab: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Merges in rank order, as pairs of vocabulary tokens; each pair's concatenation is a token too. */
  merges: readonly (readonly [string, string])[];
  /** Tokens matched in text before BPE (see AddedToken); their ids may be vocabulary ids with the same token. */
  addedTokens?: readonly AddedTokenSpec[];
  /** Special tokens by content; each becomes a special added token if it is not one already. */
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  /** Kept for saving (tokenizer.json's model.unk_token); a byte-level vocabulary never needs it. */
  unkToken?: string | null;
  /** Prefix each piece of text with a space unless it starts with one (ByteLevel add_prefix_space). Default false. */
  addPrefixSpace?: boolean;
  /** Split text into words with GPT-2's regex before BPE (ByteLevel use_regex). Default true. */
  useRegex?: boolean;
  /** A word that is itself a vocabulary token becomes that token without merging (BPE ignore_merges). Default false. */
  ignoreMerges?: boolean;
  /** Special tokens written in text are encoded as text, never as their ids (transformers' split_special_tokens). Default false. */
  splitSpecialTokens?: boolean;
}

/** A place in a tokenizer's files, for error messages: "tokenizer.json", "model.merges[12]". */
export interface FieldRef {
  file: string;
  field: string;
}

/** Where a spec's parts came from, so errors name the file and field to fix. */
export interface SpecOrigin {
  /** The vocabulary as messages refer to it ("model.vocab", "vocab.json"). */
  vocabName: string;
  vocab: FieldRef;
  merge(index: number): FieldRef;
  addedToken(index: number): FieldRef;
  specialToken(name: 'bos' | 'eos' | 'pad'): FieldRef;
}

const SPEC = 'BPETokenizer spec';
export const SPEC_ORIGIN: SpecOrigin = {
  vocabName: 'vocab',
  vocab: { file: SPEC, field: 'vocab' },
  merge: (i) => ({ file: SPEC, field: `merges[${i}]` }),
  addedToken: (i) => ({ file: SPEC, field: `addedTokens[${i}]` }),
  specialToken: (name) => ({ file: SPEC, field: `${name}Token` }),
};

/** Bytes that occur in UTF-8 (TextEncoder output): all but 0xC0, 0xC1 and 0xF5–0xFF. */
const isUtf8Byte = (b: number) => b < 0xc0 || (b >= 0xc2 && b <= 0xf4);

const quote = (s: string) => JSON.stringify(s);

/** A spec that passed the checks, in the forms the tokenizer works with. */
export interface CheckedBPE {
  vocab: Map<string, number>;
  /** Id → token (vocabulary entry or added token's content), for ids 0..vocabSize − 1. */
  tokens: string[];
  /** In id order, the special tokens named by bosToken/eosToken/padToken included. */
  addedTokens: readonly AddedToken[];
  merges: (readonly [string, string])[];
  mergeTable: MergeTable;
  /** Byte → id of its token (−1 for bytes UTF-8 never has and the vocabulary lacks). */
  byteIds: Int32Array;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  padTokenId: number | undefined;
}

/** Checks `spec` and returns it ready for BPETokenizer; problems are TokenizerErrors naming `origin`'s file and field. */
export function checkBPESpec(spec: BPETokenizerSpec, origin: SpecOrigin): CheckedBPE {
  const fail = (where: FieldRef, problem: string) =>
    new TokenizerError(`${where.file}, ${where.field}: ${problem}`, { file: where.file, field: where.field });
  const vocabName = origin.vocabName;

  // The model's vocabulary: ids are non-negative integers, one token each.
  const vocab = new Map<string, number>();
  const byId = new Map<number, string>();
  const entries = spec.vocab instanceof Map ? spec.vocab.entries() : Object.entries(spec.vocab);
  for (const [token, id] of entries as Iterable<[string, unknown]>) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= 2 ** 31) {
      throw fail(origin.vocab, `${quote(token)} has the id ${JSON.stringify(id)}, but ids are integers 0, 1, 2, ...: fix the entry`);
    }
    const other = byId.get(id);
    if (other !== undefined) {
      throw fail(origin.vocab, `the id ${id} is given to both ${quote(other)} and ${quote(token)}, but an id names one token: renumber or remove one`);
    }
    vocab.set(token, id);
    byId.set(id, token);
  }

  // Added tokens: their ids are new ids, or vocabulary ids of the same token.
  const added = new Map<number, AddedToken>();
  const addedByContent = new Map<string, number>();
  const addToken = (t: AddedTokenSpec, field: FieldRef) => {
    if (typeof t.content !== 'string' || t.content === '') throw fail(field, `the content is ${JSON.stringify(t.content)}, but an added token's content is a non-empty string: fix or remove the entry`);
    if (typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0 || t.id >= 2 ** 31) {
      throw fail(field, `${quote(t.content)} has the id ${JSON.stringify(t.id)}, but ids are integers 0, 1, 2, ...: fix the entry`);
    }
    const sameContent = addedByContent.get(t.content);
    if (sameContent !== undefined) throw fail(field, `${quote(t.content)} is added a second time (ids ${sameContent} and ${t.id}): keep one entry`);
    const sameId = added.get(t.id);
    if (sameId) throw fail(field, `${quote(t.content)} has the id ${t.id}, which the added token ${quote(sameId.content)} has already: give each added token its own id`);
    const inVocab = byId.get(t.id);
    if (inVocab !== undefined && inVocab !== t.content) {
      throw fail(field, `${quote(t.content)} has the id ${t.id}, which is ${quote(inVocab)} in ${vocabName}: give the added token an id past the vocabulary`);
    }
    const vocabId = vocab.get(t.content);
    if (vocabId !== undefined && vocabId !== t.id) {
      throw fail(field, `${quote(t.content)} has the id ${t.id}, but ${vocabName} has it as ${vocabId}: use the id ${vocabId}`);
    }
    for (const flag of ['special', 'singleWord', 'lstrip', 'rstrip', 'normalized'] as const) {
      if (t[flag] !== undefined && typeof t[flag] !== 'boolean') throw fail(field, `${quote(t.content)} has ${flag} ${JSON.stringify(t[flag])}, but it must be true or false`);
    }
    const token: AddedToken = {
      id: t.id, content: t.content, special: t.special ?? false, singleWord: t.singleWord ?? false,
      lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false, normalized: t.normalized ?? false,
    };
    added.set(t.id, token);
    addedByContent.set(t.content, t.id);
  };
  (spec.addedTokens ?? []).forEach((t, i) => addToken(t, origin.addedToken(i)));

  // BOS/EOS/PAD name tokens of the vocabulary or added tokens; they are special either way.
  const specialId = (name: 'bos' | 'eos' | 'pad', content: string | undefined): number | undefined => {
    if (content === undefined) return undefined;
    const field = origin.specialToken(name);
    if (typeof content !== 'string') throw fail(field, `the value ${JSON.stringify(content)} is not a token: give the token's content as a string`);
    const id = addedByContent.get(content) ?? vocab.get(content);
    if (id === undefined) {
      throw fail(field, `${quote(content)} is neither in ${vocabName} nor an added token: name a token the tokenizer has, or add it to the added tokens with its id`);
    }
    const existing = added.get(id);
    if (existing) existing.special = true; // transformers re-adds named special tokens as special
    else addToken({ id, content, special: true }, field);
    return id;
  };
  const bosTokenId = specialId('bos', spec.bosToken);
  const eosTokenId = specialId('eos', spec.eosToken);
  const padTokenId = specialId('pad', spec.padToken);

  // Every id from 0 to the largest names a token: the model's embedding rows are these ids.
  let size = 0;
  for (const id of byId.keys()) size = Math.max(size, id + 1);
  for (const id of added.keys()) size = Math.max(size, id + 1);
  const tokens = new Array<string>(size);
  for (const [id, token] of byId) tokens[id] = token;
  for (const [id, token] of added) tokens[id] = token.content;
  for (let id = 0; id < size; id++) {
    if (tokens[id] === undefined) {
      throw fail(origin.vocab, `no token has the id ${id}, but the ids of the vocabulary and the added tokens must run 0..${size - 1} with none missing: ` +
        'renumber the tokens densely from 0 (the model\'s embedding rows are these ids)');
    }
  }

  // Byte level: every byte TextEncoder can produce is a token, so every text can be encoded.
  const byteIds = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const id = vocab.get(BYTE_TO_CHAR[b]!);
    if (id !== undefined) byteIds[b] = id;
    else if (isUtf8Byte(b)) {
      throw fail(origin.vocab, `there is no token for the byte 0x${b.toString(16).padStart(2, '0')} (spelled ${quote(BYTE_TO_CHAR[b]!)}), but ` +
        'a byte-level BPE vocabulary spells every byte: this vocabulary is incomplete or not byte-level (use the vocabulary the merges were made with)');
    }
  }

  // Merges: both halves and their concatenation are vocabulary tokens; each pair once.
  const table = new MergeTable(size);
  const merges = spec.merges.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw fail(origin.merge(i), `the merge ${JSON.stringify(pair)} is not a pair of tokens: write it as "a b" or ["a", "b"]`);
    }
    const [a, b] = pair;
    const left = vocab.get(a);
    const right = vocab.get(b);
    const result = vocab.get(a + b);
    if (left === undefined || right === undefined || result === undefined) {
      const missing = left === undefined ? a : right === undefined ? b : a + b;
      throw fail(origin.merge(i), `the merge ${quote(a)} + ${quote(b)} names ${quote(missing)}, which is not in ${vocabName}: ` +
        'a merge joins two vocabulary tokens into a third, so the merges and the vocabulary do not belong together: use the files saved together');
    }
    const earlier = table.add(left, right, result);
    if (earlier !== undefined) throw fail(origin.merge(i), `the merge ${quote(a)} + ${quote(b)} repeats ${origin.merge(earlier).field}: remove the repeat`);
    return pair;
  });

  const addedTokens = [...added.values()].sort((x, y) => x.id - y.id);
  addedTokens.forEach((t) => Object.freeze(t));
  return { vocab, tokens, addedTokens, merges, mergeTable: table, byteIds, bosTokenId, eosTokenId, padTokenId };
}
