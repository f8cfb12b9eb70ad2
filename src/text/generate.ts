// Batched generation on the device: left-padded prompts, a KV cache, sampling with a
// counter-based RNG, and host checks every few steps for sequences that have stopped.
import { VIEW_ALIGN, type Tensor } from '../backend/backend.js';
import { BatchError, ConfigError } from '../errors.js';
import { renderChatPrompt, type ChatMessage } from '../data/chat.js';
import { positionsKey } from '../nn/architecture.js';
import { CachedDecoder } from '../nn/cached_decoder.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { gatherRows } from '../ops/layers.js';
import { sampleTokens, tokenLogprobs } from '../ops/sampling.js';
import { generationDefaults, resolveGeneration, type GenerationConfig, type ResolvedGeneration } from './generation_config.js';
import { SequenceProgress, StopCriteria, type FinishReason } from './stop_criteria.js';
import type { Tokenizer } from './tokenizer.js';

export interface GenerateOptions extends GenerationConfig {
  /** Encodes string prompts and decodes the responses' text. */
  tokenizer?: Tokenizer;
  /** Called after each host check with the steps run so far in the current batch. */
  onProgress?: (p: { batch: number; batches: number; step: number; steps: number }) => void;
}

export interface GeneratedSequence {
  /** Index of the prompt it continues, and which of its num_return_sequences samples it is. */
  prompt: number;
  sample: number;
  promptIds: number[];
  /** The new tokens, the one that ended the sequence (EOS, stop string) included. */
  ids: number[];
  /** The new tokens' text (special tokens left out, cut after a stop string); '' without a tokenizer. */
  text: string;
  /** log p of each new token under softmax(logits / temperature) (the raw logits when greedy). */
  logprobs: number[];
  /** Entropy of each step's distribution (same temperature). */
  entropies: number[];
  finishReason: FinishReason;
  /** Whether the sequence ended by itself (EOS or a stop string) rather than at max_new_tokens. */
  stopped: boolean;
}

/** A prompt's ids with the sequence's place among all the call's sequences. */
interface Row {
  prompt: number;
  sample: number;
  ids: number[];
}

/**
 * Continues each prompt num_return_sequences times. Sequences run in device batches of
 * batch_size; sequence g (prompt-major) draws its random numbers from stream g, so its
 * result does not depend on the batch it lands in or the padding around it. Options override
 * the model's generation_config.json (loaded with it), read as transformers reads it.
 */
export async function generate(model: CausalLM, prompts: string | Prompt[], options: GenerateOptions = {}): Promise<GeneratedSequence[]> {
  const { tokenizer, onProgress, ...config } = options;
  const defaults = model.generationConfig ? generationDefaults(model.generationConfig) : {};
  const g = resolveGeneration({ ...defaults, ...config }, model.arch.vocabSize, tokenizer);
  const promptIds = encodePrompts(model, typeof prompts === 'string' ? [prompts] : prompts, tokenizer, g.maxNewTokens);
  const rows: Row[] = promptIds.flatMap((ids, prompt) => Array.from({ length: g.n }, (_, sample) => ({ prompt, sample, ids })));
  const criteria = new StopCriteria(g.eos, g.stopStrings, tokenizer);
  const size = g.batchSize ?? rows.length;
  const batches = Math.ceil(rows.length / size);
  const out: GeneratedSequence[] = [];
  for (let b = 0; b < batches; b++) {
    const chunk = rows.slice(b * size, (b + 1) * size);
    const progress = (step: number) => onProgress?.({ batch: b, batches, step, steps: g.maxNewTokens });
    const run = g.useCache ? generateCached : generateUncached;
    const result = await run(model, chunk, b * size, g, criteria, progress);
    out.push(...result);
  }
  return out;
}

/** A prompt: text, token ids, or a conversation (TRL's messages) rendered with the tokenizer's chat template and its generation prompt. */
export type Prompt = string | ArrayLike<number> | readonly ChatMessage[];

const isConversation = (p: Prompt): p is readonly ChatMessage[] => Array.isArray(p) && p.length > 0 && typeof p[0] === 'object' && p[0] !== null;

function encodePrompts(model: CausalLM, prompts: Prompt[], tokenizer: Tokenizer | undefined, maxNew: number): number[][] {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new BatchError('generate: prompts must be a non-empty list of strings, token-id arrays or conversations');
  const { vocabSize: V, maxPositions: P } = model.arch;
  return prompts.map((p, i) => {
    const text = isConversation(p) ? renderChatPrompt(p, tokenizer?.chatTemplate) : p;
    if (typeof text === 'string' && !tokenizer) throw new ConfigError('generate: text prompts and conversations need a tokenizer; pass { tokenizer } or give token ids');
    const ids = typeof text === 'string' ? tokenizer!.encode(text) : Array.from(text);
    if (ids.length === 0) throw new BatchError(`generate: prompt ${i} has no tokens; give at least one (e.g. the tokenizer's BOS or EOS token)`);
    const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= V);
    if (bad >= 0) {
      throw new BatchError(`generate: prompt ${i} has token id ${ids[bad]} at position ${bad}, outside the model's vocabulary 0..${V - 1}; encode it with the model's own tokenizer`);
    }
    if (ids.length + maxNew > P) {
      const fix = ids.length >= P ? `shorten the prompt to fewer than ${P} tokens` : `shorten the prompt or lower max_new_tokens to ${P - ids.length}`;
      throw new BatchError(`generate: prompt ${i} has ${ids.length} tokens and max_new_tokens is ${maxNew}, more than the model's ${positionsKey(model.arch)} = ${P}; ${fix}`);
    }
    return ids;
  });
}

/** Rounds n up to a view boundary, so per-step rows of a [steps, B] buffer can be views. */
function aligned(n: number): number {
  return Math.ceil(n / VIEW_ALIGN) * VIEW_ALIGN;
}

/** Left-pads the rows' prompts to the longest: ids, position ids and key mask [B, S]. */
function leftPad(rows: Row[], pad: number, S: number): { T: number; ids: Float32Array; pos: Float32Array; mask: Float32Array; lengths: number[] } {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Float32Array(B * T).fill(pad);
  const pos = new Float32Array(B * T);
  const mask = new Float32Array(B * S);
  rows.forEach((r, b) => {
    const left = T - r.ids.length;
    r.ids.forEach((id, t) => {
      ids[b * T + left + t] = id;
      pos[b * T + left + t] = t;
    });
    mask.fill(1, b * S + left, (b + 1) * S);
  });
  return { T, ids, pos, mask, lengths: rows.map((r) => r.ids.length) };
}

/** Per-step outputs [steps, Bp] (Bp = B rounded up to a view boundary) and their row views. */
class StepOutputs {
  readonly tokens: Tensor;
  readonly logprobs: Tensor;
  readonly entropies: Tensor;
  readonly Bp: number;
  readonly #rows = new Map<Tensor, Tensor[]>();
  constructor(private readonly model: CausalLM, readonly B: number, steps: number) {
    this.Bp = aligned(B);
    const be = model.backend;
    this.tokens = be.zeros([steps * this.Bp]);
    this.logprobs = be.zeros([steps * this.Bp]);
    this.entropies = be.zeros([steps * this.Bp]);
  }

  /** Step `step`'s [B] slice of t (views are made once and reused by every step). */
  row(t: Tensor, step: number): Tensor {
    let rows = this.#rows.get(t);
    if (!rows) this.#rows.set(t, (rows = []));
    return (rows[step] ??= this.model.backend.view(t, step * this.Bp, [this.B]));
  }

  /** Samples step `step`'s tokens from logits [B, V] and scores them. */
  sample(logits: Tensor, step: number, stream: number, g: ResolvedGeneration): Tensor {
    const tokens = this.row(this.tokens, step);
    sampleTokens(logits, tokens, { seed: g.seed, stream, offset: step, temperature: g.temperature, topK: g.topK, topP: g.topP });
    tokenLogprobs(logits, tokens, this.row(this.logprobs, step), this.row(this.entropies, step), { scale: g.temperature > 0 ? 1 / g.temperature : 1 });
    return tokens;
  }

  /** Reads steps from..to−1 of `t` back as rows [step][b]. */
  async read(t: Tensor, from: number, to: number): Promise<Float32Array[]> {
    const view = this.model.backend.view(t, from * this.Bp, [(to - from) * this.Bp]);
    const all = await this.model.backend.read(view);
    return Array.from({ length: to - from }, (_, s) => all.subarray(s * this.Bp, s * this.Bp + this.B));
  }

  dispose(): void {
    this.tokens.dispose();
    this.logprobs.dispose();
    this.entropies.dispose();
  }
}

/** Host-side bookkeeping of a batch: which sequences have ended. */
class BatchProgress {
  readonly seqs: SequenceProgress[];
  #read = 0;
  constructor(B: number, private readonly criteria: StopCriteria) {
    this.seqs = Array.from({ length: B }, () => new SequenceProgress());
  }

  /**
   * Runs `step(s)` for s = 0, 1, ... and checks for ended sequences every syncEvery steps
   * (and after the last); returns the number of steps run.
   */
  async run(out: StepOutputs, g: ResolvedGeneration, progress: (step: number) => void, step: (s: number) => void | Promise<void>): Promise<number> {
    for (let s = 0; s < g.maxNewTokens; s++) {
      await step(s);
      const steps = s + 1;
      if (steps % g.syncEvery === 0 || steps === g.maxNewTokens) {
        const done = await this.check(out, steps);
        progress(steps);
        if (done) return steps;
      }
    }
    return g.maxNewTokens;
  }

  /** Reads the tokens of the steps not read yet; true when every sequence has ended. */
  async check(out: StepOutputs, steps: number): Promise<boolean> {
    for (const row of await out.read(out.tokens, this.#read, steps)) this.seqs.forEach((s, b) => s.extend([row[b]!], this.criteria));
    this.#read = steps;
    return this.seqs.every((s) => s.finished);
  }

  async results(out: StepOutputs, rows: Row[], steps: number, g: ResolvedGeneration): Promise<GeneratedSequence[]> {
    const logprobs = await out.read(out.logprobs, 0, steps);
    const entropies = await out.read(out.entropies, 0, steps);
    return this.seqs.map((s, b) => {
      s.truncate(g.maxNewTokens);
      const n = s.ids.length;
      const r = rows[b]!;
      return {
        prompt: r.prompt, sample: r.sample, promptIds: r.ids, ids: s.ids, text: this.criteria.text(s.ids),
        logprobs: logprobs.slice(0, n).map((l) => l[b]!), entropies: entropies.slice(0, n).map((e) => e[b]!),
        finishReason: s.reason!, stopped: s.reason !== 'length',
      };
    });
  }
}

/** The prompt in one step, then one token per step against the KV cache. */
async function generateCached(model: CausalLM, rows: Row[], stream: number, g: ResolvedGeneration, criteria: StopCriteria, progress: (step: number) => void): Promise<GeneratedSequence[]> {
  const be = model.backend;
  const B = rows.length;
  const S = Math.max(...rows.map((r) => r.ids.length)) + g.maxNewTokens;
  const prompt = leftPad(rows, g.pad, S);
  const decoder = new CachedDecoder(model, B, S);
  const out = new StepOutputs(model, B, g.maxNewTokens);
  const ids = be.tensor(prompt.ids);
  const pos = be.tensor(prompt.pos);
  // Position of step s's input (the token sampled at s − 1): the prompt's length + s − 1.
  const stepPos = new Float32Array(g.maxNewTokens * out.Bp);
  for (let s = 1; s < g.maxNewTokens; s++) prompt.lengths.forEach((n, b) => { stepPos[s * out.Bp + b] = n + s - 1; });
  const positions = be.tensor(stepPos);
  const state = new BatchProgress(B, criteria);
  try {
    be.write(decoder.keyMask, prompt.mask);
    const steps = await state.run(out, g, progress, (s) => {
      const logits = s === 0
        ? decoder.step(ids, pos, 0, prompt.T)
        : decoder.step(out.row(out.tokens, s - 1), out.row(positions, s), prompt.T + s - 1, 1);
      if (s === 0) decoder.releasePromptBuffers();
      out.sample(logits, s, stream, g);
    });
    return await state.results(out, rows, steps, g);
  } finally {
    for (const t of [ids, pos, positions]) t.dispose();
    out.dispose();
    decoder.dispose();
  }
}

/** The reference path: the whole sequence through the model at every step (no cache). */
async function generateUncached(model: CausalLM, rows: Row[], stream: number, g: ResolvedGeneration, criteria: StopCriteria, progress: (step: number) => void): Promise<GeneratedSequence[]> {
  const be = model.backend;
  const B = rows.length;
  const T0 = Math.max(...rows.map((r) => r.ids.length));
  const out = new StepOutputs(model, B, g.maxNewTokens);
  const last = be.zeros([B, model.arch.vocabSize]);
  const lastRows = be.tensor(Float32Array.from({ length: B }, (_, b) => b));
  const state = new BatchProgress(B, criteria);
  const seqs = rows.map((r) => [...r.ids]);
  try {
    const steps = await state.run(out, g, progress, async (s) => {
      const T = T0 + s;
      const inputIds = seqs.map((ids) => [...new Array<number>(T - ids.length).fill(g.pad), ...ids]);
      const attentionMask = seqs.map((ids) => [...new Array<number>(T - ids.length).fill(0), ...new Array<number>(ids.length).fill(1)]);
      model.forward({ inputIds, attentionMask }, { logits: true });
      be.write(lastRows, Float32Array.from({ length: B }, (_, b) => b * T + T - 1));
      gatherRows(model.logits, lastRows, last);
      out.sample(last, s, stream, g);
      // The next step's input needs this step's tokens on the host.
      const [tokens] = await out.read(out.tokens, s, s + 1);
      seqs.forEach((ids, b) => ids.push(tokens![b]!));
    });
    return await state.results(out, rows, steps, g);
  } finally {
    last.dispose();
    lastRows.dispose();
    out.dispose();
  }
}
