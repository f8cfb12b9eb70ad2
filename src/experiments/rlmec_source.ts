// Where an RLMEC run's problems, teacher and starting policy come from: the built-in
// arithmetic task (data generated per seed, a small GPT-2 trained by SFT on it first), or a
// user's own problems and model (loaded by the caller).
import type { Backend } from '../backend/backend.js';
import { gptConfig } from '../nn/config.js';
import { GPT } from '../nn/gpt.js';
import { fromArithmetic, type ReasoningProblem } from '../rl/rlmec/problem.js';
import { arithmeticTeacher, type RewriteTeacher } from '../rl/rlmec/teacher.js';
import { arithmeticSplits, type Difficulty } from '../tasks/arithmetic.js';
import { byteTokenizer } from '../text/byte_tokenizer.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { sftConfig } from '../train/config/sft.js';
import { SFTTrainer } from '../train/sft_trainer.js';
import type { TrainOptions } from '../train/trainer.js';
import type { RLMECRunConfig } from './rlmec_run_config.js';

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
  startPolicy(seed: number, train: () => Promise<TrainOptions>): Promise<GPT>;
  /** The seed's GRM before training; undefined: a copy of the starting policy. */
  grm?(seed: number): Promise<GPT>;
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
      const config = gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: c.n_positions, n_embd: c.n_embd, n_layer: c.n_layer, n_head: c.n_head });
      const model = GPT.create(backend, config, { seed });
      try {
        const sft = sftConfig({
          seed,
          max_steps: c.sft_max_steps,
          learning_rate: c.sft_learning_rate,
          per_device_train_batch_size: 16,
          lr_scheduler_type: 'cosine',
          warmup_ratio: 0.05,
          save_steps: c.save_steps,
          logging_steps: c.logging_steps,
        });
        await new SFTTrainer({ model, tokenizer, config: sft, train: splits(seed).sft }).train(await train());
        return model;
      } catch (e) {
        model.dispose();
        throw e;
      }
    },
  };
}
