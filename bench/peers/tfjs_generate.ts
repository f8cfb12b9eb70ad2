/**
 * The TF.js side of the generation benchmark: greedy decoding with {@link createTfjsGPT2}'s
 * model the usual TF.js way, without a KV cache: every new token is a full forward pass over the
 * whole sequence so far, then the argmax of the last position's logits (nextTokens). Used by
 * bench/generate.ts, which puts webrlhf's batched generation beside it.
 */
import { fixed } from '../harness/timing.js';
import { createTfjsGPT2, forEachOnFreshTfjs, seededRandom, webgpuErrors, type TF, type TfjsBackendName, type TfjsBackendOptions } from './tfjs_gpt2.js';

/** B sequences grown to `length` tokens: the last `newTokens` of them are generated. */
export interface GenerateBenchCase {
  B: number;
  /** Total sequence length at which new tokens are produced (prompt + new tokens). */
  length: number;
}

export interface TfjsGenerateRow {
  backend: TfjsBackendName;
  B: number;
  length: number;
  /** Mean time of one generation step (one new token in each of the B rows). */
  msPerToken?: number;
  /** B·newTokens / seconds. */
  tokensPerSecond?: number;
  /** Set when the case failed (out of memory, device limits...); the figures are then absent. */
  error?: string;
  /** The backend (adapter, or SIMD/threads), and a note when the case stopped early. */
  detail?: string;
}

export interface RunTfjsGenerateOptions extends TfjsBackendOptions {
  /** The model: width, blocks, heads, vocabulary, learned positions (the longest sequence). */
  model: { C: number; L: number; H: number; V: number; P: number };
  cases: GenerateBenchCase[];
  /** Backends in run order. */
  backends: TfjsBackendName[];
  /** Tokens generated per row (timed), after one untimed warm-up step. */
  newTokens: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Past this (warm-up included), a case stops after at least 2 timed steps (default 60). */
  maxSecondsPerCase?: number;
}

/**
 * Greedy generation on each backend and case, each case on a freshly started backend
 * ({@link forEachOnFreshTfjs}: not interleaved with other TF.js work). A case builds the model
 * (seed 1) with B = case.B and T = P, draws a prompt of `length − newTokens` tokens per row
 * (seed 7), runs one untimed step on it, then times `newTokens` steps on the growing sequence,
 * each ending with the new tokens read back. In Node, keep an interval alive while this runs
 * (Dawn's promises do not hold the event loop open).
 */
export async function runTfjsGenerate(o: RunTfjsGenerateOptions): Promise<TfjsGenerateRow[]> {
  const { model, newTokens, log = () => {}, maxSecondsPerCase = 60 } = o;
  if (!(Number.isInteger(newTokens) && newTokens >= 1)) throw new Error(`newTokens must be a positive integer, got ${newTokens}`);
  for (const c of o.cases) {
    if (!(c.length > newTokens && c.length <= model.P)) throw new Error(`case B${c.B} length ${c.length}: need ${newTokens} < length ≤ P = ${model.P}`);
  }
  const rows: TfjsGenerateRow[] = [];
  for (const backend of o.backends) {
    rows.push(
      ...(await forEachOnFreshTfjs<GenerateBenchCase, TfjsGenerateRow>(
        backend,
        o.cases,
        o,
        async (tf, c, detail) => {
          log(`tfjs-${backend} generate B${c.B} length ${c.length} (${newTokens} new tokens)`);
          const r = await generateCase(tf, model, c, newTokens, maxSecondsPerCase, log);
          return { backend, B: c.B, length: c.length, msPerToken: r.msPerToken, tokensPerSecond: r.tokensPerSecond, detail: [detail, r.note].filter(Boolean).join('; ') };
        },
        (c, detail, error) => ({ backend, B: c.B, length: c.length, error, ...(detail ? { detail } : {}) }),
      )),
    );
  }
  return rows;
}

/** One case on TF.js's current backend; the model is disposed afterwards, even on failure. */
async function generateCase(
  tf: TF,
  { C, L, H, V, P }: RunTfjsGenerateOptions['model'],
  { B, length }: GenerateBenchCase,
  newTokens: number,
  maxSeconds: number,
  log: (line: string) => void,
): Promise<{ msPerToken: number; tokensPerSecond: number; note?: string }> {
  const model = createTfjsGPT2(tf, { C, L, H, V, T: P, B, seed: 1 });
  try {
    // The B sequences, row-major [B, length]; the first `prompt` columns are the random prompt.
    const prompt = length - newTokens;
    const rng = seededRandom(7);
    const seq = new Int32Array(B * length);
    for (let b = 0; b < B; b++) for (let t = 0; t < prompt; t++) seq[b * length + t] = Math.floor(rng.uniform() * V);
    /** One step on the first t tokens of every row: writes each row's next token at column t. */
    const step = async (t: number) => {
      const ids = new Int32Array(B * t);
      for (let b = 0; b < B; b++) ids.set(seq.subarray(b * length, b * length + t), b * t);
      const next = await model.nextTokens(ids, B, t);
      for (let b = 0; b < B; b++) seq[b * length + t] = next[b]!;
    };

    const errorsBefore = webgpuErrors.count;
    const start = performance.now();
    await step(prompt); // warm-up (pipelines, pools); its token is overwritten by the first timed step
    log(`  warm-up: ${fixed(performance.now() - start, 0)} ms`);
    const tensorsBefore = tf.memory().numTensors;
    const stepMs: number[] = [];
    for (let t = prompt; t < length; t++) {
      const t0 = performance.now();
      await step(t);
      const ms = performance.now() - t0;
      stepMs.push(ms);
      log(`  step ${stepMs.length} (T ${t}): ${fixed(ms, 0)} ms`);
      // Stop when the next step would pass the budget (its cost guessed from the mean so far).
      const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
      if (stepMs.length >= 2 && t + 1 < length && performance.now() - start + mean > maxSeconds * 1000) break;
    }
    if (webgpuErrors.count > errorsBefore) throw new Error(`${webgpuErrors.count - errorsBefore} WebGPU errors during generation, the first: ${webgpuErrors.last}`);
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) throw new Error(`generation leaked ${leaked} tensors`);

    const msPerToken = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
    // A partial case extrapolates its mean step to all newTokens steps; the steps it missed run
    // on longer sequences, so that is slightly optimistic.
    const note = stepMs.length < newTokens ? `stopped after ${stepMs.length} of ${newTokens} steps (${maxSeconds} s budget); figures extrapolated from those steps` : undefined;
    return { msPerToken, tokensPerSecond: B / (msPerToken / 1000), note };
  } finally {
    model.dispose();
  }
}
