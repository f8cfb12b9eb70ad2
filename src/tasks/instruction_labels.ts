// The simulated human labeller of RLP's preference set (ALGORITHMS.md §4): the gold annotator
// picks the better of two policy responses, and with probability `label_noise` the label is
// replaced by a fair coin, as AlpacaFarm's simulated annotators are noised for training.
import type { PreferenceRecord } from '../data/records.js';
import { ConfigError } from '../errors.js';
import { philoxUniforms } from '../random/philox.js';
import { goldPreference } from './instruction_annotator.js';
import type { InstructionExample } from './instructions.js';

/** The labelling noise of AlpacaFarm's simulated annotators, the spec's default. */
export const DEFAULT_LABEL_NOISE = 0.25;
/** Philox offset of the labeller's draws, apart from the task's generator streams. */
const LABEL_OFFSET = 3;

export interface LabelOptions {
  /** Probability that a label is replaced by a fair coin (default 0.25); evaluation uses none. */
  labelNoise?: number;
  seed: number;
}

export interface LabelledPairs {
  /** One record per pair whose responses differ, in input order. */
  records: PreferenceRecord[];
  /** Pairs the gold annotator ranked whose noisy label came out the other way (≈ labelNoise/2 of them). */
  flipped: number;
  /** Pairs with different responses of equal gold score (a draw): labelled by a fair coin. */
  ties: number;
  /** Pairs whose two responses are the same text: no preference to learn, so no record. */
  identical: number;
}

/**
 * Labels pair i (responsesA[i], responsesB[i]) on examples[i]: the gold preference, replaced
 * by a fair coin with probability labelNoise; a draw is always a fair coin (a labeller asked
 * to choose picks one), counted in `ties` and not in `flipped`. Identical texts are counted
 * and left out. Pair i's draws are Philox elements 2i and 2i+1 under `seed`, so a label does
 * not depend on the other pairs.
 */
export function labelPreferences(
  examples: readonly InstructionExample[],
  responsesA: readonly string[],
  responsesB: readonly string[],
  o: LabelOptions,
): LabelledPairs {
  const noise = o.labelNoise ?? DEFAULT_LABEL_NOISE;
  if (!(noise >= 0 && noise <= 1)) throw new ConfigError(`labelPreferences: labelNoise must be a probability in [0, 1], got ${noise}`);
  if (responsesA.length !== examples.length || responsesB.length !== examples.length) {
    throw new ConfigError(
      `labelPreferences: one pair per example is needed, got ${examples.length} examples, ${responsesA.length} first and ${responsesB.length} second responses; pass arrays of equal length (repeat an example for several pairs of it)`,
    );
  }
  const u = philoxUniforms(2 * examples.length, { seed: o.seed, stream: 0, offset: LABEL_OFFSET });
  const out: LabelledPairs = { records: [], flipped: 0, ties: 0, identical: 0 };
  examples.forEach((example, i) => {
    const a = responsesA[i]!;
    const b = responsesB[i]!;
    if (a === b) {
      out.identical++;
      return;
    }
    const gold = goldPreference(example, a, b);
    const coin = u[2 * i + 1]! < 0.5 ? 1 : 2;
    const label = gold === 0 || u[2 * i]! < noise ? coin : gold;
    if (gold === 0) out.ties++;
    else if (label !== gold) out.flipped++;
    out.records.push(label === 1 ? { prompt: example.prompt, chosen: a, rejected: b } : { prompt: example.prompt, chosen: b, rejected: a });
  });
  return out;
}
