// Tokenizer files as Hugging Face writes them: tokenizer.json (the `tokenizers` library), or
// the older vocab.json + merges.txt pair, with tokenizer_config.json / special_tokens_map.json
// naming the special tokens and holding the chat template (or chat_template.jinja, as newer
// transformers save it). Read from and written to the same folders as the model.
import { TokenizerError, WebRLHFError } from '../errors.js';
import { resolveFolderSource, resolveFolderTarget, type ModelFolderDestination, type ModelFolderLocation } from '../io/model_folder.js';
import { ByteTokenizer } from './byte_tokenizer.js';
import { BYTE_TO_CHAR } from './byte_level.js';
import { ChatTemplate } from './chat_template.js';
import { HFTokenizer } from './hf_tokenizer.js';
import type { AddedToken } from './added_tokens.js';
import { checkComponents } from './pipeline.js';
import { checkVocabulary, type AddedTokenSpec, type FieldRef, type SpecOrigin, type VocabularySpec } from './vocabulary.js';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const SPECIAL_TOKENS_MAP_FILE = 'special_tokens_map.json';
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';
export const VOCAB_FILE = 'vocab.json';
export const MERGES_FILE = 'merges.txt';

/** GPT-2's one special token: its BOS and EOS when no config file names them. */
const GPT2_EOS = '<|endoftext|>';

/** Tokenizer files by name: bytes, text, or (JSON files) the parsed value. */
export interface TokenizerFileContents {
  [TOKENIZER_FILE]?: Uint8Array | string | object;
  [TOKENIZER_CONFIG_FILE]?: Uint8Array | string | object;
  [SPECIAL_TOKENS_MAP_FILE]?: Uint8Array | string | object;
  [CHAT_TEMPLATE_FILE]?: Uint8Array | string;
  [VOCAB_FILE]?: Uint8Array | string | object;
  [MERGES_FILE]?: Uint8Array | string;
}

type Json = Record<string, unknown>;

const describe = (v: unknown) => (v === undefined ? 'missing' : Array.isArray(v) ? 'an array' : v === null ? 'null' : `${typeof v} ${JSON.stringify(v)?.slice(0, 60)}`);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (file: string, field: string, problem: string) => new TokenizerError(`${file}, ${field}: ${problem}`, { file, field });

function text(file: string, value: Uint8Array | string): string {
  if (typeof value === 'string') return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new TokenizerError(`${file} is not UTF-8 text: replace it with the file saved with the model`, { file });
  }
}

function json(file: string, value: Uint8Array | string | object): unknown {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) return value;
  try {
    return JSON.parse(text(file, value));
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    throw new TokenizerError(`${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}): replace it with the file saved with the model`, { file });
  }
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

interface Parsed {
  json: Json;
  spec: VocabularySpec;
  origin: Omit<SpecOrigin, 'specialToken'>;
}

/** tokenizer.json's BPE model and added tokens checked; its normalizer, pre-tokenizer and decoder checked by pipeline.ts. */
function fromTokenizerJson(raw: unknown): Parsed {
  const F = TOKENIZER_FILE;
  const bad = (field: string, problem: string) => fail(F, field, problem);
  if (!isObject(raw)) throw bad('(top level)', `the file holds ${describe(raw)}, not a JSON object: use the tokenizer.json saved by Hugging Face tokenizers`);
  const model = raw.model;
  if (!isObject(model)) throw bad('model', `is ${describe(model)}, but a tokenizer.json has a "model" object: use the file saved by Hugging Face tokenizers`);
  if (model.type !== undefined && model.type !== 'BPE') {
    throw bad('model.type', `is ${JSON.stringify(model.type)}, but webrlhf reads BPE tokenizers (model.type "BPE": GPT-2, SmolLM2, Qwen, Llama, Mistral): WordPiece, Unigram and WordLevel are not supported`);
  }
  if (!isObject(model.vocab)) throw bad('model.vocab', `is ${describe(model.vocab)}, but a BPE model has a "vocab" object (token → id): use the file saved by Hugging Face tokenizers`);
  if (!Array.isArray(model.merges)) throw bad('model.merges', `is ${describe(model.merges)}, but a BPE model has a "merges" list: use the file saved by Hugging Face tokenizers`);
  const merges = model.merges.map((m: unknown, i): readonly [string, string] => {
    if (typeof m === 'string') {
      const space = m.indexOf(' ');
      if (space > 0 && space < m.length - 1 && m.indexOf(' ', space + 1) < 0) return [m.slice(0, space), m.slice(space + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return [m[0], m[1]];
    }
    throw bad(`model.merges[${i}]`, `${JSON.stringify(m)} is not a merge: write it as "a b" (one space) or ["a", "b"]`);
  });
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    throw bad('model.dropout', `is ${JSON.stringify(model.dropout)}; BPE dropout makes encoding random (a training-time augmentation): set it to null`);
  }
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const v = model[key];
    if (v !== undefined && v !== null && v !== '') throw bad(`model.${key}`, `is ${JSON.stringify(v)}; webrlhf reads BPE models without one (GPT-2, Llama and Qwen have none): set it to null`);
  }
  for (const key of ['ignore_merges', 'byte_fallback', 'fuse_unk'] as const) {
    if (model[key] !== undefined && typeof model[key] !== 'boolean') throw bad(`model.${key}`, `is ${describe(model[key])}; it must be true or false`);
  }
  if (model.unk_token !== undefined && model.unk_token !== null && typeof model.unk_token !== 'string') throw bad('model.unk_token', `is ${describe(model.unk_token)}; it must be a string or null`);
  checkComponents(raw, F);

  const added = raw.added_tokens ?? [];
  if (!Array.isArray(added)) throw bad('added_tokens', `is ${describe(added)}; it must be a list of {"id", "content", "special", ...}`);
  const addedTokens = added.map((t: unknown, i) => addedToken(t, { file: F, field: `added_tokens[${i}]` }));

  return {
    json: raw,
    spec: { vocab: model.vocab as Record<string, number>, merges, addedTokens, byteLevel: usesByteLevel(raw.pre_tokenizer) }, // ids checked by checkVocabulary
    origin: {
      vocabName: 'model.vocab',
      vocab: { file: F, field: 'model.vocab' },
      merge: (i) => ({ file: F, field: `model.merges[${i}]` }),
      addedToken: (i) => ({ file: F, field: `added_tokens[${i}]` }),
    },
  };
}

/** Whether a pre-tokenizer (or a part of its Sequence) is ByteLevel. */
function usesByteLevel(pre: unknown): boolean {
  if (!isObject(pre)) return false;
  return pre.type === 'ByteLevel' || (Array.isArray(pre.pretokenizers) && pre.pretokenizers.some(usesByteLevel));
}

/** One added token as tokenizer.json (and tokenizer_config.json's added_tokens_decoder) write it. */
function addedToken(t: unknown, where: FieldRef, id?: number): AddedTokenSpec {
  if (!isObject(t)) throw fail(where.file, where.field, `is ${describe(t)}; an added token is {"id", "content", "special", ...}`);
  for (const key of ['special', 'single_word', 'lstrip', 'rstrip', 'normalized'] as const) {
    if (t[key] !== undefined && typeof t[key] !== 'boolean') throw fail(where.file, `${where.field}.${key}`, `is ${describe(t[key])}; it must be true or false`);
  }
  const spec: AddedTokenSpec = { id: id ?? (t.id as number), content: t.content as string }; // checked by checkVocabulary
  if (t.special !== undefined) spec.special = t.special as boolean;
  if (t.single_word !== undefined) spec.singleWord = t.single_word as boolean;
  if (t.lstrip !== undefined) spec.lstrip = t.lstrip as boolean;
  if (t.rstrip !== undefined) spec.rstrip = t.rstrip as boolean;
  // tokenizers' default is normalized = !special.
  spec.normalized = (t.normalized as boolean | undefined) ?? !spec.special;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// vocab.json + merges.txt

/** GPT-2's older pair, as the tokenizer.json transformers converts it to (GPT2Converter). */
function fromVocabMerges(vocabRaw: unknown, mergesText: string, addPrefixSpace: boolean): Parsed {
  if (!isObject(vocabRaw)) throw fail(VOCAB_FILE, '(top level)', `the file holds ${describe(vocabRaw)}, but vocab.json is a JSON object (token → id): use the file saved with the model`);
  const merges: [string, string][] = [];
  const lines: number[] = [];
  mergesText.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw fail(MERGES_FILE, `line ${i + 1}`, `${JSON.stringify(line.slice(0, 60))} is not a merge: each line holds two tokens separated by one space`);
    }
    merges.push([parts[0]!, parts[1]!]);
    lines.push(i + 1);
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true };
  const json: Json = {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: byteLevel, post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
      vocab: vocabRaw, merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return {
    json,
    spec: { vocab: vocabRaw as Record<string, number>, merges, byteLevel: true },
    origin: {
      vocabName: VOCAB_FILE,
      vocab: { file: VOCAB_FILE, field: '(entries)' },
      merge: (i) => ({ file: MERGES_FILE, field: `line ${lines[i]}` }),
      addedToken: (i) => ({ file: TOKENIZER_CONFIG_FILE, field: `added_tokens_decoder, entry ${i}` }),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json, special_tokens_map.json

type SpecialName = 'bos' | 'eos' | 'pad';

interface TokenizerConfig {
  /** tokenizer_config.json as read ({} without one). */
  raw: Json;
  special: Partial<Record<SpecialName, { content: string | null; where: FieldRef }>>;
  splitSpecialTokens?: boolean;
  addPrefixSpace?: boolean;
  addedTokens?: AddedTokenSpec[];
  /** chat_template.jinja's text, which transformers prefers to tokenizer_config.json's chat_template. */
  chatTemplateFile?: string;
}

/** Special tokens and options from tokenizer_config.json, then special_tokens_map.json (which wins, as in transformers). */
function readConfig(files: TokenizerFileContents): TokenizerConfig {
  const config: TokenizerConfig = { raw: {}, special: {} };
  if (files[CHAT_TEMPLATE_FILE] !== undefined) config.chatTemplateFile = text(CHAT_TEMPLATE_FILE, files[CHAT_TEMPLATE_FILE]);
  for (const file of [TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE] as const) {
    const value = files[file];
    if (value === undefined) continue;
    const raw = json(file, value);
    if (!isObject(raw)) throw fail(file, '(top level)', `the file holds ${describe(raw)}, not a JSON object: fix or remove ${file}`);
    for (const name of ['bos', 'eos', 'pad'] as const) {
      const key = `${name}_token`;
      if (!(key in raw)) continue;
      const v = raw[key];
      const content = v === null ? null : typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : undefined;
      if (content === undefined) throw fail(file, key, `is ${describe(v)}; a special token is a string, {"content": "..."} or null`);
      config.special[name] = { content, where: { file, field: key } };
    }
    if (file !== TOKENIZER_CONFIG_FILE) continue;
    config.raw = raw;
    for (const [key, prop] of [['split_special_tokens', 'splitSpecialTokens'], ['add_prefix_space', 'addPrefixSpace']] as const) {
      if (raw[key] === undefined || raw[key] === null) continue;
      if (typeof raw[key] !== 'boolean') throw fail(file, key, `is ${describe(raw[key])}; it must be true or false`);
      config[prop] = raw[key] as boolean;
    }
    const decoder = raw.added_tokens_decoder;
    if (decoder !== undefined && decoder !== null) {
      if (!isObject(decoder)) throw fail(file, 'added_tokens_decoder', `is ${describe(decoder)}; it maps ids to added tokens: {"50256": {"content": ...}}`);
      config.addedTokens = Object.entries(decoder).map(([id, t]) => {
        const where = { file, field: `added_tokens_decoder["${id}"]` };
        if (!/^\d+$/.test(id)) throw fail(file, where.field, `the key ${JSON.stringify(id)} is not a token id`);
        return addedToken(t, where, Number(id));
      });
    }
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// Parse, load, save

/**
 * A tokenizer from the contents of its files: tokenizer.json, or else vocab.json and
 * merges.txt; tokenizer_config.json and special_tokens_map.json, when given, name
 * bos_token/eos_token/pad_token and may set split_special_tokens and chat_template
 * (chat_template.jinja, when given, is the template). When neither names a BOS or EOS and the
 * vocabulary has "<|endoftext|>" (GPT-2), that token is both. Everything that cannot be
 * honoured is a TokenizerError naming the file and field.
 */
export function parseTokenizer(files: TokenizerFileContents): HFTokenizer {
  const config = readConfig(files);
  let parsed: Parsed;
  const tokenizerJson = files[TOKENIZER_FILE];
  if (tokenizerJson !== undefined) {
    parsed = fromTokenizerJson(json(TOKENIZER_FILE, tokenizerJson));
  } else if (files[VOCAB_FILE] !== undefined && files[MERGES_FILE] !== undefined) {
    parsed = fromVocabMerges(json(VOCAB_FILE, files[VOCAB_FILE]), text(MERGES_FILE, files[MERGES_FILE]), config.addPrefixSpace ?? false);
    const added = config.addedTokens ?? [];
    parsed.spec.addedTokens = added;
    parsed.origin.addedToken = (i) => ({ file: TOKENIZER_CONFIG_FILE, field: `added_tokens_decoder["${added[i]?.id}"]` });
  } else {
    const found = files[VOCAB_FILE] !== undefined ? `${VOCAB_FILE} but no ${MERGES_FILE}`
      : files[MERGES_FILE] !== undefined ? `${MERGES_FILE} but no ${VOCAB_FILE}` : 'neither';
    throw new TokenizerError(
      `no tokenizer: looked for ${TOKENIZER_FILE}, or ${VOCAB_FILE} with ${MERGES_FILE}, and found ${found}. ` +
        'Save the tokenizer next to the model (webrlhf: saveTokenizer; transformers: tokenizer.save_pretrained(dir))',
      { file: TOKENIZER_FILE },
    );
  }
  const { spec } = parsed;
  const has = (content: string) =>
    Object.prototype.hasOwnProperty.call(spec.vocab, content) || (spec.addedTokens ?? []).some((t) => t.content === content);
  const specialFrom: Partial<Record<SpecialName, FieldRef>> = {};
  for (const name of ['bos', 'eos', 'pad'] as const) {
    const given = config.special[name];
    if (given) specialFrom[name] = given.where;
    const content = given ? given.content : name !== 'pad' && has(GPT2_EOS) ? GPT2_EOS : null;
    if (content !== null) spec[`${name}Token`] = content;
  }
  const vocabulary = checkVocabulary(spec, {
    ...parsed.origin,
    specialToken: (name) => specialFrom[name] ?? { file: TOKENIZER_FILE, field: `${name}_token (GPT-2's default, ${GPT2_EOS})` },
  });
  // The added tokens as checked (named special tokens made special), as transformers would save them.
  const checked: Json = { ...parsed.json, added_tokens: vocabulary.addedTokens.map(addedTokenJson) };
  const content = (id: number | undefined) => (id === undefined ? undefined : vocabulary.tokens[id]);
  const unk = (checked.model as Json).unk_token;
  const templateConfig: Json = {
    ...config.raw,
    bos_token: content(vocabulary.bosTokenId), eos_token: content(vocabulary.eosTokenId), pad_token: content(vocabulary.padTokenId),
    unk_token: typeof config.raw.unk_token === 'string' || isObject(config.raw.unk_token) ? config.raw.unk_token : typeof unk === 'string' ? unk : undefined,
  };
  let chatTemplate: ChatTemplate | undefined;
  if (config.chatTemplateFile !== undefined) {
    chatTemplate = ChatTemplate.fromConfig({ ...templateConfig, chat_template: config.chatTemplateFile }, { file: CHAT_TEMPLATE_FILE });
  } else {
    chatTemplate = ChatTemplate.fromConfig(templateConfig);
  }
  return new HFTokenizer({ json: checked, config: config.raw, vocabulary, splitSpecialTokens: config.splitSpecialTokens ?? false, chatTemplate });
}

/** An added token as tokenizer.json writes it. */
function addedTokenJson(t: AddedToken): Json {
  return { id: t.id, content: t.content, single_word: t.singleWord, lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized, special: t.special };
}

/** A tokenizer whose files saveTokenizer can write. */
export type SavableTokenizer = HFTokenizer | ByteTokenizer;

/** Whether saveTokenizer / tokenizerFiles can write `tokenizer`'s files. */
export function isSavableTokenizer(tokenizer: unknown): tokenizer is SavableTokenizer {
  return tokenizer instanceof HFTokenizer || tokenizer instanceof ByteTokenizer;
}

/**
 * The bytes of tokenizer.json and tokenizer_config.json for `tokenizer`, without writing
 * anything: what saveTokenizer writes, loadable by Hugging Face `tokenizers`
 * (Tokenizer.from_file) and transformers (AutoTokenizer.from_pretrained). A loaded tokenizer
 * writes its tokenizer.json as read (its added tokens as checked) and its tokenizer_config.json
 * with the special tokens, split_special_tokens and chat_template it has.
 */
export function tokenizerFiles(tokenizer: SavableTokenizer): { [TOKENIZER_FILE]: Uint8Array; [TOKENIZER_CONFIG_FILE]: Uint8Array } {
  const bytes = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  if (tokenizer instanceof ByteTokenizer) return byteTokenizerFiles(tokenizer, bytes);
  const token = (id: number | undefined) => (id === undefined ? null : tokenizer.idToToken(id)!);
  const config = {
    ...tokenizer.tokenizerConfig,
    // transformers 5 rebuilds the pipeline of a named class (GPT2Tokenizer, LlamaTokenizer, ...) from its own
    // defaults; the generic class runs tokenizer.json as written.
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: token(tokenizer.bosTokenId),
    eos_token: token(tokenizer.eosTokenId),
    pad_token: token(tokenizer.padTokenId),
    split_special_tokens: tokenizer.splitSpecialTokens,
    clean_up_tokenization_spaces: false, // transformers' old default would change " ." into "." on decode
    ...(tokenizer.chatTemplate ? { chat_template: tokenizer.chatTemplate.source } : {}),
  };
  return { [TOKENIZER_FILE]: bytes(tokenizer.tokenizerJson), [TOKENIZER_CONFIG_FILE]: bytes(config) };
}

/** The byte tokenizer as a BPE without merges whose vocabulary gives each byte's character its byte value. */
function byteTokenizerFiles(t: ByteTokenizer, bytes: (v: unknown) => Uint8Array) {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  const file = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: t.specialTokens.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null, pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
      vocab: Object.fromEntries(BYTE_TO_CHAR.map((c, b) => [c, b])), merges: [],
    },
  };
  const [bos, eos, pad] = t.specialTokens;
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast', bos_token: bos, eos_token: eos, pad_token: pad,
    split_special_tokens: true, clean_up_tokenization_spaces: false,
  };
  return { [TOKENIZER_FILE]: bytes(file), [TOKENIZER_CONFIG_FILE]: bytes(config) };
}

/**
 * Saves tokenizer.json and tokenizer_config.json into a folder (a directory in Node and
 * Deno, or any ModelFolderTarget), each written atomically.
 */
export async function saveTokenizer(tokenizer: SavableTokenizer, where: ModelFolderDestination): Promise<void> {
  const files = tokenizerFiles(tokenizer);
  const target = resolveFolderTarget(where);
  const fail = (name: string, e: unknown) =>
    new TokenizerError(`could not write ${name} to ${target.location}: ${e instanceof Error ? e.message : String(e)}`, { file: name }, { cause: e });
  try {
    await target.prepare?.();
  } catch (e) {
    throw fail(TOKENIZER_FILE, e);
  }
  for (const name of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE] as const) {
    try {
      await target.write(name, files[name]);
    } catch (e) {
      throw fail(name, e);
    }
  }
}

/**
 * Loads the tokenizer of a folder (a directory, URL, File objects or any ModelFolderSource):
 * tokenizer.json when present, else vocab.json + merges.txt, with tokenizer_config.json,
 * special_tokens_map.json and chat_template.jinja when present (see parseTokenizer).
 */
export async function loadTokenizer(where: ModelFolderLocation): Promise<HFTokenizer> {
  const source = resolveFolderSource(where);
  const read = async (name: string) => {
    try {
      return await source.read(name);
    } catch (e) {
      throw new TokenizerError(`could not read ${name} from ${source.location}: ${e instanceof Error ? e.message : String(e)}`, { file: name }, { cause: e });
    }
  };
  const files: TokenizerFileContents = {};
  for (const name of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, CHAT_TEMPLATE_FILE] as const) {
    const bytes = await read(name);
    if (bytes) files[name] = bytes;
  }
  if (!files[TOKENIZER_FILE]) {
    for (const name of [VOCAB_FILE, MERGES_FILE] as const) {
      const bytes = await read(name);
      if (bytes) files[name] = bytes;
    }
  }
  try {
    return parseTokenizer(files);
  } catch (e) {
    if (!(e instanceof WebRLHFError)) throw e;
    const where: { file?: string; field?: string } = {};
    if (e instanceof TokenizerError) {
      if (e.file !== undefined) where.file = e.file;
      if (e.field !== undefined) where.field = e.field;
    }
    throw new TokenizerError(`${e.message} (folder: ${source.location})`, where, { cause: e });
  }
}
