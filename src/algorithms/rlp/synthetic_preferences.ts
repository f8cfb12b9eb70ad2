// RLP-SPG's synthetic preference pairs D̂: for each unlabeled prompt, the policy's samples are
// clustered by meaning; a prompt whose largest cluster holds at least a γ share of the samples
// gives one pair — the best-scored sample of that cluster over a random sample outside it.
import type { PreferenceRecord } from '../../data/records.js';
import { ConfigError } from '../../errors.js';
import { philoxUniforms } from '../../random/philox.js';
import { showValue } from '../../training/config/schema.js';
import { clusterOutputs, type Equivalence } from './clustering.js';

/** One unlabeled prompt's policy samples and their reward-model (r_φ) scores, one per sample. */
export interface SampleGroup {
  prompt: string;
  outputs: readonly string[];
  scores: readonly number[];
}

export interface SyntheticPairOptions extends SampleGroup {
  equivalent: Equivalence;
  /** Keep the prompt iff |largest cluster| / n ≥ gamma (0 ≤ gamma ≤ 1); default 0.5. */
  gamma?: number;
  /** Uniforms in [0, 1) for drawing the rejected sample. */
  random: () => number;
}

/** Why a prompt gave no pair: its samples disagree too much, or they all agree (nothing to reject). */
export type DropReason = 'low_confidence' | 'single_cluster';

export type SyntheticPair =
  | {
    kept: true;
    chosen: string;
    rejected: string;
    chosenIndex: number;
    rejectedIndex: number;
    confidence: number;
    /** Clusters of output indices in the order they formed (see clusterOutputs). */
    clusters: number[][];
  }
  | { kept: false; reason: DropReason; confidence: number; clusters: number[][] };

export const DEFAULT_SPG_GAMMA = 0.5;

function checkGamma(gamma: unknown): number {
  if (typeof gamma !== 'number' || !(gamma >= 0 && gamma <= 1)) {
    throw new ConfigError(`spg gamma must be a number in [0, 1] (the least share of samples in the largest cluster for a prompt to be kept), got ${showValue(gamma)}`);
  }
  return gamma;
}

function checkGroup({ prompt, outputs, scores }: SampleGroup): void {
  const at = `prompt ${showValue(prompt)}`;
  if (outputs.length === 0) throw new ConfigError(`${at} has no samples; sample at least one output per prompt (RLP uses 10)`);
  if (scores.length !== outputs.length) {
    throw new ConfigError(`${at} has ${outputs.length} samples but ${scores.length} scores; score every sample with the reward model, in order`);
  }
  outputs.forEach((o, i) => {
    if (typeof o !== 'string') throw new ConfigError(`${at}: sample ${i} is ${showValue(o)}, not a string; pass the decoded texts`);
  });
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new ConfigError(`${at}: the score of sample ${i} is ${showValue(s)}; scores must be finite numbers (check the reward model)`);
  });
}

/** A uniform index below `count` from `random`, which must give a number in [0, 1). */
function randomIndex(random: () => number, count: number): number {
  const u = random();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) {
    throw new ConfigError(`random() returned ${showValue(u)}; it must return a uniform number in [0, 1) (like Math.random)`);
  }
  return Math.floor(u * count);
}

/**
 * The synthetic pair of one prompt (ALGORITHMS.md §4, RLP-SPG). confidence = |largest
 * cluster| / n; the prompt is kept iff confidence ≥ gamma. When clusters tie for the largest,
 * the first formed wins (its representative came earliest in the samples). chosen = the
 * best-scored sample of that cluster (ties: the earliest); rejected = a uniformly drawn sample
 * outside it. A prompt whose samples all fall in one cluster has nothing to reject and is dropped.
 */
export function selectSyntheticPair(o: SyntheticPairOptions): SyntheticPair {
  const gamma = checkGamma(o.gamma ?? DEFAULT_SPG_GAMMA);
  checkGroup(o);
  const { prompt, outputs, scores } = o;
  const clusters = clusterOutputs(outputs, o.equivalent, prompt);
  const largest = clusters.reduce((best, c) => (c.length > best.length ? c : best));
  const confidence = largest.length / outputs.length;
  if (!(confidence >= gamma)) return { kept: false, reason: 'low_confidence', confidence, clusters };
  const members = new Set(largest);
  const outside = outputs.map((_, i) => i).filter((i) => !members.has(i));
  if (outside.length === 0) return { kept: false, reason: 'single_cluster', confidence, clusters };
  const chosenIndex = largest.reduce((best, i) => (scores[i]! > scores[best]! ? i : best));
  const rejectedIndex = outside[randomIndex(o.random, outside.length)]!;
  return { kept: true, chosen: outputs[chosenIndex]!, rejected: outputs[rejectedIndex]!, chosenIndex, rejectedIndex, confidence, clusters };
}

export interface SynthesizeOptions {
  /** See SyntheticPairOptions.gamma; default 0.5. */
  gamma?: number;
  /** Seeds the rejected-sample draws (Philox, prompt i on stream i): the same seed gives the same D̂ everywhere. */
  seed: number;
}

export interface SyntheticPreferences {
  /** D̂: one pair per kept prompt, in prompt order. */
  records: PreferenceRecord[];
  kept: number;
  /** Prompts dropped because confidence < gamma. */
  lowConfidence: number;
  /** Prompts dropped because every sample fell in one cluster. */
  singleCluster: number;
  /** Each prompt's confidence, in prompt order (kept or not). */
  confidences: number[];
}

/** D̂ for a set of prompts: selectSyntheticPair on each, with seeded draws. */
export function synthesizePreferences(groups: readonly SampleGroup[], equivalent: Equivalence, options: SynthesizeOptions): SyntheticPreferences {
  const out: SyntheticPreferences = { records: [], kept: 0, lowConfidence: 0, singleCluster: 0, confidences: [] };
  groups.forEach((group, stream) => {
    // Each prompt draws from its own stream, so adding or dropping one prompt leaves the others' pairs as they were.
    let offset = 0;
    const random = () => philoxUniforms(1, { seed: options.seed, stream, offset: offset++ })[0]!;
    const pair = selectSyntheticPair({ ...group, equivalent, random, ...(options.gamma === undefined ? {} : { gamma: options.gamma }) });
    out.confidences.push(pair.confidence);
    if (pair.kept) {
      out.records.push({ prompt: group.prompt, chosen: pair.chosen, rejected: pair.rejected });
      out.kept++;
    } else if (pair.reason === 'low_confidence') out.lowConfidence++;
    else out.singleCluster++;
  });
  return out;
}

/** D ∪ D̂ as the spec has it: a plain union (every pair of both, none weighted or deduplicated), with the counts of each. */
export function mergePreferences(
  labelled: readonly PreferenceRecord[],
  synthetic: readonly PreferenceRecord[],
): { records: PreferenceRecord[]; labelled: number; synthetic: number } {
  return { records: [...labelled, ...synthetic], labelled: labelled.length, synthetic: synthetic.length };
}
