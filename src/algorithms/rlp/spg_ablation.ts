// The pair constructions of RLP-SPG's ablation (Lang et al., NAACL 2024) that skip SPG's
// clustering: per prompt, the policy's samples ranked by one value — the policy's own
// likelihood ("policy-labelled pairs") or r_φ's score ("pairs ranked by r_φ") — give the pair
// (highest over lowest). The γ = 0 row is synthesizePreferences with gamma 0.
import type { PreferenceRecord } from '../../data/records.js';
import { ConfigError } from '../../errors.js';
import { showValue } from '../../training/config/schema.js';

/**
 * The ablation's rows besides RLP-SPG itself: pairs labelled by the policy's likelihood, pairs
 * ranked by r_φ (neither clustered), and SPG without its confidence filter (γ = 0).
 */
export const SPG_ABLATIONS = ['policy_labelled', 'reward_ranked', 'gamma_0'] as const;
export type SPGAblation = (typeof SPG_ABLATIONS)[number];

/** One prompt's samples and the value each is ranked by (higher: chosen). */
export interface RankedGroup {
  prompt: string;
  outputs: readonly string[];
  values: readonly number[];
}

export type RankedPair =
  | { kept: true; chosen: string; rejected: string; chosenIndex: number; rejectedIndex: number }
  /** Every sample has the same value, or the best and the worst are the same text: no preference to learn. */
  | { kept: false };

/**
 * chosen = the sample of highest value, rejected = the one of lowest (ties: the earliest). A
 * prompt whose values are all equal, or whose chosen and rejected texts are equal, gives no pair.
 */
export function rankedPair({ prompt, outputs, values }: RankedGroup): RankedPair {
  if (values.length !== outputs.length) {
    throw new ConfigError(`prompt ${showValue(prompt)} has ${outputs.length} samples but ${values.length} values; give every sample its value, in order`);
  }
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new ConfigError(`prompt ${showValue(prompt)}: the value of sample ${i} is ${showValue(v)}; values must be finite numbers`);
  });
  if (outputs.length < 2) return { kept: false };
  let chosenIndex = 0, rejectedIndex = 0;
  values.forEach((v, i) => {
    if (v > values[chosenIndex]!) chosenIndex = i;
    if (v < values[rejectedIndex]!) rejectedIndex = i;
  });
  const chosen = outputs[chosenIndex]!, rejected = outputs[rejectedIndex]!;
  if (chosenIndex === rejectedIndex || chosen === rejected) return { kept: false };
  return { kept: true, chosen, rejected, chosenIndex, rejectedIndex };
}

/** rankedPair on each prompt: the kept pairs in prompt order, and how many prompts gave none. */
export function rankedPreferences(groups: readonly RankedGroup[]): { records: PreferenceRecord[]; kept: number; dropped: number } {
  const records: PreferenceRecord[] = [];
  for (const g of groups) {
    const pair = rankedPair(g);
    if (pair.kept) records.push({ prompt: g.prompt, chosen: pair.chosen, rejected: pair.rejected });
  }
  return { records, kept: records.length, dropped: groups.length - records.length };
}

/** Mean log-probability per token of a sampled response (its length-normalised likelihood); 0 for an empty one. */
export function meanLogprob(logprobs: readonly number[]): number {
  return logprobs.length ? logprobs.reduce((a, b) => a + b, 0) / logprobs.length : 0;
}
