// RLMEC's pipeline pieces above the loss op (ALGORITHMS.md §5), in every runtime and on both
// backends: the teachers' minimum edits, the training rows (drops and duplicates), the
// policy step moving log-probs the way its rewards and imitation weights say, the trainer's
// metrics, the reward stage's accounting, and the table's statistics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, CausalLM, METHODS, RLMECTrainer, arithmeticSplits, builtinArithmeticSource, rlmecRunConfig, runRLMECExperiment, arithmeticTeacher, byteTokenizer, firstChangedLine, formatTable, fromArithmetic, gptConfig, grmTokenProbabilities, judgeSamples, memoryRunStorage,
  openRun, referenceTeacher, rewritesTeacher, rlmecConfig, rlmecRows, scoreSequences, sftConfig, solveProblems, subRunStorage, summarise,
  type JudgedPolicySample, type RLMECRow,
} from 'webrlhf';
import { legBackendInstance as backend } from './harness/runtime.js';
import { EOS, PROMPT, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('rlmec_pipeline');

const problem = { question: 'Ann has 3 apples. Gets 5 more. Gives away 2. How many apples now?', solution: '3+5=8\n8-2=6\nThe answer is 6', answer: 6 };

test('the reference teacher keeps the lines before the first wrong one verbatim and continues with the reference', () => {
  const t = referenceTeacher();
  assert.is(t.rewrite(problem, '3+5=8\n8-2=5\nThe answer is 5'), '3+5=8\n8-2=6\nThe answer is 6');
  assert.is(t.rewrite(problem, '3 + 5 = 8\n8-2=9\nThe answer is 9'), '3 + 5 = 8\n8-2=6\nThe answer is 6', 'a right line keeps its own spacing');
  assert.is(t.rewrite(problem, '3+5=9\n9-2=7\nThe answer is 7'), problem.solution);
  assert.is(t.rewrite(problem, '3+5=8'), problem.solution, 'a prediction that stops early is completed');
  assert.is(t.rewrite(problem, problem.solution), problem.solution, 'a right prediction is its own rewrite');
  assert.is(firstChangedLine('3+5=8\n8-2=5\nThe answer is 5', '3+5=8\n8-2=6\nThe answer is 6'), 1);
  assert.is(firstChangedLine('3+5=8', problem.solution), 1);
  assert.is(firstChangedLine(problem.solution, problem.solution), undefined);
});

test('the arithmetic teacher agrees with the reference teacher on its own problems, and a rewrites file is looked up exactly', () => {
  const s = arithmeticSplits({ seed: 4, difficulty: 2, sft: 0, rl: 20, test: 0 });
  const arithmetic = arithmeticTeacher(s.rl);
  const reference = referenceTeacher();
  for (const p of s.rl) {
    const rp = fromArithmetic(p);
    const wrong = rp.solution.replace(/=(\d+)\n/, (_, n) => `=${Number(n) + 1}\n`);
    assert.is(arithmetic.rewrite(rp, wrong), reference.rewrite(rp, wrong));
  }
  assert.is(arithmetic.rewrite({ ...problem, question: 'unknown' }, 'x'), undefined, 'a problem the task did not generate has no rewrite');
  const file = rewritesTeacher([{ question: problem.question, prediction: '3+5=9', rewrite: problem.solution }]);
  assert.is(file.rewrite(problem, '3+5=9'), problem.solution);
  assert.is(file.rewrite(problem, '3+5=9 '), undefined, 'the prediction must match exactly');
});

test('rlmecRows: one row for a correct sample, two for an erroneous one with a rewrite; failed rewrites dropped, duplicate correct samples removed', () => {
  const prompt = [1, 2];
  const samples: JudgedPolicySample[] = [
    { prompt, ids: [5, 6, EOS], correct: true, probs: [0.9, 0.2, 0.7] },
    { prompt, ids: [5, 6, EOS], correct: true, probs: [0.9, 0.2, 0.7] },
    { prompt, ids: [5, 7, EOS], correct: false, probs: [0.9, 0.45, 0.3], rewrite: [5, 6, EOS] },
    { prompt, ids: [5, 8, EOS], correct: false, probs: [0.9, 0.1, 0.3] },
  ];
  const r = rlmecRows(samples);
  assert.is(r.dropped, 1);
  assert.is(r.duplicates, 1);
  assert.is(r.items.length, 2);
  const [correct, erroneous] = r.items as [RLMECRow[], RLMECRow[]];
  assert.is(correct.length, 1);
  assert.equal(correct[0]!.rewards.map((x) => +x.toFixed(6)), [0.4, 0, 0.2]);
  assert.equal(correct[0]!.imitation, [0.5, 0.5, 0.5]);
  assert.is(erroneous.length, 2);
  assert.equal(erroneous[0]!.rewards.map((x) => +x.toFixed(6)), [0, -0.05, -0.1]);
  assert.equal(erroneous[0]!.imitation, [0, 0, 0]);
  assert.equal(erroneous[1]!.response, [5, 6, EOS]);
  assert.equal(erroneous[1]!.rewards, [0, 0, 0]);
  assert.equal(erroneous[1]!.imitation, [0.5, 1, 0.5], 'only the substituted token is edited');
});

/** Mean log-prob of `response` after PROMPT under `model`. */
async function meanLogprob(model: CausalLM, response: number[]): Promise<number> {
  const [s] = await scoreSequences(model, [{ prompt: toyTokenizer.encode(PROMPT), response }]);
  return s!.logprobs.reduce((a, b) => a + b, 0) / response.length;
}

/** How far (in mean log-prob) token rewards must move reward-only tokens in the trainer test. */
const MARGIN = 0.1;

/** Mean log-prob of the response tokens at `positions` after PROMPT under `model`. */
async function meanTokenLogprob(model: CausalLM, response: number[], positions: number[]): Promise<number> {
  const [s] = await scoreSequences(model, [{ prompt: toyTokenizer.encode(PROMPT), response }]);
  return positions.reduce((a, k) => a + s!.logprobs[k]!, 0) / positions.length;
}

test('the RLMEC trainer raises the log-probs of a rewrite it imitates and of a correct sample, moves reward-only tokens by their rewards\' signs, and logs its metrics', async () => {
  const be = await backend();
  const start = await toySFTModel(be);
  const prompt = toyTokenizer.encode(PROMPT);
  const wrong = [...toyTokenizer.encode('dddd'), EOS];
  const rewrite = [...toyTokenizer.encode('ddaa'), EOS];
  const good = [...toyTokenizer.encode('abab'), EOS];
  const items: RLMECRow[][] = [
    [
      { prompt, response: wrong, rewards: [0, 0, -0.1, -0.1, 0], imitation: [0, 0, 0, 0, 0] },
      { prompt, response: rewrite, rewards: [0, 0, 0, 0, 0], imitation: [0.5, 0.5, 1, 1, 0.5] },
    ],
    [{ prompt, response: good, rewards: [0.4, 0.4, 0.4, 0.4, 0.4], imitation: [0.5, 0.5, 0.5, 0.5, 0.5] }],
  ];
  const before = { rewrite: await meanLogprob(start, rewrite), good: await meanLogprob(start, good) };
  const policy = start.clone();
  const reference = start.clone().freeze();
  const storage = memoryRunStorage();
  const config = rlmecConfig({ max_steps: 12, learning_rate: 3e-3, per_device_train_batch_size: 2, logging_steps: 1, warmup_ratio: 0 });
  const trainer = new RLMECTrainer({ policy, reference, tokenizer: toyTokenizer, config, train: items });
  const result = await trainer.train({ run: await openRun(storage, { config }) });
  assert.is(result.step, 12);
  for (const key of ['loss', 'rl_loss', 'imitation_loss', 'ratio', 'clipfrac', 'grad_norm']) assert.ok(Number.isFinite(result.metrics[key]), key);
  const lines = new TextDecoder().decode(storage.files.get('metrics.jsonl')).trim().split('\n');
  assert.is(lines.length, 12);
  assert.ok(await meanLogprob(policy, rewrite) > before.rewrite + 0.1, 'the rewrite is imitated');
  assert.ok(await meanLogprob(policy, good) > before.good + 0.1, 'the correct sample is reinforced');

  // Reward-only rows, trained from the same start with nothing imitated anywhere (above, the penalised 'd's shared
  // their context with the imitated rewrite, which lowered them with the rewards off): only the token rewards can
  // move these, each by a margin.
  const penalised = [...toyTokenizer.encode('cbcb'), EOS];
  const rewarded = [...toyTokenizer.encode('bdbd'), EOS];
  const rewardOnly: RLMECRow[][] = [
    [{ prompt, response: penalised, rewards: [0, -0.5, -0.5, -0.5, 0], imitation: [0, 0, 0, 0, 0] }],
    [{ prompt, response: rewarded, rewards: [0, 0.5, 0.5, 0.5, 0], imitation: [0, 0, 0, 0, 0] }],
  ];
  const rewardedTokens = [1, 2, 3];
  const tokens = async (model: CausalLM) => ({ penalised: await meanTokenLogprob(model, penalised, rewardedTokens), rewarded: await meanTokenLogprob(model, rewarded, rewardedTokens) });
  const rewardPolicy = start.clone();
  const was = await tokens(start);
  await new RLMECTrainer({ policy: rewardPolicy, reference, tokenizer: toyTokenizer, config: rlmecConfig({ ...config, max_steps: 6 }), train: rewardOnly }).train();
  const now = await tokens(rewardPolicy);
  const moved = JSON.stringify({ before: was, after: now });
  assert.ok(now.penalised < was.penalised - MARGIN, `the penalised tokens lose ${MARGIN} of log-prob at least: ${moved}`);
  assert.ok(now.rewarded > was.rewarded + MARGIN, `the rewarded tokens gain ${MARGIN} of log-prob at least: ${moved}`);
  for (const m of [start, policy, rewardPolicy, reference]) m.dispose();
  assert.throws(() => new RLMECTrainer({ policy: start, reference: start, tokenizer: toyTokenizer, config, train: [] }), (e: unknown) => e instanceof ConfigError && /no training samples/.test((e as Error).message));
});

test('the reward stage accounts for every sample: teacher rewrites, GRM examples, rewrites kept or dropped (both modes measured, locate fallbacks counted), duplicates; truncated samples end with EOS', async () => {
  const be = await backend();
  const tokenizer = byteTokenizer();
  const s = arithmeticSplits({ seed: 2, difficulty: 1, sft: 0, rl: 4, test: 0 });
  const problems = s.rl.map(fromArithmetic);
  const model = CausalLM.create(be, gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 320, n_embd: 32, n_layer: 1, n_head: 2 }), { seed: 3 });
  const samples = await solveProblems(model, tokenizer, problems, { num_samples: 2, temperature: 1, max_new_tokens: 6, seed: 1 });
  // One sample made right by hand, twice: a correct sample and its duplicate.
  const right = { ...samples[0]!, text: problems[0]!.solution, ids: [...tokenizer.encode(problems[0]!.solution), tokenizer.eosTokenId!], correct: true };
  const all = [right, { ...right }, ...samples.slice(2)];
  const grm = model.clone();
  const judged = await judgeSamples(all, {
    grm,
    tokenizer,
    teacher: arithmeticTeacher(s.rl),
    grmConfig: sftConfig({ max_steps: 2, per_device_train_batch_size: 2, learning_rate: 3e-3 }),
    compareRewriteModes: true,
    max_new_tokens: 6,
    batch_size: 8,
  });
  const r = judged.report;
  // The GRM learned: teacher-forced after "Correct prediction:", it gives the teacher's rewrites
  // of the wrong samples more probability than before its SFT steps (+0.23 nats a token on
  // node-wasm; none if it does not train).
  const teacherRewrites = all.filter((x) => !x.correct).map((x) => ({ problem: x.problem, ids: tokenizer.encode(arithmeticTeacher(s.rl).rewrite(x.problem, x.text)!) }));
  const meanLogprob = async (m: CausalLM) => {
    const p = (await grmTokenProbabilities(m, tokenizer, teacherRewrites, { batch_size: 8 })).flat();
    return p.reduce((a, b) => a + Math.log(b), 0) / p.length;
  };
  const [before, after] = [await meanLogprob(model), await meanLogprob(grm)];
  assert.ok(after > before + 0.1, `the GRM's SFT: mean log-prob of the teacher's rewrites ${before.toFixed(3)} → ${after.toFixed(3)}`);
  assert.is(r.rewriteMode, 'locate_then_rewrite', 'the default mode');
  assert.ok(r.grmTrained);
  // Two SFT steps from random weights cannot write "The first error step is [k]": every
  // locate answer is unusable, and every sample is rewritten freely.
  assert.is(r.locateFallbacks, r.erroneous);
  assert.is(r.rewriteSuccess.locate_then_rewrite, r.rewritesCorrect);
  assert.is(r.rewriteSuccess.free, r.rewritesCorrect, 'all fell back: the free rewrites are the same');
  assert.is(r.samples, all.length);
  assert.is(r.correct + r.erroneous, all.length);
  assert.is(r.correct, 2 + samples.slice(2).filter((x) => x.correct).length);
  assert.is(r.teacherFailed, 0, 'the step checker rewrites every wrong sample');
  assert.is(r.grmExamples.locate, r.erroneous);
  assert.is(r.grmExamples.rewrite, r.erroneous);
  assert.is(r.rewritesCorrect + r.dropped, r.erroneous);
  assert.is(r.duplicates, 1);
  assert.is(judged.items.length, r.correct - r.duplicates + r.rewritesCorrect);
  const eos = tokenizer.eosTokenId!;
  const truncated = all.filter((x) => x.ids.at(-1) !== eos).length;
  assert.ok(truncated > 0, 'the samples stop at max_new_tokens 6');
  judged.judged.forEach((j, i) => {
    const appended = all[i]!.ids.at(-1) === eos ? 0 : 1;
    assert.equal(j.ids, [...all[i]!.ids, ...(appended ? [eos] : [])], 'y gets EOS when it hit max_new_tokens');
    assert.is(j.probs.length, j.ids.length, 'the appended EOS is scored too');
    assert.ok(j.probs.every((p) => p > 0 && p <= 1));
  });
  for (const rows of judged.items) {
    for (const row of rows) {
      assert.is(row.response.at(-1), eos, 'every row (rewards and imitation) ends with EOS');
      assert.is(row.rewards.length, row.response.length);
      assert.is(row.imitation.length, row.response.length);
    }
  }
  model.dispose();
  grm.dispose();
});

test('the table: mean and standard error over the seeds, and a row for a method that did not train', () => {
  const a = summarise('RLMEC', [0.5, 0.6, 0.7]);
  assert.ok(Math.abs(a.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(a.stderr - 0.1 / Math.sqrt(3)) < 1e-12, 'sample standard deviation / √n');
  assert.is(summarise('SFT', [0.4]).stderr, 0);
  const b = summarise('RFT', [NaN, 0.2, 0.2]);
  assert.is(b.mean, 0.2);
  const text = formatTable([a, b], [0, 1, 2]);
  assert.match(text, /RLMEC\s+60\.0% ± 5\.8%\s+50\.0%\s+60\.0%\s+70\.0%/);
  assert.match(text, /RFT\s+20\.0% ± 0\.0%\s+—\s+20\.0%\s+20\.0%/);
  // One seed: the figure alone, named by its seed; no ± of a single value.
  const one = formatTable([summarise('SFT', [0.4])], [42], { metric: 'win-rate' });
  assert.match(one, /^method\s+win-rate, seed 42\n-+\s+-+\nSFT\s+40\.0%$/);
  assert.not.match(one, /±/);
});

test('the run config: the GRPO and RLOO baselines take whole groups of num_samples completions per step', () => {
  const bad = (e: unknown) => e instanceof ConfigError && /grpo_batch_size \(32\) must be a multiple of num_samples \(5\).*e\.g\. grpo_batch_size 30/.test((e as Error).message);
  assert.throws(() => rlmecRunConfig({ num_samples: 5 }), bad);
  assert.is(rlmecRunConfig({ num_samples: 5, grpo_batch_size: 30 }).grpo_batch_size, 30);
  assert.is(rlmecRunConfig({ num_samples: 5, baselines: false }).num_samples, 5, 'no baselines: no group to fill');
});

test('the run config: grm_rewrite_mode is locate_then_rewrite or free; the table has RLMEC on top of SFT on RL problems beside that row', () => {
  assert.is(rlmecRunConfig().grm_rewrite_mode, 'locate_then_rewrite');
  assert.is(rlmecRunConfig({ grm_rewrite_mode: 'free' }).grm_rewrite_mode, 'free');
  assert.throws(() => rlmecRunConfig({ grm_rewrite_mode: 'locate' as 'free' }), (e: unknown) => e instanceof ConfigError && /grm_rewrite_mode/.test((e as Error).message) && /locate_then_rewrite/.test((e as Error).message));
  const keys = METHODS.map((m) => m.key);
  assert.is(keys.indexOf('sft_more_rlmec'), keys.indexOf('sft_more') + 1);
  assert.is(METHODS.find((m) => m.key === 'sft_more_rlmec')!.label, 'SFT on all problems → RLMEC');
});

test('subRunStorage: a stage writes under its own folder of the run', async () => {
  const storage = memoryRunStorage();
  const sub = subRunStorage(storage, 'seed-1/grm');
  await sub.mkdirp('');
  await sub.write('config.json', new TextEncoder().encode('{}'));
  assert.ok(storage.files.has('seed-1/grm/config.json'));
  assert.equal(await storage.list('seed-1'), ['grm']);
  assert.equal(await sub.list(''), ['config.json']);
  assert.is(sub.location, 'memory/seed-1/grm');
});

test.run();
