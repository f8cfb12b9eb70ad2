// GPT-2's tokenizer files, written from the independent encoder's data (gpt-tokenizer's
// r50k_base ranks), since the tests may not download Hugging Face's.
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { byteLevelString } from '../../src/text/byte_level.js';

export const GPT2_EOS_ID = 50256;

interface GPT2Data {
  /** Token id (= tiktoken rank) → byte-level spelling, ids 0..50255. */
  tokens: string[];
  /** Merge k makes token 256 + k. */
  merges: [string, string][];
}

let data: GPT2Data | undefined;

/**
 * tiktoken-style data has ranks, not merges. Token r's merge is the two pieces left when
 * rank-based BPE runs on its bytes with only the ranks below r: that is how it was learned
 * (each merge made the next token), so merge k makes token 256 + k as in GPT-2's merges.txt.
 */
export function gpt2Data(): GPT2Data {
  if (data) return data;
  const encoder = new TextEncoder();
  const tokens = r50kRanks.map((t) => byteLevelString(typeof t === 'string' ? encoder.encode(t) : t));
  const rank = new Map(tokens.map((t, r) => [t, r]));
  const merges: [string, string][] = [];
  for (let r = 256; r < tokens.length; r++) {
    const parts = [...tokens[r]!]; // byte-level characters are single UTF-16 units
    while (parts.length > 2) {
      let best = -1;
      let bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const pr = rank.get(parts[i]! + parts[i + 1]!);
        if (pr !== undefined && pr < bestRank) {
          best = i;
          bestRank = pr;
        }
      }
      if (best < 0) throw new Error(`r50k_base token ${r} (${tokens[r]}) cannot be built from tokens of lower rank`);
      parts.splice(best, 2, parts[best]! + parts[best + 1]!);
    }
    if (parts.length !== 2) throw new Error(`r50k_base token ${r} (${tokens[r]}) is a single byte past rank 255`);
    merges.push([parts[0]!, parts[1]!]);
  }
  data = { tokens, merges };
  return data;
}

function vocabObject(): Record<string, number> {
  const { tokens } = gpt2Data();
  return Object.fromEntries([...tokens.map((t, i): [string, number] => [t, i]), ['<|endoftext|>', GPT2_EOS_ID]]);
}

/**
 * GPT-2's tokenizer.json as Hugging Face publishes it (openai-community/gpt2): BPE with the
 * ByteLevel pre-tokenizer and decoder, "<|endoftext|>" in the vocabulary and as a special
 * added token.
 */
export function gpt2TokenizerJson(): string {
  const { merges } = gpt2Data();
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: GPT2_EOS_ID, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
      vocab: vocabObject(),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  });
}

/** GPT-2's older pair of files: vocab.json (= encoder.json) and merges.txt. */
export function gpt2VocabMerges(): { 'vocab.json': string; 'merges.txt': string } {
  const { merges } = gpt2Data();
  return {
    'vocab.json': JSON.stringify(vocabObject()),
    'merges.txt': `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`,
  };
}
