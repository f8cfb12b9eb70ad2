// Options and their checks for the sampling ops (Backend.randomUniform, sampleTokens,
// tokenLogprobs). The backends receive the checked, normalised plans below.
import { ConfigError, ShapeError } from '../errors.js';
import { checkRandomOptions, type RandomOptions } from '../random/philox.js';

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
