// RLMEC's reward stage (ALGORITHMS.md §5) from start to finish: the teacher rewrites the
// policy's erroneous samples, the GRM learns locating and rewriting from them, then the
// trained GRM rewrites every erroneous sample (greedy) and scores every sample's tokens.
import { isCorrect } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { Solution } from '../../tasks/solve.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { TrainOptions } from '../../training/trainer.js';
import type { SFTConfig } from '../sft/config.js';
import { SFTTrainer } from '../sft/trainer.js';
import { grmRewrites, grmTokenProbabilities } from './grm.js';
import { grmExamples, type GRMSample } from './grm_data.js';
import { rlmecRows, type JudgedPolicySample, type RLMECRows } from './rlmec_rows.js';
import { firstChangedLine, type RewriteTeacher } from './teacher.js';

export interface JudgeOptions {
  /** The GRM (trained in place): a copy of the policy, or a model of its own. */
  grm: CausalLM;
  tokenizer: Tokenizer;
  teacher: RewriteTeacher;
  /** SFT settings of the GRM's training. */
  grmConfig: SFTConfig;
  /** false: the GRM is already trained (a later round); only rewrite and score. Default true. */
  trainGRM?: boolean;
  /** Rewrite tokens at most, and sequences per device batch when rewriting and scoring. */
  max_new_tokens: number;
  batch_size: number;
  /** Where the GRM's training writes (its run folder), and its progress. */
  train?: TrainOptions;
}

/** What the reward stage did, for the run's report. */
export interface JudgeReport {
  samples: number;
  correct: number;
  erroneous: number;
  /** Erroneous samples the teacher could not rewrite to the right answer (no GRM example). */
  teacherFailed: number;
  grmExamples: { locate: number; rewrite: number; copy: number };
  /** Erroneous samples whose GRM rewrite reaches the right answer (kept). */
  rewritesCorrect: number;
  /** Erroneous samples left out because the GRM's rewrite failed. */
  dropped: number;
  /** Correct samples left out as duplicates. */
  duplicates: number;
}

export interface JudgeResult extends RLMECRows {
  judged: JudgedPolicySample[];
  /** The GRM's rewrite text of each sample ('' for correct ones), in the samples' order. */
  rewrites: string[];
  report: JudgeReport;
}

export async function judgeSamples(samples: readonly Solution[], o: JudgeOptions): Promise<JudgeResult> {
  const { tokenizer } = o;
  let teacherFailed = 0;
  const grmSamples: GRMSample[] = samples.map((s) => {
    const base = { question: s.problem.question, solution: s.problem.solution, prediction: s.text, correct: s.correct };
    if (s.correct) return { ...base, rewrite: s.text };
    const rewrite = o.teacher.rewrite(s.problem, s.text);
    const usable = rewrite !== undefined && isCorrect(s.problem, rewrite);
    if (!usable) teacherFailed++;
    return { ...base, rewrite: usable ? rewrite : undefined, firstError: usable ? firstChangedLine(s.text, rewrite) : undefined };
  });
  const data = grmExamples(grmSamples, o.grmConfig.seed);
  const count = (kind: string) => data.examples.filter((e) => e.kind === kind).length;
  if (o.trainGRM !== false && data.examples.length) {
    const trainer = new SFTTrainer({ model: o.grm, tokenizer, config: o.grmConfig, train: data.examples });
    await trainer.train(o.train);
  }
  const wrong = samples.map((s, i) => ({ s, i })).filter(({ s }) => !s.correct);
  const texts = await grmRewrites(o.grm, tokenizer, wrong.map(({ s }) => ({ problem: s.problem, ids: s.ids })), o);
  const rewrites = samples.map(() => '');
  wrong.forEach(({ i }, k) => (rewrites[i] = texts[k]!));
  const probs = await grmTokenProbabilities(o.grm, tokenizer, samples.map((s) => ({ problem: s.problem, ids: s.ids })), o);
  const eos = tokenizer.eosTokenId;
  const judged: JudgedPolicySample[] = samples.map((s, i) => {
    const good = !s.correct && isCorrect(s.problem, rewrites[i]!);
    const rewrite = good ? [...tokenizer.encode(rewrites[i]!), ...(eos === undefined ? [] : [eos])] : undefined;
    return { prompt: s.prompt, ids: s.ids, correct: s.correct, probs: probs[i]!, rewrite };
  });
  const rows = rlmecRows(judged);
  const erroneous = wrong.length;
  return {
    ...rows,
    judged,
    rewrites,
    report: {
      samples: samples.length,
      correct: samples.length - erroneous,
      erroneous,
      teacherFailed,
      grmExamples: { locate: count('locate'), rewrite: count('rewrite'), copy: count('copy') },
      rewritesCorrect: judged.filter((j) => j.rewrite).length,
      dropped: rows.dropped,
      duplicates: rows.duplicates,
    },
  };
}
