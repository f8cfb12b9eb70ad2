// `webrlhf rlmec` as a library call: for each seed, the starting policy samples solutions,
// the reward stage (teacher → GRM → rewrites and token rewards) judges them, RLMEC trains on
// them (for `rounds` rounds), the baselines train from the same start on the same samples,
// and every model's greedy test accuracy goes into one table (mean ± s.e. over the seeds).
// RLMEC also runs on top of the "SFT on RL problems" baseline (sampling from it, judged by the
// seed's trained GRM), and a second table gives the GRM's rewrite success in both modes.
// With an output folder: config.json, results.json, and per seed samples.jsonl, outputs.jsonl
// (each method's test solutions), tokens.html and a run folder per trained stage.
import { grmRewrites, grmTokenProbabilities, withEos } from '../../algorithms/rlmec/grm.js';
import { judgeSamples, type JudgeReport, type JudgeResult } from '../../algorithms/rlmec/judge.js';
import { GRM_REWRITE_MODES } from '../../algorithms/rlmec/rewrite_start.js';
import { tokenRewards } from '../../algorithms/rlmec/token_rewards.js';
import { RLMECTrainer } from '../../algorithms/rlmec/trainer.js';
import { sftConfig } from '../../algorithms/sft/config.js';
import type { Backend } from '../../backend/backend.js';
import type { ReasoningProblem } from '../../data/problems.js';
import { ConfigError } from '../../errors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { tokensHtml, type TokenRewardEntry } from '../../report/tokens_html.js';
import { solveProblems, testAccuracy, type Solution } from '../../tasks/solve.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { pipelineBase, trainedCopy, trainedRole } from '../../training/config/peft.js';
import type { RunStorage } from '../../training/run/run_storage.js';
import type { TrainOptions } from '../../training/trainer.js';
import { formatTable, summarise, tableRows, type MethodSummary, type RowKey } from '../comparison_table.js';
import { SeedStages, runSeeds, type SeedHooks, type SeedLoopResult, type SeedRun } from '../seed_loop.js';
import { writeJsonl, writeText, type ExperimentHooks } from '../stage.js';
import { trainDPO, trainGRPO, trainGRPOWithGRM, trainPPO, trainRFT, trainRLOO, trainSFTOnProblems, type BaselineInput, type BaselineResult } from './baselines.js';
import type { RLMECRunConfig } from './run_config.js';
import type { RLMECSource, SeedData } from './source.js';

/** The table's rows, in order: the start, the baselines (RLMEC on top of SFT on RL problems beside it), RLMEC. */
export const METHODS = tableRows({
  sft: 'SFT (start)', sft_more: 'SFT on RL problems', sft_more_rlmec: 'SFT on all problems → RLMEC', rft: 'RFT', dpo: 'DPO', ppo: 'PPO', rloo: 'RLOO (accuracy)', grpo: 'GRPO (accuracy)', grpo_grm: 'GRPO + GRM token rewards', rlmec: 'RLMEC',
});
export type MethodKey = RowKey<typeof METHODS>;

export interface SeedResult extends SeedRun {
  accuracy: Partial<Record<MethodKey, number>>;
  /** Why a method has no accuracy in this seed. */
  skipped: Partial<Record<MethodKey, string>>;
  /** The reward stage of each round. */
  judge: JudgeReport[];
  /** RLMEC's optimizer steps per round (the baselines' budget is the first round's). */
  steps: number[];
  /** RLMEC on top of "SFT on RL problems": its reward stage (the seed's GRM, not retrained) and its optimizer steps. */
  sft_more_rlmec?: { judge: JudgeReport; steps: number };
}

/**
 * results.json: the backend, the data, each seed's result, the test-accuracy table (mean ±
 * s.e. over the seeds), the GRM's first-round rewrite success per mode (the fraction of
 * erroneous samples rewritten to the right answer), their text, the seconds.
 */
export type RLMECExperimentResult = SeedLoopResult<SeedResult, { table: MethodSummary[]; rewrite_table: MethodSummary[]; text: string }>;

export async function runRLMECExperiment(backend: Backend, config: RLMECRunConfig, source: RLMECSource, hooks: ExperimentHooks = {}): Promise<RLMECExperimentResult> {
  return runSeeds(backend, source, hooks, {
    config,
    runSeed: (seed, seedHooks) => new SeedPipeline(backend, config, source, seed, seedHooks).run(),
    tables: (results, seeds) => {
      const methods = METHODS.filter((m) => config.baselines || m.key === 'sft' || m.key === 'rlmec');
      const table = methods.map((m) => summarise(m.label, results.map((r) => r.accuracy[m.key] ?? NaN)));
      const rewrite_table = (['free', 'locate_then_rewrite'] as const).map((mode) => summarise(mode, results.map((r) => rewriteSuccess(r.judge[0]!, mode))));
      const rewriteText = `GRM rewrite success (free vs locate_then_rewrite; the rows use ${config.grm_rewrite_mode})\n${formatTable(rewrite_table, seeds, { metric: 'wrong samples rewritten right' })}`;
      return { table, rewrite_table, text: `${formatTable(table, seeds)}\n\n${rewriteText}` };
    },
  });
}

/** The fraction of a reward stage's erroneous samples the GRM rewrote to the right answer in `mode` (NaN: not measured). */
const rewriteSuccess = (r: JudgeReport, mode: keyof JudgeReport['rewriteSuccess']) => (r.erroneous ? (r.rewriteSuccess[mode] ?? NaN) / r.erroneous : NaN);

/** The baselines in the table's order, each trained from the start on the first round's samples (or problems, online). */
const BASELINES: [MethodKey, (i: BaselineInput) => Promise<BaselineResult>][] = [
  ['sft_more', trainSFTOnProblems], ['rft', trainRFT], ['dpo', trainDPO], ['ppo', trainPPO], ['rloo', trainRLOO], ['grpo', trainGRPO], ['grpo_grm', trainGRPOWithGRM],
];

/** One seed's pipeline: the start's samples, then per round the reward stage and RLMEC, the baselines, and each model's test accuracy. */
class SeedPipeline extends SeedStages<SeedResult> {
  readonly #result: SeedResult;
  readonly #data: SeedData;
  readonly #tokenizer: Tokenizer;
  /** Each evaluated method's test solutions, for outputs.jsonl. */
  readonly #outputs = new Map<MethodKey, Solution[]>();
  readonly #gen: { max_new_tokens: number; batch_size: number };

  constructor(
    readonly backend: Backend,
    readonly c: RLMECRunConfig,
    readonly source: RLMECSource,
    seed: number,
    hooks: SeedHooks,
  ) {
    super(seed, hooks, c);
    this.#data = source.data(seed);
    checkSeedData(this.#data);
    this.#tokenizer = source.tokenizer;
    this.#result = { seed, accuracy: {}, skipped: {}, judge: [], steps: [], seconds: 0 };
    this.#gen = { max_new_tokens: c.max_new_tokens, batch_size: c.generation_batch_size };
  }

  protected async stages(): Promise<SeedResult> {
    const { c, seed } = this;
    const storage = this.hooks.storage;
    // With use_peft the start is frozen (stored as dtype says) and every role trained from it is
    // an adapter on its weights: the GRM, the policy and the baselines; π_ref is the start itself.
    const start = this.own(await this.#start());
    await this.#evaluate('sft', start);
    const samples = await this.#solve(start, seed);
    this.log(`sampled ${samples.length} solutions of ${this.#data.problems.length} problems; ${samples.filter((s) => s.correct).length} correct`);
    const grm = this.own(await this.#grm(start));
    const policy = this.own(await trainedCopy(start, c, { base: this.#basePath() }));
    for (let round = 0; round < c.rounds; round++) await this.#round(round, policy, start, grm, samples);
    const solutions = await this.#evaluate('rlmec', policy);
    if (storage && c.tokens_html_samples > 0) await writeTokensHtml(storage, c, this.#tokenizer, grm, solutions, this.#gen, `seed ${seed}, ${this.source.name}, ${this.backend.kind}`);
    if (c.baselines) await this.#baselines(start, samples, grm);
    if (storage) await writeTestOutputs(storage, this.#data.test, this.#outputs);
    return this.#result;
  }

  /** The seed's starting policy; with use_peft frozen, the base every adapter shares. */
  async #start(): Promise<CausalLM> {
    const start = await pipelineBase(await this.source.startPolicy(this.seed, () => this.stage('sft', 'loss')), this.c);
    return this.c.use_peft ? start.freeze() : start;
  }

  /** Where the start's weights are, as an adapter's base_model_name_or_path records it: the user's model, or the SFT stage's final/. */
  #basePath(): string | null {
    return this.c.model_name_or_path ?? this.finalPath('sft');
  }

  /**
   * The GRM before training: a copy of the start (with use_peft an adapter on it), or the
   * source's own GRM (with use_peft an adapter on that, which then holds its weights).
   */
  async #grm(start: CausalLM): Promise<CausalLM> {
    if (!this.source.grm) return trainedCopy(start, this.c, { base: this.#basePath() });
    const own = await this.source.grm(this.seed);
    if (!this.c.use_peft) return own;
    try {
      return await trainedRole(own, this.c, { base: this.c.grm_model_name_or_path });
    } finally {
      own.dispose(); // the adapter holds the weights now
    }
  }

  /** `model`'s sampled solutions of the seed's problems (num_samples each). */
  #solve(model: CausalLM, seed: number): Promise<Solution[]> {
    const c = this.c;
    return solveProblems(model, this.#tokenizer, this.#data.problems, { ...this.#gen, num_samples: c.num_samples, temperature: c.temperature, top_p: c.top_p, seed });
  }

  /** A model's greedy test accuracy, kept in the result with its solutions. */
  async #evaluate(key: MethodKey, model: CausalLM): Promise<Solution[]> {
    const { accuracy, solutions } = await testAccuracy(model, this.#tokenizer, this.#data.test, this.#gen);
    this.#result.accuracy[key] = accuracy;
    this.#outputs.set(key, solutions);
    this.log(`${METHODS.find((m) => m.key === key)!.label}: test accuracy ${(100 * accuracy).toFixed(1)}% (${solutions.filter((s) => s.correct).length}/${solutions.length})`);
    return solutions;
  }

  /**
   * One round: the policy's samples (the start's in the first round, the policy's own after),
   * the reward stage judging them (the GRM trains in the first round only), then RLMEC on
   * them against the policy as it was.
   */
  async #round(round: number, policy: CausalLM, start: CausalLM, grm: CausalLM, firstSamples: Solution[]): Promise<void> {
    const { c, seed } = this;
    this.hooks.signal?.throwIfAborted();
    const suffix = round ? `_round${round + 1}` : '';
    const samples = round ? await this.#solve(policy, seed + round * 7919) : firstSamples;
    const judged = await this.#judge(samples, grm, suffix, round === 0 ? await this.stage(`grm${suffix}`, 'loss') : undefined, round === 0);
    this.#result.judge.push(judged.report);
    // An adapter's first round starts from a zero update: the policy as it was is the start itself.
    this.#result.steps.push(await this.#trainRLMEC(`rlmec${suffix}`, policy, round === 0 && c.use_peft ? start : undefined, judged));
  }

  /**
   * The reward stage on `samples` (`label` names it in the log and samples<label>.jsonl); the
   * GRM trains first when `grmTrain` (its stage) is given; `compareModes`: also measure the
   * other rewrite mode (the report's rewrite table reads the first round's). Throws when
   * nothing is left to train on.
   */
  async #judge(samples: Solution[], grm: CausalLM, label: string, grmTrain: TrainOptions | undefined, compareModes: boolean): Promise<JudgeResult> {
    const { c, seed } = this;
    const t0 = performance.now();
    const judged = await judgeSamples(samples, {
      grm,
      tokenizer: this.#tokenizer,
      teacher: this.#data.teacher,
      grmConfig: sftConfig({ seed, max_steps: c.grm_max_steps, learning_rate: c.grm_learning_rate, per_device_train_batch_size: c.grm_batch_size, lr_scheduler_type: 'cosine', warmup_ratio: 0.05, save_steps: c.save_steps, logging_steps: c.logging_steps }),
      trainGRM: grmTrain !== undefined,
      rewriteMode: c.grm_rewrite_mode,
      compareRewriteModes: compareModes,
      ...this.#gen,
      ...(grmTrain ? { train: grmTrain } : {}),
    });
    // The seconds include the GRM's training when it trains here; they size the rewrite passes' cost.
    this.log(`reward stage${label}: ${describeJudge(judged.report, this.#data.teacher.name)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    if (this.hooks.storage) await writeSamples(this.hooks.storage, `samples${label}.jsonl`, this.#tokenizer, samples, judged);
    if (!judged.items.length) {
      const r = judged.report;
      throw new ConfigError(
        `RLMEC: nothing to train on in seed ${seed}${label}: all ${r.erroneous} erroneous samples were dropped because the GRM's rewrite never reached the right answer, ` +
          'and no sample was correct. Train the GRM longer (grm_max_steps, grm_learning_rate), give a rewrites_file, or start from a stronger policy.',
      );
    }
    return judged;
  }

  /** RLMEC on `judged`'s rows, training `policy` in place against `reference` (default: a frozen copy of the policy as it is); its optimizer steps. */
  async #trainRLMEC(stage: string, policy: CausalLM, reference: CausalLM | undefined, judged: JudgeResult): Promise<number> {
    const copy = reference ? undefined : policy.clone().freeze();
    try {
      const trainer = new RLMECTrainer({ policy, reference: reference ?? copy!, tokenizer: this.#tokenizer, config: this.c, train: judged.items });
      await trainer.train(await this.stage(stage, trainer.keyMetric));
      return trainer.totalSteps;
    } finally {
      copy?.dispose();
    }
  }

  /**
   * RLMEC on top of "SFT on RL problems" (the SFT model that has seen the RL problems'
   * reference solutions): its samples of the problems, judged by the seed's GRM as trained in
   * the first round (not retrained), RLMEC with it as π_ref, then its test accuracy.
   */
  async #rlmecOnSFT(sftMore: CausalLM, grm: CausalLM): Promise<void> {
    const t0 = performance.now();
    const samples = await this.#solve(sftMore, this.seed);
    this.log(`sft_more_rlmec: sampled ${samples.length} solutions in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${samples.filter((s) => s.correct).length} correct`);
    const judged = await this.#judge(samples, grm, '_sft_more', undefined, false);
    const steps = await this.#trainRLMEC('sft_more_rlmec', sftMore, undefined, judged);
    this.#result.sft_more_rlmec = { judge: judged.report, steps };
    await this.#evaluate('sft_more_rlmec', sftMore);
  }

  /** The baselines from the start on the first round's samples, for RLMEC's first-round budget; each evaluated, then freed. */
  async #baselines(start: CausalLM, samples: Solution[], grm: CausalLM): Promise<void> {
    const input: BaselineInput = {
      start, base: this.#basePath(), tokenizer: this.#tokenizer, config: this.c, seed: this.seed, problems: this.#data.problems, samples, steps: this.#result.steps[0]!, grm,
      train: (method, keyMetric) => this.stage(method, keyMetric),
    };
    for (const [key, train] of BASELINES) {
      this.hooks.signal?.throwIfAborted();
      const out = await train(input);
      if ('skipped' in out) {
        this.#result.skipped[key] = out.skipped;
        this.log(`${key}: skipped: ${out.skipped}`);
        continue;
      }
      try {
        await this.#evaluate(key, out.model);
        // RLMEC on top trains this model in place, after its own row is measured.
        if (key === 'sft_more') await this.#rlmecOnSFT(out.model, grm);
      } finally {
        out.model.dispose();
      }
    }
  }
}

/** outputs.jsonl: per test problem, each method's greedy solution and whether it is right. */
async function writeTestOutputs(storage: RunStorage, test: readonly ReasoningProblem[], outputs: Map<MethodKey, Solution[]>): Promise<void> {
  const rows = test.map((p, i) => ({
    question: p.question,
    answer: p.answer,
    outputs: Object.fromEntries([...outputs].map(([k, v]) => [k, v[i]!.text])),
    correct: Object.fromEntries([...outputs].map(([k, v]) => [k, v[i]!.correct])),
  }));
  await writeJsonl(storage, 'outputs.jsonl', rows);
}

function describeJudge(r: JudgeReport, teacher: string): string {
  const parts = [
    `${r.erroneous} erroneous and ${r.correct} correct samples`,
    `teacher (${teacher}) failed on ${r.teacherFailed}`,
    r.grmTrained ? `GRM examples ${r.grmExamples.locate} locate + ${r.grmExamples.rewrite} rewrite + ${r.grmExamples.copy} copy` : 'GRM as trained before (not retrained)',
    `GRM rewrites right ${r.rewritesCorrect}/${r.erroneous} (${r.rewriteMode}${r.rewriteMode === 'locate_then_rewrite' ? `, ${r.locateFallbacks} locate answers unusable: rewritten freely` : ''})`,
    ...GRM_REWRITE_MODES.filter((m) => m !== r.rewriteMode && r.rewriteSuccess[m] !== undefined).map((m) => `${m} would rewrite right ${r.rewriteSuccess[m]}/${r.erroneous}`),
    `dropped ${r.dropped} erroneous samples whose rewrite failed`,
    `removed ${r.duplicates} duplicate correct samples`,
  ];
  return parts.join('; ');
}

/** Every judged sample: its text, whether it is right, the GRM's rewrite and each token's reward. */
async function writeSamples(storage: RunStorage, path: string, tokenizer: Tokenizer, samples: readonly Solution[], judged: Pick<JudgeResult, 'judged' | 'rewrites'>): Promise<void> {
  const lines = samples.map((s, i) => {
    const { ids, probs } = judged.judged[i]!;
    return JSON.stringify({
      question: s.problem.question,
      prediction: s.text,
      correct: s.correct,
      rewrite: s.correct ? null : judged.rewrites[i],
      tokens: ids.map((id) => tokenizer.decode([id])),
      rewards: tokenRewards(probs, s.correct),
    });
  });
  await writeText(storage, path, `${lines.join('\n')}\n`);
}

/** tokens.html: the trained policy's test solutions, each token coloured by the GRM's reward. */
async function writeTokensHtml(storage: RunStorage, c: RLMECRunConfig, tokenizer: Tokenizer, grm: CausalLM, solutions: Solution[], gen: { max_new_tokens: number; batch_size: number }, note: string): Promise<void> {
  const wrong = solutions.filter((s) => !s.correct);
  const right = solutions.filter((s) => s.correct);
  const shown: Solution[] = [];
  for (let i = 0; shown.length < c.tokens_html_samples && (i < wrong.length || i < right.length); i++) {
    if (i < wrong.length) shown.push(wrong[i]!);
    if (i < right.length && shown.length < c.tokens_html_samples) shown.push(right[i]!);
  }
  const judged = shown.map((s) => ({ problem: s.problem, ids: s.ids }));
  const probs = await grmTokenProbabilities(grm, tokenizer, judged, gen);
  const rewrites = (await grmRewrites(grm, tokenizer, judged, { ...gen, mode: c.grm_rewrite_mode })).texts;
  const entries: TokenRewardEntry[] = shown.map((s, i) => {
    const rewards = tokenRewards(probs[i]!, s.correct);
    return {
      question: s.problem.question,
      correct: s.correct,
      answer: s.problem.answer,
      tokens: withEos(tokenizer, s.ids).map((id, k) => ({ text: tokenizer.decode([id]), reward: rewards[k]! })),
      ...(s.correct ? {} : { rewrite: rewrites[i]! }),
    };
  });
  const html = tokensHtml({ title: 'RLMEC: where the GRM puts the blame', notes: [note, 'Test solutions of the RLMEC policy (greedy); the GRM rewrite under each wrong one.'], entries });
  await writeText(storage, 'tokens.html', html);
}

/** Checks what a run needs before any work: at least one problem and one test problem. */
export function checkSeedData(d: SeedData): void {
  if (!d.problems.length) throw new ConfigError('RLMEC: there are no problems to sample on');
  if (!d.test.length) throw new ConfigError('RLMEC: there are no test problems to measure accuracy on');
}
