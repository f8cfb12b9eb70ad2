// `webrlhf rlmec` end to end on a shrunken built-in task (two seeds: the table, both GRM
// rewrite modes' success, results.json, samples.jsonl, tokens.html, a run folder per stage;
// RLMEC and RLMEC on top of SFT on RL problems raise the log-probs of what they imitate over
// their starts') and on a user's files, with the bad
// input the issue names: a problem without an answer or with an unparseable one (the error
// names the line), and a GRM that never reaches the right answer (the run reports how many
// samples it dropped instead of training on nothing).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CausalLM, arithmeticSplits, byteTokenizer, fromArithmetic, gptConfig, isCorrect, loadModel, promptOf, saveModel, saveTokenizer, scoreSequences } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';

const test = suite('cli rlmec');

let root = '';
const path = (...p: string[]) => join(root, ...p);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A built-in run small enough for a test: a tiny model, a few problems, a few steps per stage. */
const TINY = [
  '--n_embd', '32', '--n_layer', '1', '--n_head', '2', '--n_positions', '320', '--sft_max_steps', '150', '--sft_learning_rate', '1e-2', '--task_difficulty', '1',
  '--task_sft_problems', '256', '--task_rl_problems', '12', '--task_test_problems', '6', '--num_samples', '3', '--max_new_tokens', '24',
  '--grm_max_steps', '4', '--max_steps', '3', '--ppo_batch_size', '6', '--grpo_batch_size', '6', '--tokens_html_samples', '4',
];

interface SampleLine { question: string; prediction: string; correct: boolean; rewrite: string | null }

const readJsonl = async <T>(file: string): Promise<T[]> => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as T);

/**
 * Mean log-prob per token, under the model in `folder`, of what RLMEC imitates on a
 * samples*.jsonl: each correct prediction and each rewrite that reaches the right answer
 * (the built-in task's seed-42 RL problems give the answers), with EOS.
 */
async function imitatedLogprob(folder: string, samples: SampleLine[]): Promise<number> {
  const problems = new Map(arithmeticSplits({ seed: 42, difficulty: 1, sft: 256, rl: 12, test: 6 }).rl.map((p) => [p.question, fromArithmetic(p)]));
  const tokenizer = byteTokenizer();
  const targets = samples.flatMap((s) => {
    const target = s.correct ? s.prediction : s.rewrite;
    return target !== null && isCorrect(problems.get(s.question)!, target) ? [{ prompt: tokenizer.encode(promptOf(s)), response: [...tokenizer.encode(target), tokenizer.eosTokenId!] }] : [];
  });
  assert.ok(targets.length >= 1, `${targets.length} imitated targets`);
  const model = await loadModel(await backend(), folder);
  try {
    const scores = await scoreSequences(model, targets);
    const logprobs = scores.flatMap((x, i) => x.logprobs.slice(0, targets[i]!.response.length));
    return logprobs.reduce((a, b) => a + b, 0) / logprobs.length;
  } finally {
    model.dispose();
  }
}

/** Nats per token 8 RLMEC steps raise its imitation targets by at least: measured +0.066 (RLMEC) and +0.060 (on SFT on RL problems) on node-wasm; no update gives 0. */
const LEARNED = 0.03;

const cli = (...args: string[]) => quiet(() => main(['rlmec', ...args, '--backend', legBackend()]));

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-rlmec-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('webrlhf rlmec --seeds 2 on the built-in task (a Llama policy) prints the table and writes results.json, samples, tokens.html and each stage\'s run folder', async () => {
  const r = await cli(...TINY, '--max_steps', '8', '--model_type', 'llama', '--seeds', '2', '--output_dir', path('builtin'));
  assert.is(r.result, 0, r.err);
  const labels = ['SFT (start)', 'SFT on RL problems', 'SFT on all problems → RLMEC', 'RFT', 'DPO', 'PPO', 'RLOO (accuracy)', 'GRPO (accuracy)', 'GRPO + GRM token rewards', 'RLMEC'];
  for (const label of labels) assert.match(r.out, new RegExp(`^${label.replace(/[()+]/g, '\\$&')}\\s+\\d+\\.\\d% ± \\d+\\.\\d%`, 'm'));
  assert.match(r.out, /seed 42\s+seed 43/);
  assert.match(r.err, /reward stage: \d+ erroneous and \d+ correct samples/);
  assert.match(r.err, /GRM rewrites right \d+\/\d+ \(locate_then_rewrite, \d+ locate answers unusable: rewritten freely\); free would rewrite right \d+\/\d+/);
  assert.match(r.err, /reward stage_sft_more: \d+ erroneous.*GRM as trained before \(not retrained\)/);
  assert.match(r.out, /GRM rewrite success \(free vs locate_then_rewrite; the rows use locate_then_rewrite\)/);
  for (const mode of ['free', 'locate_then_rewrite']) assert.match(r.out, new RegExp(`^${mode}\\s+\\d+\\.\\d% ± \\d+\\.\\d%`, 'm'));
  const results = JSON.parse(await readFile(path('builtin', 'results.json'), 'utf8'));
  assert.is(results.seeds.length, 2);
  assert.equal(results.table.map((row: { method: string }) => row.method), labels);
  assert.is(results.backend, legBackend());
  for (const row of results.table) assert.is(row.values.length, 2);
  assert.equal(results.rewrite_table.map((row: { method: string }) => row.method), ['free', 'locate_then_rewrite']);
  for (const seed of ['seed-42', 'seed-43']) {
    for (const stage of ['sft', 'grm', 'rlmec', 'sft_more', 'sft_more_rlmec', 'ppo', 'rloo', 'grpo', 'grpo_grm']) assert.ok(existsSync(path('builtin', seed, stage, 'final', 'model.safetensors')), `${seed}/${stage}/final`);
    // The group baselines sample as many completions as the others saw: 12 problems × 3, 6 a step.
    for (const stage of ['rloo', 'grpo', 'grpo_grm']) {
      const steps = (await readFile(path('builtin', seed, stage, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      assert.is(steps.length, 6, `${seed}/${stage}: 36 completions in steps of 6`);
      assert.ok(steps.every((m) => Number.isFinite(m['rewards/accuracy_reward/mean'])), `${stage} is rewarded by accuracy`);
      assert.is(steps.every((m) => Number.isFinite(m['rewards/grm_token_reward/mean'])), stage === 'grpo_grm', `${stage}: the GRM's token rewards only in GRPO + GRM`);
    }
    assert.equal(JSON.parse(await readFile(path('builtin', seed, 'rlmec', 'final', 'config.json'), 'utf8')).architectures, ['LlamaForCausalLM']);
    const samples = (await readFile(path('builtin', seed, 'samples.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(samples.length >= 33 && samples.length % 3 === 0, '3 samples of each of the (deduplicated) 12 problems');
    for (const s of samples) assert.is(s.tokens.length, s.rewards.length);
    const html = await readFile(path('builtin', seed, 'tokens.html'), 'utf8');
    assert.match(html, /<span class="tok/);
  }
  // Learning, not only finite numbers: each RLMEC raises the log-probs of what it imitates
  // over its start (the same samples, so the margin is RLMEC's own updates).
  const at = (stage: string) => path('builtin', 'seed-42', stage, 'final');
  const samples = await readJsonl<SampleLine>(path('builtin', 'seed-42', 'samples.jsonl'));
  const [start, rlmec] = [await imitatedLogprob(at('sft'), samples), await imitatedLogprob(at('rlmec'), samples)];
  assert.ok(rlmec > start + LEARNED, `RLMEC: mean log-prob of its imitation targets ${start.toFixed(3)} → ${rlmec.toFixed(3)}`);
  const onSFT = await readJsonl<SampleLine>(path('builtin', 'seed-42', 'samples_sft_more.jsonl'));
  const [sftMore, sftMoreRLMEC] = [await imitatedLogprob(at('sft_more'), onSFT), await imitatedLogprob(at('sft_more_rlmec'), onSFT)];
  assert.ok(sftMoreRLMEC > sftMore + LEARNED, `SFT on all problems → RLMEC: ${sftMore.toFixed(3)} → ${sftMoreRLMEC.toFixed(3)}`);
  assert.ok(results.seeds[0].sft_more_rlmec.steps > 0);
  const again = await cli(...TINY, '--output_dir', path('builtin'));
  assert.is(again.result, 1, 'a second run into the same folder is refused');
  assert.match(again.err, /already holds a run/);
});

test('webrlhf rlmec --use_peft true on a Llama policy: the GRM and the policy are adapter folders naming the SFT stage\'s final/ as their base, and load from there alone', async () => {
  const r = await cli(...TINY, '--model_type', 'llama', '--baselines', 'false', '--use_peft', 'true', '--lora_r', '4', '--output_dir', path('peft'));
  assert.is(r.result, 0, r.err);
  assert.match(r.out, /^RLMEC\s+\d+\.\d%/m);
  const base = path('peft', 'seed-42', 'sft', 'final');
  assert.ok(existsSync(join(base, 'model.safetensors')));
  for (const stage of ['grm', 'rlmec']) {
    const folder = path('peft', 'seed-42', stage, 'final');
    assert.not.ok(existsSync(join(folder, 'model.safetensors')), `${stage}: no copy of the weights`);
    assert.is(JSON.parse(await readFile(join(folder, 'adapter_config.json'), 'utf8')).base_model_name_or_path, base, stage);
    const model = await loadModel(await backend(), folder);
    assert.ok(model.adapter, `${stage} loads as an adapter on its base`);
    assert.is(model.arch.modelType, 'llama');
    model.dispose();
  }
});

async function userFiles(dir: string, problems: object[]) {
  const tokenizer = byteTokenizer();
  const model = CausalLM.create(await backend(), gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 320, n_embd: 32, n_layer: 1, n_head: 2 }), { seed: 2 });
  await saveModel(model, path(dir, 'model'));
  await saveTokenizer(tokenizer, path(dir, 'model'));
  model.dispose();
  await writeFile(path(dir, 'problems.jsonl'), jsonl(problems));
  return ['--model_name_or_path', path(dir, 'model'), '--train_file', path(dir, 'problems.jsonl'), '--eval_file', path(dir, 'problems.jsonl')];
}

const good = (i: number) => ({ question: `What is ${i} plus 1?`, solution: `${i}+1=${i + 1}\nThe answer is ${i + 1}`, answer: i + 1 });

test('a user\'s problem file without an answer, or with an unparseable one, stops the run with the line named', async () => {
  const missing = await userFiles('missing', [good(1), { question: 'q', solution: 'The answer is 2' }, good(3)]);
  const r = await cli(...TINY, ...missing, '--output_dir', path('missing', 'run'));
  assert.is(r.result, 1);
  assert.match(r.err, /problems\.jsonl line 2: field "answer" is missing/);
  const bad = await userFiles('bad', [good(1), good(2), { question: 'q', solution: 'The answer is 2', answer: 'two' }]);
  const b = await cli(...TINY, ...bad, '--output_dir', path('bad', 'run'));
  assert.is(b.result, 1);
  assert.match(b.err, /problems\.jsonl line 3: field "answer" must be a number like 42/);
  assert.not.ok(existsSync(path('bad', 'run', 'results.json')));
});

test('a GRM that never reaches the right answer: the run reports the samples it dropped rather than training on nothing', async () => {
  // An untrained policy never answers right, and the teacher (a rewrites file with no
  // matching line) gives the GRM nothing to learn from: every rewrite fails.
  const args = await userFiles('never', [good(1), good(2)]);
  await writeFile(path('never', 'rewrites.jsonl'), jsonl([{ question: 'unrelated', prediction: 'x', rewrite: 'y' }]));
  const r = await cli(...TINY, ...args, '--rewrites_file', path('never', 'rewrites.jsonl'), '--baselines', 'false', '--output_dir', path('never', 'run'));
  assert.is(r.result, 1);
  assert.match(r.err, /teacher \(.*rewrites\.jsonl\) failed on 6/);
  assert.match(r.err, /dropped 6 erroneous samples whose rewrite failed/);
  assert.match(r.err, /nothing to train on in seed 42: all 6 erroneous samples were dropped/);
});

test('webrlhf rlmec --help lists the pipeline\'s keys; a bad key is named', async () => {
  const h = await quiet(() => main(['rlmec', '--help']));
  assert.is(h.result, 0);
  for (const key of ['cliprange', 'imitation_weight', 'grm_max_steps', 'rewrites_file', 'seeds', 'num_samples', 'grpo_learning_rate', 'grpo_batch_size']) assert.match(h.out, new RegExp(`\\b${key}\\b`));
  const r = await cli('--imitation_weight', '-1', '--output_dir', path('badkey'));
  assert.is(r.result, 1);
  assert.match(r.err, /imitation_weight/);
});

test.run();
