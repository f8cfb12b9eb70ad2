// tokenizer.json's normalizer, pre-tokenizer, BPE model and decoder, run by Tokenizers.js
// (@huggingface/tokenizers). Only the components the fixtures check against Python `tokenizers`
// are accepted, and the three where Tokenizers.js differs are corrected here (the list and the
// reasons: docs/FORMATS.md, "Tokenizers").
import {
  ByteFallbackDecoder, ByteLevelPreTokenizer, DigitsPreTokenizer, MetaspaceDecoder, SequenceDecoder, SequencePreTokenizer, Tokenizer as Pipeline,
  type Decoder, type PreTokenizer,
} from '@huggingface/tokenizers';
import { TokenizerError } from '../errors.js';
import { GPT2_SPLIT_PATTERN } from './byte_level.js';

export { Pipeline };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The component types webrlhf runs, by the tokenizer.json field they sit in, and where a Sequence keeps its parts. */
const SUPPORTED = {
  normalizer: { types: ['NFC', 'NFD', 'NFKC', 'NFKD', 'Prepend', 'Replace', 'Sequence'], parts: 'normalizers' },
  pre_tokenizer: { types: ['ByteLevel', 'Split', 'Digits', 'Metaspace', 'Sequence'], parts: 'pretokenizers' },
  decoder: { types: ['ByteLevel', 'Metaspace', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Sequence'], parts: 'decoders' },
} as const;

type Slot = keyof typeof SUPPORTED;

/**
 * Throws TokenizerError (file tokenizer.json, the field of the component) for a component that
 * is missing from SUPPORTED or has an option Tokenizers.js does not honour as `tokenizers` does.
 */
export function checkComponents(json: Json, file: string): void {
  for (const slot of Object.keys(SUPPORTED) as Slot[]) checkComponent(slot, json[slot], slot, file);
}

function checkComponent(slot: Slot, value: unknown, field: string, file: string): void {
  if (value === undefined || value === null) return;
  const { types, parts } = SUPPORTED[slot];
  const fail = (problem: string) => new TokenizerError(`${file}, ${field}: ${problem}`, { file, field });
  const supported = `webrlhf runs the ${slot} types ${types.join(', ')}`;
  if (!isObject(value) || typeof value.type !== 'string') throw fail(`is ${JSON.stringify(value)?.slice(0, 80)}, but a ${slot} is an object with a "type"`);
  const type = value.type;
  if (!(types as readonly string[]).includes(type)) {
    throw fail(`the ${slot} type "${type}" is not supported: ${supported}. Use a tokenizer built from these (BPE tokenizers of the GPT-2, Llama, Mistral, Qwen and SmolLM families are)`);
  }
  const option = (key: string, problem: string) => new TokenizerError(`${file}, ${field}.${key}: ${problem}`, { file, field: `${field}.${key}` });
  if (type === 'Sequence') {
    const list = value[parts];
    if (!Array.isArray(list)) throw option(parts, `is ${JSON.stringify(list)?.slice(0, 60)}; a Sequence lists its parts in "${parts}"`);
    list.forEach((part, i) => checkComponent(slot, part, `${field}.${parts}[${i}]`, file));
  } else if (slot === 'pre_tokenizer' && type === 'Split') {
    // Tokenizers.js keeps the pieces between matches only for "Isolated" (Qwen's, Llama 3's), and drops them with invert.
    if (value.behavior !== 'Isolated') throw option('behavior', `is ${JSON.stringify(value.behavior)}; webrlhf runs Split with "Isolated" only (what Qwen and Llama 3 publish)`);
    if (value.invert !== false && value.invert !== undefined) throw option('invert', `is ${JSON.stringify(value.invert)}; webrlhf runs Split with invert false only`);
  } else if (slot === 'pre_tokenizer' && type === 'Metaspace') {
    // Tokenizers.js never splits on the replacement character, and reads no add_prefix_space.
    if (value.split !== false) throw option('split', `is ${JSON.stringify(value.split)} (tokenizers' default is true); webrlhf runs Metaspace with split false only (what Llama and Mistral publish)`);
    if (value.prepend_scheme === undefined && value.add_prefix_space === false) {
      throw option('add_prefix_space', 'is false without a prepend_scheme; write it as prepend_scheme "never"');
    }
  }
}

/** Python `tokenizers`' Digits and ByteLevel regexes, and its ByteFallback and Metaspace decoders, where Tokenizers.js differs. */
function correct(pipeline: Pipeline): void {
  visit(pipeline.pre_tokenizer, (p) => {
    // Tokenizers.js writes GPT-2's regex with JavaScript's \s, which takes U+FEFF and misses U+0085.
    if (p instanceof ByteLevelPreTokenizer) p.pattern = new RegExp(GPT2_SPLIT_PATTERN, 'gu');
    // Its \d is ASCII only; tokenizers splits every character with Unicode's numeric property (١, ², ½, …).
    else if (p instanceof DigitsPreTokenizer) p.pattern = p.config.individual_digits ? /\P{N}+|\p{N}/gu : /\P{N}+|\p{N}+/gu;
  });
  visitDecoders(pipeline.decoder, (d) => {
    if (d instanceof ByteFallbackDecoder) d.decode_chain = byteFallback;
    // Tokenizers.js drops the first token's leading space whatever the prepend_scheme; "never" prepended none to drop.
    else if (d instanceof MetaspaceDecoder && (d.config as { prepend_scheme?: string }).prepend_scheme === 'never') {
      d.decode_chain = (tokens) => tokens.map((t) => t.replaceAll(d.replacement, ' '));
    }
  });
}

function visit(p: PreTokenizer | null, f: (p: PreTokenizer) => void): void {
  if (!p) return;
  if (p instanceof SequencePreTokenizer) p.tokenizers.forEach((q) => visit(q, f));
  else f(p);
}

function visitDecoders(d: Decoder | null, f: (d: Decoder) => void): void {
  if (!d) return;
  if (d instanceof SequenceDecoder) d.decoders.forEach((e) => visitDecoders(e, f));
  else f(d);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * tokenizers' ByteFallback: each run of <0xNN> tokens becomes its text, or, when the run is not
 * UTF-8, one U+FFFD per byte. (Tokenizers.js drops a leading U+FEFF and replaces by UTF-8's
 * maximal subparts instead.)
 */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    try {
      out.push(STRICT_UTF8.decode(Uint8Array.from(bytes)));
    } catch {
      out.push('\ufffd'.repeat(bytes.length));
    }
    bytes = [];
  };
  for (const token of tokens) {
    const byte = token.length === 6 && token.startsWith('<0x') && token.endsWith('>') ? parseHexByte(token.slice(3, 5)) : undefined;
    if (byte !== undefined) bytes.push(byte);
    else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
}

const parseHexByte = (s: string) => (/^[0-9a-fA-F]{2}$/.test(s) ? parseInt(s, 16) : undefined);

/**
 * The pipeline of a checked tokenizer.json (added_tokens included: Tokenizers.js decodes them).
 * The post-processor is left out: encode never adds special tokens.
 */
export function buildPipeline(json: Json): Pipeline {
  const parts = { normalizer: null, pre_tokenizer: null, decoder: null, ...json, post_processor: null };
  let pipeline: Pipeline;
  try {
    pipeline = new Pipeline(parts, { clean_up_tokenization_spaces: false });
  } catch (e) {
    // A regex or option the checks let through but Tokenizers.js cannot build.
    throw new TokenizerError(`tokenizer.json: Tokenizers.js cannot build this tokenizer: ${e instanceof Error ? e.message : String(e)}`, { file: 'tokenizer.json' }, { cause: e });
  }
  correct(pipeline);
  return pipeline;
}
