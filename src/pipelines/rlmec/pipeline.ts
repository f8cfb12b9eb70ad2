// `webrlhf rlmec` as a library call: for each seed, the starting policy samples solutions,
// the reward stage (teacher → GRM → rewrites and token rewards) judges them, RLMEC trains on
// them (for `rounds` rounds), the baselines train from the same start on the same samples,
// and every model's greedy test accuracy goes into one table (mean ± s.e. over the seeds).
// With an output folder: config.json, results.json, and per seed samples.jsonl, outputs.jsonl (each method's test solutions), tokens.html
// and a run folder per trained stage.
import type { Backend } from '../../backend/backend.js';
import { ConfigError } from '../../errors.js';
import type { GPT } from '../../nn/gpt.js';
import { grmRewrites, grmTokenProbabilities } from '../../algorithms/rlmec/grm.js';
import { judgeSamples, type JudgeReport } from '../../algorithms/rlmec/judge.js';
import { RLMECTrainer } from '../../algorithms/rlmec/trainer.js';
import type { ReasoningProblem } from '../../data/problems.js';
import { tokenRewards } from '../../algorithms/rlmec/token_rewards.js';
import { tokensHtml, type TokenRewardEntry } from '../../report/tokens_html.js';
import { solveProblems, testAccuracy, type Solution } from '../../tasks/solve.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { sftConfig } from '../../algorithms/sft/config.js';
import { openRun } from '../../training/run/run_folder.js';
import { resolveRunStorage, type RunStorage } from '../../training/run/run_storage.js';
import { trainDPO, trainPPO, trainRFT, trainSFTOnProblems, type BaselineInput, type BaselineResult } from './baselines.js';
import { formatTable, summarise, type MethodSummary } from '../comparison_table.js';
import { seedFolder, stageOptions, writeJsonl, writeText, type ExperimentHooks } from '../stage.js';
import type { RLMECRunConfig } from './run_config.js';
import type { RLMECSource, SeedData } from './source.js';

/** The table's rows, in order: the start, the baselines, RLMEC. */
export const METHODS = [
  { key: 'sft', label: 'SFT (start)' },
  { key: 'sft_more', label: 'SFT on RL problems' },
  { key: 'rft', label: 'RFT' },
  { key: 'ppo', label: 'PPO' },
  { key: 'dpo', label: 'DPO' },
  { key: 'rlmec', label: 'RLMEC' },
] as const;
export type MethodKey = (typeof METHODS)[number]['key'];

/** output, log, progress, onStep, signal (experiment_stage.ts). */
export type RLMECExperimentHooks = ExperimentHooks;

export interface SeedResult {
  seed: number;
  accuracy: Partial<Record<MethodKey, number>>;
  /** Why a method has no accuracy in this seed. */
  skipped: Partial<Record<MethodKey, string>>;
  /** The reward stage of each round. */
  judge: JudgeReport[];
  /** RLMEC's optimizer steps per round (the baselines' budget is the first round's). */
  steps: number[];
  seconds: number;
}

export interface RLMECExperimentResult {
  backend: string;
  data: string;
  seeds: SeedResult[];
  table: MethodSummary[];
  /** The table as text (formatTable). */
  text: string;
  seconds: number;
}

export async function runRLMECExperiment(backend: Backend, config: RLMECRunConfig, source: RLMECSource, hooks: RLMECExperimentHooks = {}): Promise<RLMECExperimentResult> {
  const t0 = performance.now();
  const log = hooks.log ?? (() => {});
  const storage = hooks.output === undefined ? undefined : resolveRunStorage(hooks.output);
  if (storage) await openRun(storage, { config });
  const seeds = Array.from({ length: config.seeds }, (_, i) => config.seed + i);
  const results: SeedResult[] = [];
  for (const seed of seeds) {
    hooks.signal?.throwIfAborted();
    log(`seed ${seed}: ${source.name}`);
    results.push(await runSeed(backend, config, source, seed, { ...hooks, log, storage: await seedFolder(storage, seed) }));
  }
  const methods = METHODS.filter((m) => config.baselines || m.key === 'sft' || m.key === 'rlmec');
  const table = methods.map((m) => summarise(m.label, results.map((r) => r.accuracy[m.key] ?? NaN)));
  const result: RLMECExperimentResult = {
    backend: backend.kind,
    data: source.name,
    seeds: results,
    table,
    text: formatTable(table, seeds),
    seconds: (performance.now() - t0) / 1000,
  };
  if (storage) await writeText(storage, 'results.json', `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

interface SeedHooks extends RLMECExperimentHooks {
  log: (line: string) => void;
  storage: RunStorage | undefined;
}

async function runSeed(backend: Backend, c: RLMECRunConfig, source: RLMECSource, seed: number, hooks: SeedHooks): Promise<SeedResult> {
  const t0 = performance.now();
  const { tokenizer } = source;
  const data: SeedData = source.data(seed);
  checkSeedData(data);
  const result: SeedResult = { seed, accuracy: {}, skipped: {}, judge: [], steps: [], seconds: 0 };
  const gen = { max_new_tokens: c.max_new_tokens, batch_size: c.generation_batch_size };
  const stage = (method: string, keyMetric: string) => stageOptions(hooks, seed, method, { ...c, stage: method, seed }, keyMetric);
  const outputs = new Map<MethodKey, Solution[]>();
  const evaluate = async (key: MethodKey, model: GPT) => {
    const { accuracy, solutions } = await testAccuracy(model, tokenizer, data.test, gen);
    result.accuracy[key] = accuracy;
    outputs.set(key, solutions);
    hooks.log(`seed ${seed}: ${METHODS.find((m) => m.key === key)!.label}: test accuracy ${(100 * accuracy).toFixed(1)}% (${solutions.filter((s) => s.correct).length}/${solutions.length})`);
    return solutions;
  };
  const start = await source.startPolicy(seed, () => stage('sft', 'loss'));
  const owned: GPT[] = [start];
  try {
    await evaluate('sft', start);
    const samples = await solveProblems(start, tokenizer, data.problems, { ...gen, num_samples: c.num_samples, temperature: c.temperature, top_p: c.top_p, seed });
    hooks.log(`seed ${seed}: sampled ${samples.length} solutions of ${data.problems.length} problems; ${samples.filter((s) => s.correct).length} correct`);
    const grm = source.grm ? await source.grm(seed) : start.clone();
    owned.push(grm);
    const policy = start.clone();
    owned.push(policy);
    let roundSamples = samples;
    for (let round = 0; round < c.rounds; round++) {
      hooks.signal?.throwIfAborted();
      const suffix = round ? `_round${round + 1}` : '';
      if (round) roundSamples = await solveProblems(policy, tokenizer, data.problems, { ...gen, num_samples: c.num_samples, temperature: c.temperature, top_p: c.top_p, seed: seed + round * 7919 });
      const judged = await judgeSamples(roundSamples, {
        grm,
        tokenizer,
        teacher: data.teacher,
        grmConfig: sftConfig({ seed, max_steps: c.grm_max_steps, learning_rate: c.grm_learning_rate, per_device_train_batch_size: c.grm_batch_size, lr_scheduler_type: 'cosine', warmup_ratio: 0.05, save_steps: c.save_steps, logging_steps: c.logging_steps }),
        trainGRM: round === 0,
        ...gen,
        train: await stage(`grm${suffix}`, 'loss'),
      });
      result.judge.push(judged.report);
      hooks.log(`seed ${seed}: reward stage${suffix}: ${describeJudge(judged.report, data.teacher.name)}`);
      if (hooks.storage) await writeSamples(hooks.storage!, `samples${suffix}.jsonl`, tokenizer, roundSamples, judged);
      if (!judged.items.length) {
        const r = judged.report;
        throw new ConfigError(
          `RLMEC: nothing to train on in seed ${seed}${suffix}: all ${r.erroneous} erroneous samples were dropped because the GRM's rewrite never reached the right answer, ` +
            'and no sample was correct. Train the GRM longer (grm_max_steps, grm_learning_rate), give a rewrites_file, or start from a stronger policy.',
        );
      }
      const reference = policy.clone().freeze();
      try {
        const trainer = new RLMECTrainer({ policy, reference, tokenizer, config: c, train: judged.items });
        result.steps.push(trainer.totalSteps);
        await trainer.train(await stage(`rlmec${suffix}`, 'loss'));
      } finally {
        reference.dispose();
      }
    }
    const rlmecSolutions = await evaluate('rlmec', policy);
    if (hooks.storage && c.tokens_html_samples > 0) await writeTokensHtml(hooks.storage, c, tokenizer, grm, rlmecSolutions, gen, `seed ${seed}, ${source.name}, ${backend.kind}`);
    if (c.baselines) {
      const input: BaselineInput = { start, tokenizer, config: c, seed, problems: data.problems, samples, steps: result.steps[0]!, train: (m) => stage(m, m === 'ppo' ? 'objective/scores' : m === 'dpo' ? 'rewards/margins' : 'loss') };
      const runs: [MethodKey, (i: BaselineInput) => Promise<BaselineResult>][] = [['sft_more', trainSFTOnProblems], ['rft', trainRFT], ['ppo', trainPPO], ['dpo', trainDPO]];
      for (const [key, train] of runs) {
        hooks.signal?.throwIfAborted();
        const out = await train(input);
        if ('skipped' in out) {
          result.skipped[key] = out.skipped;
          hooks.log(`seed ${seed}: ${key}: skipped: ${out.skipped}`);
          continue;
        }
        try {
          await evaluate(key, out.model);
        } finally {
          out.model.dispose();
        }
      }
    }
    if (hooks.storage) await writeTestOutputs(hooks.storage, data.test, outputs);
  } finally {
    for (const m of owned) m.dispose();
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
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
    `GRM examples ${r.grmExamples.locate} locate + ${r.grmExamples.rewrite} rewrite + ${r.grmExamples.copy} copy`,
    `GRM rewrites right ${r.rewritesCorrect}/${r.erroneous}`,
    `dropped ${r.dropped} erroneous samples whose rewrite failed`,
    `removed ${r.duplicates} duplicate correct samples`,
  ];
  return parts.join('; ');
}

/** Every judged sample: its text, whether it is right, the GRM's rewrite and each token's reward. */
async function writeSamples(storage: RunStorage, path: string, tokenizer: Tokenizer, samples: readonly Solution[], judged: { judged: { probs: number[] }[]; rewrites: string[] }): Promise<void> {
  const lines = samples.map((s, i) => {
    const probs = judged.judged[i]!.probs;
    return JSON.stringify({
      question: s.problem.question,
      prediction: s.text,
      correct: s.correct,
      rewrite: s.correct ? null : judged.rewrites[i],
      tokens: s.ids.map((id) => tokenizer.decode([id])),
      rewards: tokenRewards(probs, s.correct),
    });
  });
  await writeText(storage, path, `${lines.join('\n')}\n`);
}

/** tokens.html: the trained policy's test solutions, each token coloured by the GRM's reward. */
async function writeTokensHtml(storage: RunStorage, c: RLMECRunConfig, tokenizer: Tokenizer, grm: GPT, solutions: Solution[], gen: { max_new_tokens: number; batch_size: number }, note: string): Promise<void> {
  const wrong = solutions.filter((s) => !s.correct);
  const right = solutions.filter((s) => s.correct);
  const shown: Solution[] = [];
  for (let i = 0; shown.length < c.tokens_html_samples && (i < wrong.length || i < right.length); i++) {
    if (i < wrong.length) shown.push(wrong[i]!);
    if (i < right.length && shown.length < c.tokens_html_samples) shown.push(right[i]!);
  }
  const judged = shown.map((s) => ({ problem: s.problem, ids: s.ids }));
  const probs = await grmTokenProbabilities(grm, tokenizer, judged, gen);
  const rewrites = await grmRewrites(grm, tokenizer, judged, gen);
  const entries: TokenRewardEntry[] = shown.map((s, i) => {
    const rewards = tokenRewards(probs[i]!, s.correct);
    return {
      question: s.problem.question,
      correct: s.correct,
      answer: s.problem.answer,
      tokens: s.ids.map((id, k) => ({ text: tokenizer.decode([id]), reward: rewards[k]! })),
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
