// RLMEC's training rows (ALGORITHMS.md §5) from judged policy samples: a sample row carrying
// the token-level rewards r_t of y, and a rewrite row carrying the imitation weights c_t of ŷ
// (for a correct sample, y is its own rewrite: one row carries both). Erroneous samples
// without a correct rewrite are dropped; duplicate correct samples are removed, compared on
// their normalised text (whitespace and a final full stop ignored) when it is given.
import { imitationWeights } from './imitation_weights.js';
import { tokenRewards } from './token_rewards.js';

export interface JudgedPolicySample {
  /** The policy's prompt ids. */
  prompt: number[];
  /** y: the sample's tokens, ending with EOS (appended when it hit max_new_tokens: grm.ts withEos). */
  ids: number[];
  /** y's text: duplicate correct samples are those with the same prompt and normalised text; without it, the same ids. */
  text?: string;
  /** Whether y's final answer is right. */
  correct: boolean;
  /** P_GRM of each token of y, teacher-forced. */
  probs: number[];
  /** ŷ: the GRM's rewrite (erroneous samples), EOS included; undefined when it failed. */
  rewrite?: number[];
}

/** One row of the policy's batch: which tokens carry a reward r_t, which an imitation weight c_t. */
export interface RLMECRow {
  prompt: number[];
  response: number[];
  rewards: number[];
  imitation: number[];
}

export interface RLMECRows {
  /** One entry per kept sample: its row (correct) or its two rows (erroneous). */
  items: RLMECRow[][];
  /** Erroneous samples left out because the rewrite failed. */
  dropped: number;
  /** Correct samples left out as duplicates of an earlier one (same prompt, same normalised text or tokens). */
  duplicates: number;
}

/**
 * A solution's text for deduplication: no whitespace (as the reference teacher compares
 * lines) and no final full stop, so "8-2 = 6\nThe answer is 6." and "8-2=6\nThe answer is 6"
 * are one solution.
 */
export function normalisedText(text: string): string {
  return text.replace(/\s+/g, '').replace(/\.$/, '');
}

/** What makes two correct samples duplicates: the prompt and the normalised text (or the ids). */
const dedupKey = (s: JudgedPolicySample) => `${s.prompt.join(',')}|${s.text === undefined ? s.ids.join(',') : normalisedText(s.text)}`;

export function rlmecRows(samples: readonly JudgedPolicySample[]): RLMECRows {
  const seen = new Set<string>();
  const items: RLMECRow[][] = [];
  let dropped = 0;
  let duplicates = 0;
  for (const s of samples) {
    const zeros = () => new Array<number>(s.ids.length).fill(0);
    const rewards = tokenRewards(s.probs, s.correct);
    if (s.correct) {
      const key = dedupKey(s);
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      items.push([{ prompt: s.prompt, response: s.ids, rewards, imitation: imitationWeights(s.ids, s.ids, true) }]);
    } else if (!s.rewrite) {
      dropped++;
    } else {
      items.push([
        { prompt: s.prompt, response: s.ids, rewards, imitation: zeros() },
        { prompt: s.prompt, response: s.rewrite, rewards: new Array<number>(s.rewrite.length).fill(0), imitation: imitationWeights(s.ids, s.rewrite, false) },
      ]);
    }
  }
  return { items, dropped, duplicates };
}
