// RLMEC's token-level rewards (ALGORITHMS.md §5) as a reward function for GRPO: the trained
// GRM, teacher-forced on each completion, gives p_t for its tokens, and each token's reward is
// tokenRewards' clip(p_t − 0.5, …) by whether the completion's answer is right. GRPO adds them
// to the group-relative advantage of those tokens, so "GRPO + GRM token rewards" is one config.
import { ConfigError } from '../../errors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { isCorrect, type ReasoningProblem } from '../../data/problems.js';
import { named } from '../grpo/builtin_rewards.js';
import type { RewardFunc, RewardValue } from '../grpo/reward_funcs.js';
import { grmTokenProbabilities } from './grm.js';
import { tokenRewards } from './token_rewards.js';

/**
 * The GRM's per-token rewards of each completion. The dataset rows carry the problem:
 * columns `question`, `solution` and `answer` (a row without them gets null: does not apply).
 * The GRM is frozen here.
 */
export function grmTokenReward(grm: CausalLM, tokenizer: Tokenizer, o: { batch_size?: number } = {}): RewardFunc {
  grm.freeze();
  return named('grm_token_reward', async (_prompts, completions, kwargs): Promise<RewardValue[]> => {
    const column = (name: string) => kwargs[name] as unknown[] | undefined;
    const [questions, solutions, answers] = [column('question'), column('solution'), column('answer')];
    const problems = completions.map((_, i): ReasoningProblem | undefined => {
      const [question, solution, answer] = [questions?.[i], solutions?.[i], Number(answers?.[i])];
      return typeof question === 'string' && typeof solution === 'string' && Number.isFinite(answer) ? { question, solution, answer } : undefined;
    });
    if (problems.every((p) => !p)) throw new ConfigError('grm_token_reward: the dataset rows have no question, solution and answer columns; the GRM reads the problem to judge a completion');
    const judged = problems.flatMap((problem, i) => (problem ? [{ problem, ids: kwargs.completion_ids[i]! }] : []));
    const probs = await grmTokenProbabilities(grm, tokenizer, judged, { batch_size: o.batch_size ?? 32 });
    // GRPO trains on the completion's tokens as generated: a truncated completion has no EOS
    // token to credit, so the GRM's score of the EOS appended to it is left out here.
    let k = 0;
    return problems.map((p, i) => (p ? tokenRewards(probs[k++]!.slice(0, kwargs.completion_ids[i]!.length), isCorrect(p, completions[i]!)) : null));
  });
}
