// A BPE tokenizer's vocabulary, merges, added and special tokens, checked before Tokenizers.js
// runs them (it checks nothing): every problem is a TokenizerError that names the file and
// field it came from and what to change.
import { TokenizerError } from '../errors.js';
import type { AddedToken } from './added_tokens.js';
import { BYTE_TO_CHAR } from './byte_level.js';

/** An added token as given: the flags default to false (normalized: false). */
export type AddedTokenSpec = Pick<AddedToken, 'id' | 'content'> & Partial<Omit<AddedToken, 'id' | 'content'>>;

/** What tokenizer.json (or vocab.json + merges.txt) and tokenizer_config.json give. */
export interface VocabularySpec {
  /** The BPE model's vocabulary: token ("Ġthe", "▁the") → id. */
  vocab: Readonly<Record<string, number>>;
  /** Merges in rank order, as pairs of vocabulary tokens; each pair's concatenation is a token too. */
  merges: readonly (readonly [string, string])[];
  /** Tokens matched in text before BPE (see AddedToken); their ids may be vocabulary ids with the same token. */
  addedTokens?: readonly AddedTokenSpec[];
  /** Special tokens by content; each becomes a special added token if it is not one already. */
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  /** A byte-level vocabulary (ByteLevel pre-tokenizer): it must spell every byte UTF-8 uses. */
  byteLevel?: boolean;
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

/** Bytes that occur in UTF-8 (TextEncoder output): all but 0xC0, 0xC1 and 0xF5–0xFF. */
const isUtf8Byte = (b: number) => b < 0xc0 || (b >= 0xc2 && b <= 0xf4);

const quote = (s: string) => JSON.stringify(s);

/** A spec that passed the checks, in the forms the tokenizer works with. */
export interface CheckedVocabulary {
  vocab: Map<string, number>;
  /** Id → token (vocabulary entry or added token's content), for ids 0..vocabSize − 1. */
  tokens: string[];
  /** In id order, the special tokens named by bosToken/eosToken/padToken included. */
  addedTokens: readonly AddedToken[];
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  padTokenId: number | undefined;
}

/** Checks `spec` and returns it ready for HFTokenizer; problems are TokenizerErrors naming `origin`'s file and field. */
export function checkVocabulary(spec: VocabularySpec, origin: SpecOrigin): CheckedVocabulary {
  const fail = (where: FieldRef, problem: string) =>
    new TokenizerError(`${where.file}, ${where.field}: ${problem}`, { file: where.file, field: where.field });
  const vocabName = origin.vocabName;

  // The model's vocabulary: ids are non-negative integers, one token each.
  const vocab = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const [token, id] of Object.entries(spec.vocab) as [string, unknown][]) {
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
  for (let b = 0; spec.byteLevel && b < 256; b++) {
    if (!vocab.has(BYTE_TO_CHAR[b]!) && isUtf8Byte(b)) {
      throw fail(origin.vocab, `there is no token for the byte 0x${b.toString(16).padStart(2, '0')} (spelled ${quote(BYTE_TO_CHAR[b]!)}), but ` +
        'a byte-level BPE vocabulary spells every byte: this vocabulary is incomplete or not byte-level (use the vocabulary the merges were made with)');
    }
  }

  // Merges: both halves and their concatenation are vocabulary tokens (tokenizers refuses others); each pair once.
  const seen = new Map<string, number>();
  spec.merges.forEach((pair, i) => {
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
    const key = `${left} ${right}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw fail(origin.merge(i), `the merge ${quote(a)} + ${quote(b)} repeats ${origin.merge(earlier).field}: remove the repeat`);
    seen.set(key, i);
  });

  const addedTokens = [...added.values()].sort((x, y) => x.id - y.id);
  addedTokens.forEach((t) => Object.freeze(t));
  return { vocab, tokens, addedTokens, bosTokenId, eosTokenId, padTokenId };
}
