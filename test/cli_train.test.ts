// `webrlhf sft|reward|dpo|ppo` on the toy task (test/harness/toy_task.ts) with files the test
// writes: the whole pipeline from the command line, a PPO run SIGKILLed during training and
// during a checkpoint write and resumed to exactly the uninterrupted run's metrics, and bad
// input (JSONL lines, config keys, a checkpoint of another model shape).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKPOINT_PAUSE_ENV, CausalLM, loadModel, saveModel, saveTokenizer } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { runNode, sameTree, tree } from './harness/child.js';
import { quiet } from './harness/console.js';
import { rng } from './harness/reference.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, TOY_CONFIG, randomLetters, toyPairs, toyTokenizer } from './harness/toy_task.js';

const test = suite('cli train');

let root = '';
const path = (...p: string[]) => join(root, ...p);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

async function cli(...args: string[]) {
  const r = await quiet(() => main([...args, '--backend', legBackend()]));
  return r;
}

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-train-'));
  const base = CausalLM.create(await backend(), TOY_CONFIG, { seed: 1 });
  await saveModel(base, path('base'));
  await saveTokenizer(toyTokenizer, path('base'));
  base.dispose();
  const r = rng(11);
  await writeFile(path('sft.jsonl'), jsonl(Array.from({ length: 256 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }))));
  await writeFile(path('prefs.jsonl'), jsonl(toyPairs(256, 12)));
  await writeFile(path('prefs_eval.jsonl'), jsonl(toyPairs(64, 13)));
  await writeFile(path('prompts.jsonl'), jsonl(Array.from({ length: 64 }, () => ({ prompt: PROMPT }))));
  await writeFile(path('ppo.json'), JSON.stringify({
    sft_model_path: path('sft', 'final'), reward_model_path: path('reward', 'final'), train_file: path('prompts.jsonl'),
    per_device_train_batch_size: 8, num_mini_batches: 2, response_length: 8, max_steps: 6, save_steps: 2,
    learning_rate: 1e-3, temperature: 1, missing_eos_penalty: 1,
  }));
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('sft → reward → dpo → ppo from the command line: run folders, metrics keys, final models', async () => {
  const sft = await cli('sft', '--model_name_or_path', path('base'), '--train_file', path('sft.jsonl'), '--output_dir', path('sft'),
    '--max_steps', '40', '--per_device_train_batch_size', '16', '--learning_rate', '3e-3', '--save_steps', '20', '--lr_scheduler_type', 'cosine', '--warmup_steps', '4');
  assert.is(sft.result, 0, sft.err);
  assert.match(sft.out, /sft: 40 steps/);
  const sftMetrics = await lines(path('sft', 'metrics.jsonl'));
  assert.equal(sftMetrics.map((m) => m.step), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.is(sftMetrics[0]!.lr, 0, 'the first update of a warm-up runs at 0, as in Transformers');
  assert.ok(sftMetrics[39]!.loss! < sftMetrics[0]!.loss! * 0.5, `SFT loss ${sftMetrics[0]!.loss} → ${sftMetrics[39]!.loss}`);
  assert.equal((await readdir(path('sft'))).sort(), ['checkpoint-00000020', 'config.json', 'final', 'metrics.jsonl']);
  assert.is(JSON.parse(await readFile(path('sft', 'config.json'), 'utf8')).learning_rate, 3e-3);

  const reward = await cli('reward', '--model_name_or_path', path('sft', 'final'), '--train_file', path('prefs.jsonl'), '--eval_file', path('prefs_eval.jsonl'),
    '--output_dir', path('reward'), '--num_train_epochs', '2', '--per_device_train_batch_size', '16', '--learning_rate', '2e-3', '--center_rewards_coefficient', '0.01');
  assert.is(reward.result, 0, reward.err);
  const rewardMetrics = await lines(path('reward', 'metrics.jsonl'));
  const last = rewardMetrics.at(-1)!;
  for (const key of ['loss', 'accuracy', 'margin', 'mean_reward', 'grad_norm', 'lr', 'epoch', 'eval_accuracy', 'eval_margin']) assert.ok(Number.isFinite(last[key]), `reward metric ${key}`);
  assert.is(last.step, 32);
  assert.ok(last.eval_accuracy! >= 0.8, `held-out accuracy ${last.eval_accuracy}`);

  const dpo = await cli('dpo', '--model_name_or_path', path('sft', 'final'), '--train_file', path('prefs.jsonl'), '--output_dir', path('dpo'),
    '--max_steps', '8', '--per_device_train_batch_size', '16', '--learning_rate', '2e-3', '--gradient_checkpointing', 'true');
  assert.is(dpo.result, 0, dpo.err);
  assert.is(JSON.parse(await readFile(path('dpo', 'config.json'), 'utf8')).gradient_checkpointing, true);
  const dpoMetrics = await lines(path('dpo', 'metrics.jsonl'));
  for (const key of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) assert.ok(Number.isFinite(dpoMetrics.at(-1)![key]), `dpo metric ${key}`);
  // The policy starts as the reference (margin 0, loss ln 2) and moves towards the chosen side.
  const margins = dpoMetrics.map((m) => m['rewards/margins']!);
  assert.ok(Math.abs(margins[0]!) < 1e-6 && Math.abs(dpoMetrics[0]!.loss! - Math.LN2) < 1e-5, `first step: margin ${margins[0]}, loss ${dpoMetrics[0]!.loss}`);
  assert.ok(margins.at(-1)! > 0.1 && dpoMetrics.at(-1)!.loss! < Math.LN2 - 0.05, `DPO margins ${margins.map((m) => m.toFixed(3)).join(' ')}`);

  const ppo = await cli('ppo', '--config', path('ppo.json'), '--output_dir', path('ppo'));
  assert.is(ppo.result, 0, ppo.err);
  const ppoMetrics = await lines(path('ppo', 'metrics.jsonl'));
  assert.is(ppoMetrics.length, 6);
  for (const key of ['objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores', 'policy/approxkl_avg', 'policy/clipfrac_avg',
    'policy/entropy_avg', 'loss/policy_avg', 'loss/value_avg', 'val/clipfrac_avg', 'val/ratio', 'val/ratio_var', 'val/num_eos_tokens', 'eps', 'episode', 'lr']) {
    assert.ok(Number.isFinite(ppoMetrics[5]![key]), `ppo metric ${key}`);
  }
  assert.is(ppoMetrics[5]!.episode, 6 * 16);
  // The reward model's score of the policy's samples rises (by about 1.3 on WASM).
  const scores = ppoMetrics.map((m) => m['objective/scores']!);
  assert.ok((scores[4]! + scores[5]!) / 2 > scores[0]! + 0.5, `PPO objective/scores ${scores.map((x) => x.toFixed(2)).join(' ')}`);
  const rollouts = await lines(path('ppo', 'rollouts.jsonl'));
  assert.is(rollouts.length, 6 * 16);
  assert.equal(Object.keys(rollouts[0]!).sort(), ['eos', 'kl', 'prompt', 'response', 'score', 'step']);
  assert.ok(existsSync(path('ppo', 'checkpoint-00000002', 'value_model', 'model.safetensors')), 'the value model is checkpointed');

  // The final policy is a model folder webrlhf generate reads, and a trained one: its greedy
  // response keeps to the task's letters (a, b, c, d), and its mean log-prob is far above the
  // −ln V ≈ −5.6 of a uniform policy (the random base model's is about −4.9; this one's −1.3).
  const gen = await cli('generate', '--model', path('ppo', 'final'), '--prompt', PROMPT, '--max-new-tokens', '8', '--greedy');
  assert.is(gen.result, 0, gen.err);
  const sample = /mean log-prob (-?[\d.]+)\n(.*)\n/.exec(gen.out);
  assert.ok(sample, gen.out);
  assert.ok(sample[2]!.startsWith(PROMPT) && /^[abcd]*$/.test(sample[2]!.slice(PROMPT.length)), `the greedy response of ${JSON.stringify(sample[2])} keeps to the task's letters`);
  assert.ok(Number(sample[1]) > -Math.log(toyTokenizer.vocabSize) + 2, `mean log-prob ${sample[1]} of the greedy response`);
});

test('a PPO run SIGKILLed during training and during a checkpoint write resumes to the uninterrupted run\'s metrics', async () => {
  const cliJs = resolve('bin/webrlhf.js'); // the command as npm installs it (dist/ is built by test/run.mjs first)
  const args = (out: string, ...more: string[]) => [cliJs, 'ppo', '--config', path('ppo.json'), '--output_dir', path(out), '--backend', 'wasm', ...more];
  const straight = await runNode(args('straight'));
  assert.is(straight.code, 0, straight.err);
  assert.match(straight.out, /ppo: 6 steps on wasm/);
  // Killed during training: once the progress line of step 3 is out (checkpoint 2 is written).
  const killed = await runNode(args('killed'), { killWhen: (_, err) => /step 3\/6/.test(err) });
  assert.is(killed.signal, 'SIGKILL', `exit ${killed.code}: ${killed.out} ${killed.err}`);
  assert.ok(!existsSync(path('killed', 'final')), 'killed before the end');
  // Resumed, and killed in the middle of writing checkpoint 4 (each file of it waits 300 ms).
  const midWrite = await runNode(args('killed', '--resume'), {
    env: { [CHECKPOINT_PAUSE_ENV]: '300' },
    killWhen: () => existsSync(path('killed', 'checkpoint-00000004.tmp')),
  });
  assert.is(midWrite.signal, 'SIGKILL', midWrite.err);
  assert.ok(existsSync(path('killed', 'checkpoint-00000002', 'trainer_state.json')), 'the completed checkpoint is intact');
  const before = await tree(path('killed', 'checkpoint-00000002'));
  const done = await runNode(args('killed', '--resume'));
  assert.is(done.code, 0, done.err);
  assert.match(done.err, /resuming from .*checkpoint-00000002/);
  sameTree(await tree(path('killed', 'checkpoint-00000002')), before, 'checkpoint 2 after the resumed run');
  // Everything but the wall-clock rate is exactly the uninterrupted run's.
  const strip = (m: Record<string, number>[]) => m.map(({ eps: _eps, ...rest }) => rest);
  assert.equal(strip(await lines(path('killed', 'metrics.jsonl'))), strip(await lines(path('straight', 'metrics.jsonl'))));
  assert.equal(await lines(path('killed', 'rollouts.jsonl')), await lines(path('straight', 'rollouts.jsonl')));
  sameTree(await tree(path('killed', 'final')), await tree(path('straight', 'final')), 'final/');
});

test('bad input: JSONL lines, config keys and types, a checkpoint of another model shape', async () => {
  await writeFile(path('bad.jsonl'), `${JSON.stringify({ prompt: '>', completion: 'ab' })}\nnot json\n${JSON.stringify({ prompt: '>' })}\n`);
  const base = ['--model_name_or_path', path('base'), '--train_file', path('bad.jsonl'), '--max_steps', '1'];
  const bad = await cli('sft', ...base, '--output_dir', path('bad1'));
  assert.is(bad.result, 1);
  assert.match(bad.err, /bad\.jsonl line 2: not valid JSON/);
  const skipped = await cli('sft', ...base, '--output_dir', path('bad2'), '--skip_bad_lines');
  assert.is(skipped.result, 0, skipped.err);
  assert.match(skipped.err, /skipped 2/);

  await writeFile(path('typo.json'), JSON.stringify({ learning_rte: 1e-3 }));
  const typo = await cli('sft', '--config', path('typo.json'), ...base, '--output_dir', path('bad3'));
  assert.is(typo.result, 1);
  assert.match(typo.err, /unknown key "learning_rte"; did you mean "learning_rate"\?/);
  const type = await cli('sft', ...base, '--output_dir', path('bad4'), '--per_device_train_batch_size', 'eight');
  assert.is(type.result, 1);
  assert.match(type.err, /per_device_train_batch_size/);

  // A reward model folder without a score head would score everything 0: refused by name.
  const noHead = await cli('ppo', '--config', path('ppo.json'), '--reward_model_path', path('sft', 'final'), '--output_dir', path('bad5'));
  assert.is(noHead.result, 1);
  assert.match(noHead.err, /reward_model_path: the model folder has no score head \(score\.weight\); give a folder written by webrlhf reward/);
  const evalPPO = await cli('ppo', '--config', path('ppo.json'), '--eval_file', path('prompts.jsonl'), '--output_dir', path('bad6'));
  assert.is(evalPPO.result, 1);
  assert.match(evalPPO.err, /eval_file is not used/);

  // Resuming the SFT run with a model of another width: CheckpointError, and the run folder untouched.
  const other = CausalLM.create(await backend(), { ...TOY_CONFIG, n_embd: 16 }, { seed: 2 });
  await saveModel(other, path('wide'));
  await saveTokenizer(toyTokenizer, path('wide'));
  other.dispose();
  const sftBefore = await tree(path('sft'));
  const wrong = await cli('sft', '--model_name_or_path', path('wide'), '--train_file', path('sft.jsonl'), '--output_dir', path('sft'), '--max_steps', '40',
    '--per_device_train_batch_size', '16', '--learning_rate', '3e-3', '--save_steps', '20', '--lr_scheduler_type', 'cosine', '--warmup_steps', '4', '--resume');
  assert.is(wrong.result, 1);
  assert.match(wrong.err, /CheckpointError/);
  sameTree(await tree(path('sft')), sftBefore, 'the run folder after a failed resume');
  assert.ok((await loadModel(await backend(), path('sft', 'final'))).config.n_embd === TOY_CONFIG.n_embd);
});

test.run();
