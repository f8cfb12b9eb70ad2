// RLMEC's reward stage (ALGORITHMS.md §5) from start to finish: the teacher rewrites the
// policy's erroneous samples, the GRM learns locating and rewriting from them, then the
// trained GRM rewrites every erroneous sample (greedy; by default locating the first error and
// keeping the steps before it) and scores every sample's tokens, an EOS appended to a sample
// that hit max_new_tokens included.
import { isCorrect } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { Solution } from '../../tasks/solve.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { TrainOptions } from '../../training/trainer.js';
import type { SFTConfig } from '../sft/config.js';
import { SFTTrainer } from '../sft/trainer.js';
import { grmRewrites, grmTokenProbabilities, withEos } from './grm.js';
import { grmExamples, type GRMSample } from './grm_data.js';
import { GRM_REWRITE_MODES, type GRMRewriteMode } from './rewrite_start.js';
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
  /** How the GRM rewrites (default locate_then_rewrite); the training rows use these rewrites. */
  rewriteMode?: GRMRewriteMode;
  /** Also rewrite in the other mode, for the report only (rewriteSuccess). Default false. */
  compareRewriteModes?: boolean;
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
  /** Whether the GRM trained on those examples here (false: it was trained before, e.g. in an earlier round). */
  grmTrained: boolean;
  /** The mode of the rewrites the rows use. */
  rewriteMode: GRMRewriteMode;
  /** Erroneous samples whose GRM rewrite reaches the right answer (kept). */
  rewritesCorrect: number;
  /** locate_then_rewrite: erroneous samples whose locate answer could not start the rewrite (rewritten freely instead). */
  locateFallbacks: number;
  /** Right rewrites per mode: the mode used, and with compareRewriteModes the other one. */
  rewriteSuccess: Partial<Record<GRMRewriteMode, number>>;
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
  const grmTrained = o.trainGRM !== false && data.examples.length > 0;
  if (grmTrained) {
    const trainer = new SFTTrainer({ model: o.grm, tokenizer, config: o.grmConfig, train: data.examples });
    await trainer.train(o.train);
  }
  const wrong = samples.map((s, i) => ({ s, i })).filter(({ s }) => !s.correct);
  const toRewrite = wrong.map(({ s }) => ({ problem: s.problem, ids: s.ids }));
  const mode = o.rewriteMode ?? 'locate_then_rewrite';
  const rewriteSuccess: Partial<Record<GRMRewriteMode, number>> = {};
  const rewriteIn = async (m: GRMRewriteMode) => {
    const out = await grmRewrites(o.grm, tokenizer, toRewrite, { ...o, mode: m });
    rewriteSuccess[m] = out.texts.filter((t, k) => isCorrect(wrong[k]!.s.problem, t)).length;
    return out;
  };
  const { texts, locateFallbacks } = await rewriteIn(mode);
  if (o.compareRewriteModes) await rewriteIn(GRM_REWRITE_MODES.find((m) => m !== mode)!);
  const rewrites = samples.map(() => '');
  wrong.forEach(({ i }, k) => (rewrites[i] = texts[k]!));
  const probs = await grmTokenProbabilities(o.grm, tokenizer, samples.map((s) => ({ problem: s.problem, ids: s.ids })), o);
  const judged: JudgedPolicySample[] = samples.map((s, i) => {
    const good = !s.correct && isCorrect(s.problem, rewrites[i]!);
    const rewrite = good ? withEos(tokenizer, tokenizer.encode(rewrites[i]!)) : undefined;
    return { prompt: s.prompt, ids: withEos(tokenizer, s.ids), text: s.text, correct: s.correct, probs: probs[i]!, rewrite };
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
      grmTrained,
      rewriteMode: mode,
      rewritesCorrect: judged.filter((j) => j.rewrite).length,
      locateFallbacks,
      rewriteSuccess,
      dropped: rows.dropped,
      duplicates: rows.duplicates,
    },
  };
}
