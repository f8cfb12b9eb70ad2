// Random numbers and sampling on the device: counter-based uniforms (Philox4x32-10, the
// host's copy in src/random/philox.ts, bit-identical), one sampled token per row of logits,
// and per-row log-probabilities and entropies (kernels/random.wgsl, sampling.wgsl,
// logprobs.wgsl; wasm/random.ts, sampling.ts, logprobs.ts).
import { ConfigError, ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkRandomOptions, type RandomOptions } from '../random/philox.js';
import { expectShape, kernelsOf, noAlias, rowsOf } from './checks.js';

export type { RandomOptions } from '../random/philox.js';

/** Token ids travel as f32: exact only below 2²⁴. */
export const MAX_VOCAB = 2 ** 24;

export interface SampleOptions extends RandomOptions {
  /** 0: greedy (argmax, lowest index on ties). Else logits are divided by it before the softmax. */
  temperature: number;
  /** Keep the topK highest logits (all tied with the k-th kept too). 0 (default) or ≥ V: off. */
  topK?: number;
  /**
   * Nucleus sampling: keep the fewest highest-probability tokens whose probability reaches
   * topP (the one crossing it kept, ties with it too), after topK. 1 (default): off.
   */
  topP?: number;
}

export interface LogprobOptions {
  /** Logits are multiplied by this (1/temperature) first. Finite and > 0; default 1. */
  scale?: number;
}

/** A checked counter: Philox key (seed's low, high 32 bits); element i uses (stream + i, offset, 0, 0). */
export interface PhiloxPlan {
  key: [number, number];
  stream: number;
  offset: number;
}

/** A checked SampleOptions. */
export interface SamplePlan extends PhiloxPlan {
  /** True for temperature 0. */
  greedy: boolean;
  /** 1/temperature (0 when greedy). */
  invTemperature: number;
  /** 0: off (also for topK ≥ V). */
  topK: number;
  /** 1: off. */
  topP: number;
}

export function philoxPlan(op: string, o: RandomOptions, count: number): PhiloxPlan {
  if (typeof o !== 'object' || o === null) throw new ConfigError(`${op}: options { seed, stream, offset } are required`);
  return { key: checkRandomOptions(op, o, count), stream: o.stream, offset: o.offset };
}

/** Rows of logits over a vocabulary: at least one token, ids below 2²⁴. */
export function checkVocab(op: string, V: number): void {
  if (V < 1 || V >= MAX_VOCAB) throw new ShapeError(`${op}: logits rows have ${V} values; V must be in [1, 2^24) (token ids travel as f32)`);
}

/** Checks SampleOptions for N rows of V logits; a ConfigError names the bad option and its valid range. */
export function samplePlan(o: SampleOptions, N: number, V: number): SamplePlan {
  const op = 'sampleTokens';
  checkVocab(op, V);
  const plan = philoxPlan(op, o, N);
  const t = o.temperature;
  // 1/t is applied as an f32 factor, so it must not overflow f32.
  const finiteInverse = t > 0 && t < Infinity && Math.fround(1 / t) < Infinity;
  if (typeof t !== 'number' || !(t === 0 || finiteInverse)) {
    throw new ConfigError(`${op}: temperature must be 0 (greedy) or a finite number ≥ 3e-39, got ${t}`);
  }
  const topK = o.topK ?? 0;
  if (!Number.isSafeInteger(topK) || topK < 0) throw new ConfigError(`${op}: topK must be a non-negative integer (0: off), got ${topK}`);
  const topP = o.topP ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new ConfigError(`${op}: topP must be in (0, 1] (1: off), got ${topP}`);
  return { ...plan, greedy: t === 0, invTemperature: t === 0 ? 0 : 1 / t, topK: topK >= V ? 0 : topK, topP };
}

/** The logit scale of tokenLogprobs: finite and > 0. */
export function logprobScale(o: LogprobOptions, op = 'tokenLogprobs'): number {
  const scale = o.scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0 && Number.isFinite(scale))) {
    throw new ConfigError(`${op}: scale (1/temperature) must be a finite number > 0, got ${scale}`);
  }
  return scale;
}

export interface SamplingKernels {
  random_uniform(p: { out: Tensor; n: number; key0: number; key1: number; stream: number; offset: number }): void;
  sample_tokens(p: { logits: Tensor; out: Tensor; N: number; V: number; plan: SamplePlan }): void;
  token_logprobs(p: { logits: Tensor; targets: Tensor; logprobs: Tensor; entropies: Tensor; N: number; V: number; scale: number }): void;
}

/** Invocations per workgroup of random.wgsl (one value each). */
const RANDOM_WG = 64;
/** Below this many elements a row-wise WASM kernel runs on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;
/** A quiet NaN's bits: logprobs.wgsl's value for a target outside the vocabulary (WGSL has no NaN literal). */
const NAN_BITS = 0x7fc00000;

/**
 * Invocations per row of sampling.wgsl and logprobs.wgsl: about 16 values each per pass, 32 to
 * 256. On llvmpipe, 20000 rows of 16 logits sampled ~7× faster with 32 than with 256 (each
 * barrier switches through every invocation), while 50257-wide rows want 256.
 */
function vocabRowWorkgroup(V: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.ceil(V / 16)))));
}

/** The counter and sampling settings by the names both kernels give them. */
function sampleArgs(s: SamplePlan) {
  return { key0: s.key[0], key1: s.key[1], stream: s.stream, offset: s.offset, invT: s.invTemperature, topK: s.topK, topP: s.topP, greedy: Number(s.greedy) };
}

export const samplingFamily = opFamily<SamplingKernels>('sampling', {
  webgpu: (gpu) => ({
    random_uniform({ out, n, ...counter }) {
      const grid = gpu.grid(Math.ceil(n / RANDOM_WG));
      gpu.dispatch('randomUniform', 'random_uniform', { out }, { n, row: grid[0] * RANDOM_WG, ...counter }, grid);
    },
    // One workgroup per row on every adapter (one invocation per row would run the bisection
    // passes over a vocabulary past Mesa's 65535 loop iterations), sized by V.
    // Logits larger than one binding run in blocks of rows (rowWindows).
    sample_tokens({ logits, out, N, V, plan }) {
      for (const w of gpu.rowWindows('sampleTokens', N, V, [logits])) {
        const grid = gpu.grid(w.count);
        gpu.dispatch('sampleTokens', 'sample_tokens', { logits: w.tensors[0]!, out }, { N: w.count, V, gridX: grid[0], ...sampleArgs(plan), rowStart: w.start, base: w.base }, grid, { WG: vocabRowWorkgroup(V) });
      }
    },
    token_logprobs({ logits, targets, logprobs, entropies, N, V, scale }) {
      for (const w of gpu.rowWindows('tokenLogprobs', N, V, [logits])) {
        const grid = gpu.grid(w.count);
        gpu.dispatch(
          'tokenLogprobs', 'token_logprobs', { logits: w.tensors[0]!, targets, logprobs, entropies },
          { N: w.count, V, gridX: grid[0], scale, nan: NAN_BITS, rowStart: w.start, base: w.base }, grid, { WG: vocabRowWorkgroup(V) },
        );
      }
    },
  }),
  wasm: (cpu) => ({
    ...cpu.direct<SamplingKernels>(['random_uniform']),
    sample_tokens({ logits, out, N, V, plan }) {
      // A row's keys and weights, one slice per thread (greedy needs none).
      const scratch = plan.greedy ? 0 : cpu.workspace(cpu.helper('sample_scratch_bytes', V) * cpu.threads);
      cpu.split('sample_tokens', { logits, out, N, V, ...sampleArgs(plan), scratch }, { rows: N, work: logits.size, minWork: PARALLEL_MIN_ELEMENTS });
    },
    token_logprobs: (p) => cpu.split('token_logprobs', p, { rows: p.N, work: p.logits.size, minWork: PARALLEL_MIN_ELEMENTS }),
  }),
});

/**
 * out[i] = a uniform in [0, 1) from Philox4x32-10 block (stream + i, offset, 0, 0) under
 * key (seed mod 2³², ⌊seed / 2³²⌋): word 0's top 24 bits · 2⁻²⁴ (exact in f32). The same
 * bits on every backend and on the host (`philoxUniforms`). Elements in row-major order.
 */
export function randomUniform(out: Tensor, o: RandomOptions): void {
  const k = kernelsOf('randomUniform', samplingFamily, out);
  const c = philoxPlan('randomUniform', o, out.size);
  k.random_uniform({ out, n: out.size, key0: c.key[0], key1: c.key[1], stream: c.stream, offset: c.offset });
}

/**
 * One token id per row of logits [N, V] into out [N] (as f32). Row r draws one uniform u,
 * exactly randomUniform's element r (counter (stream + r, offset, 0, 0)), so a sequence
 * keeps its draws whatever batch it is in. In exact arithmetic:
 * - temperature 0: argmax, lowest index on ties; no random number is used.
 * - else w_i = exp((x_i − max x) / temperature).
 * - topK (0 < k < V): keep the tokens whose logit is ≥ the k-th largest logit (all tied
 *   with it are kept, so more than k may be).
 * - topP (< 1), after topK: keep the kept tokens whose w is ≥ τ, τ the largest value with
 *   Σ_{kept, w ≥ τ} w ≥ topP · Σ_kept w: the fewest most probable tokens whose probability
 *   reaches topP, the one crossing it (and its ties) included; at least one token is kept.
 * - return the first kept index i (in index order) whose running Σ w exceeds u · Σ_kept w;
 *   the last kept index if rounding runs off the end.
 * Thresholds are found exactly (bisection over the logits' order-preserving bit patterns);
 * sums are f32 on WebGPU and f64 on WASM. Logits must be finite.
 */
export function sampleTokens(logits: Tensor, out: Tensor, o: SampleOptions): void {
  const k = kernelsOf('sampleTokens', samplingFamily, logits, out);
  const [N, V] = rowsOf('sampleTokens', 'logits', logits);
  expectShape('sampleTokens', 'out', out, [N]);
  const plan = samplePlan(o, N, V);
  noAlias('sampleTokens', [out], [logits]);
  k.sample_tokens({ logits, out, N, V, plan });
}

/**
 * Per row n of logits [N, V], for the distribution p = softmax(scale · logits[n]):
 * logprobs[n] = log p[targets[n]] and entropies[n] = −Σ p log p (max-subtracted,
 * log-sum-exp; stable for any finite logits). targets [N] are ids as f32; a target that is
 * not an integer in 0..V-1 gives a NaN logprob (callers check ids on the host). scale
 * (1/temperature) defaults to 1.
 */
export function tokenLogprobs(logits: Tensor, targets: Tensor, logprobs: Tensor, entropies: Tensor, o: LogprobOptions = {}): void {
  const k = kernelsOf('tokenLogprobs', samplingFamily, logits, targets, logprobs, entropies);
  const [N, V] = rowsOf('tokenLogprobs', 'logits', logits);
  checkVocab('tokenLogprobs', V);
  for (const [name, t] of [['targets', targets], ['logprobs', logprobs], ['entropies', entropies]] as const) expectShape('tokenLogprobs', name, t, [N]);
  const scale = logprobScale(o);
  noAlias('tokenLogprobs', [logprobs, entropies], [logits, targets]);
  if (logprobs === entropies) throw new ShapeError('tokenLogprobs: logprobs and entropies are the same tensor; give each its own');
  k.token_logprobs({ logits, targets, logprobs, entropies, N, V, scale });
}
