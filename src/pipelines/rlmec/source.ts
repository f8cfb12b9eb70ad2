// Where an RLMEC run's problems, teacher and starting policy come from: the built-in
// arithmetic task (data generated per seed, a small GPT-2 trained by SFT on it first), or a
// user's own problems and model (loaded by the caller).
import { arithmeticTeacher, type RewriteTeacher } from '../../algorithms/rlmec/teacher.js';
import type { Backend } from '../../backend/backend.js';
import { fromArithmetic, type ReasoningProblem } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { arithmeticSplits, type Difficulty } from '../../tasks/arithmetic.js';
import { byteTokenizer } from '../../text/byte_tokenizer.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { TrainOptions } from '../../training/trainer.js';
import { trainBuiltinPolicy } from '../builtin_policy.js';
import type { RLMECRunConfig } from './run_config.js';

/** One seed's data. */
export interface SeedData {
  /** Problems the policy samples on. */
  problems: ReasoningProblem[];
  /** Held-out problems for test accuracy. */
  test: ReasoningProblem[];
  teacher: RewriteTeacher;
}

export interface RLMECSource {
  /** Names the data in the report ("arithmetic, difficulty 2"). */
  name: string;
  tokenizer: Tokenizer;
  data(seed: number): SeedData;
  /** The seed's starting policy: a new model the caller owns. `train` is where a built-in SFT stage writes. */
  startPolicy(seed: number, train: () => Promise<TrainOptions>): Promise<CausalLM>;
  /** The seed's GRM before training; undefined: a copy of the starting policy. */
  grm?(seed: number): Promise<CausalLM>;
}

/** The built-in task: splits drawn per seed; the starting policy trained from scratch by SFT on the SFT split. */
export function builtinArithmeticSource(backend: Backend, c: RLMECRunConfig): RLMECSource {
  const tokenizer = byteTokenizer();
  const splits = (seed: number) =>
    arithmeticSplits({ seed, difficulty: c.task_difficulty as Difficulty, sft: c.task_sft_problems, rl: c.task_rl_problems, test: c.task_test_problems });
  return {
    name: `arithmetic word problems, difficulty ${c.task_difficulty}`,
    tokenizer,
    data(seed) {
      const s = splits(seed);
      return { problems: s.rl.map(fromArithmetic), test: s.test.map(fromArithmetic), teacher: arithmeticTeacher(s.rl) };
    },
    async startPolicy(seed, train) {
      return trainBuiltinPolicy(backend, tokenizer, c, seed, splits(seed).sft, await train());
    },
  };
}
