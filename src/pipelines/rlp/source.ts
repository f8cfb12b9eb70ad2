// Where an RLP run's prompts, labels, annotator and starting policy come from. The built-in
// source is the instruction task: a small GPT-2 trained by SFT on its demonstrations, D
// labelled by the gold annotator with AlpacaFarm's label noise, and evaluation against the
// task's simulated reference outputs.
import type { Equivalence } from '../../algorithms/rlp/clustering.js';
import type { Backend } from '../../backend/backend.js';
import type { PreferenceRecord } from '../../data/records.js';
import type { PreferenceAnnotator, PreferenceCode } from '../../eval/win_rate.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { goldPreference, instructionEquivalence } from '../../tasks/instruction_annotator.js';
import { labelPreferences } from '../../tasks/instruction_labels.js';
import { instructionSplits, type InstructionExample, type InstructionSplitOptions } from '../../tasks/instructions.js';
import { byteTokenizer } from '../../text/byte_tokenizer.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { TrainOptions } from '../../training/trainer.js';
import { trainBuiltinPolicy } from '../builtin_policy.js';
import type { RLPRunConfig } from './run_config.js';

/** One seed's prompts. */
export interface RLPSeedData {
  /** Prompts D is labelled on (each gets two policy samples). */
  preference: string[];
  /** Prompts of PPO's rollouts and of RLP's policy samples. */
  unlabeled: string[];
  /** Evaluation prompts and the reference output each policy is compared with. */
  eval: { prompt: string; reference: string }[];
}

/** D and what labelling it counted. */
export interface LabelledPreferences {
  records: PreferenceRecord[];
  /** Counts to report (flipped labels, ties, identical pairs left out, …). */
  counts: Record<string, number>;
}

export interface RLPSource {
  /** Names the data in the report. */
  name: string;
  tokenizer: Tokenizer;
  data(seed: number): RLPSeedData;
  /** The seed's SFT policy: a new model the caller owns. `train` is where a built-in SFT stage writes. */
  startPolicy(seed: number, train: () => Promise<TrainOptions>): Promise<CausalLM>;
  /**
   * A new language model of another size trained like the starting policy (reward_n_embd, …:
   * the reward models start from it); the caller owns it. Without it, reward models must be the policy's size.
   */
  rewardBase?(seed: number, size: { n_embd: number; n_layer: number; n_head: number }, train: () => Promise<TrainOptions>): Promise<CausalLM>;
  /** Labels pairs of responses (first[i], second[i]) to preference prompt i: the preference set D. */
  label(seed: number, prompts: readonly string[], first: readonly string[], second: readonly string[]): LabelledPreferences;
  /** Judges an evaluated output against its reference (0 draw, 1 reference wins, 2 output wins). */
  annotator: PreferenceAnnotator;
  /** Noise-free preference between two responses to a prompt (1: a better, 2: b better, 0: draw): the reward models' preference accuracy. */
  gold?(prompt: string, a: string, b: string): PreferenceCode;
  /** The task's own answer equivalence (spg_equivalence "task"). */
  equivalence?: Equivalence;
}

/** The built-in task's split options for one seed, from the run's task_* keys. */
export function builtinTaskOptions(c: RLPRunConfig, seed: number): InstructionSplitOptions {
  return {
    seed, sft: c.task_sft_prompts, preference: c.task_preference_prompts, unlabeled: c.task_unlabeled_prompts, eval: c.task_eval_prompts,
    referenceQuality: c.task_reference_quality,
    demoFlaws: { leadIn: c.task_demo_lead_in, trailingJunk: c.task_demo_trailing_junk },
    // One token (a byte) left for EOS: the policy can finish every demonstration.
    demoMaxLength: c.max_new_tokens - 1,
    referenceFlaws: { leadIn: c.task_reference_lead_in, trailingJunk: c.task_reference_trailing_junk },
  };
}

/** The built-in instruction task: splits drawn per seed, the SFT policy trained from scratch on its demonstrations. */
export function builtinInstructionSource(backend: Backend, c: RLPRunConfig): RLPSource {
  const tokenizer = byteTokenizer();
  const splits = (seed: number) => instructionSplits(builtinTaskOptions(c, seed));
  // Every prompt of every seed drawn so far, to judge responses to it.
  const examples = new Map<string, InstructionExample>();
  const exampleOf = (prompt: string): InstructionExample => {
    const e = examples.get(prompt);
    if (!e) throw new Error(`instruction task: no example has the prompt ${JSON.stringify(prompt)}`);
    return e;
  };
  return {
    name: 'instruction following (sort, reverse, count, …)',
    tokenizer,
    data(seed) {
      const s = splits(seed);
      for (const e of [...s.preference, ...s.unlabeled, ...s.eval.map((x) => x.example)]) examples.set(e.prompt, e);
      return {
        preference: s.preference.map((e) => e.prompt),
        unlabeled: s.unlabeled.map((e) => e.prompt),
        eval: s.eval.map((x) => ({ prompt: x.example.prompt, reference: x.reference })),
      };
    },
    async startPolicy(seed, train) {
      return trainBuiltinPolicy(backend, tokenizer, c, seed, splits(seed).sft, await train());
    },
    async rewardBase(seed, size, train) {
      return trainBuiltinPolicy(backend, tokenizer, { ...c, ...size }, seed, splits(seed).sft, await train());
    },
    label(seed, prompts, first, second) {
      const labelled = labelPreferences(prompts.map(exampleOf), first, second, { labelNoise: c.label_noise, seed });
      return { records: labelled.records, counts: { pairs: prompts.length, flipped: labelled.flipped, ties: labelled.ties, identical: labelled.identical } };
    },
    annotator: ({ prompt, reference, output }) => goldPreference(exampleOf(prompt), reference, output),
    gold: (prompt, a, b) => goldPreference(exampleOf(prompt), a, b),
    equivalence: (a, b, prompt) => instructionEquivalence(exampleOf(prompt), a, b),
  };
}
