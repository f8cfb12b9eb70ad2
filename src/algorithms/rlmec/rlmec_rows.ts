// RLMEC's training rows (ALGORITHMS.md §5) from judged policy samples: a sample row carrying
// the token-level rewards r_t of y, and a rewrite row carrying the imitation weights c_t of ŷ
// (for a correct sample, y is its own rewrite: one row carries both). Erroneous samples
// without a correct rewrite are dropped; duplicate correct samples are removed.
import { imitationWeights } from './imitation_weights.js';
import { tokenRewards } from './token_rewards.js';

export interface JudgedPolicySample {
  /** The policy's prompt ids. */
  prompt: number[];
  /** y: the sample's tokens (EOS included when it stopped). */
  ids: number[];
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
  /** Correct samples left out as duplicates of an earlier one (same prompt and tokens). */
  duplicates: number;
}

export function rlmecRows(samples: readonly JudgedPolicySample[]): RLMECRows {
  const seen = new Set<string>();
  const items: RLMECRow[][] = [];
  let dropped = 0;
  let duplicates = 0;
  for (const s of samples) {
    const zeros = () => new Array<number>(s.ids.length).fill(0);
    const rewards = tokenRewards(s.probs, s.correct);
    if (s.correct) {
      const key = `${s.prompt.join(',')}|${s.ids.join(',')}`;
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
