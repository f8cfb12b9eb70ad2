// `webrlhf grpo|rloo` on the toy task with files the test writes: reward functions from a
// module file (every export, or one by #name) and built-ins with weights, dataset columns
// reaching the functions, the run folder (TRL's metric keys, rollouts.jsonl, final/), RLOO on
// a LoRA adapter (the base as π_ref), and the errors a user meets: a function that throws,
// an entry that is neither built-in nor a file, weights that do not match.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CausalLM, importRewardFuncs, saveModel, saveTokenizer } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { runDeno } from './harness/child.js';
import { quiet } from './harness/console.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, TOY_CONFIG, toyTokenizer } from './harness/toy_task.js';

const test = suite('cli grpo');

let root = '';
const path = (...p: string[]) => join(root, ...p);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const cli = (...args: string[]) => quiet(() => main([...args, '--backend', legBackend()]));

const REWARDS = `
// The toy task's rewards: how many "a" a completion has, and whether it says the row's letter.
export function count_a(prompts, completions) {
  return completions.map((c) => [...c].filter((x) => x === 'a').length);
}
export const says_letter = (prompts, completions, { letter }) => completions.map((c, i) => (letter[i] === undefined ? null : Number(c.includes(letter[i]))));
export function broken(prompts, completions, { letter }) {
  return completions.map((c, i) => {
    if (letter[i] === 'd') throw new Error('cannot score letter d');
    return 0;
  });
}
`;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-grpo-'));
  const base = CausalLM.create(await backend(), TOY_CONFIG, { seed: 1 });
  await saveModel(base, path('base'));
  await saveTokenizer(toyTokenizer, path('base'));
  base.dispose();
  await writeFile(path('prompts.jsonl'), jsonl(Array.from({ length: 8 }, (_, i) => ({ prompt: PROMPT, letter: 'abcd'[i % 4] }))));
  await writeFile(path('rewards.mjs'), REWARDS);
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const common = ['--train_file', '', '--max_completion_length', '6', '--num_generations', '4', '--per_device_train_batch_size', '8', '--max_steps', '3', '--learning_rate', '1e-3', '--save_steps', '2'];
const args = (...extra: string[]) => {
  const a = [...common, ...extra];
  a[1] = path('prompts.jsonl');
  return a;
};

test('webrlhf grpo: module functions (#name) and built-ins with weights, dataset columns, TRL metric keys, rollouts.jsonl and final/', async () => {
  const r = await cli('grpo', '--model_name_or_path', path('base'), '--output_dir', path('grpo'), ...args('--reward_funcs', `${path('rewards.mjs')}#count_a,${path('rewards.mjs')}#says_letter,repetition:2`, '--reward_weights', '1,0.5,0.1', '--beta', '0.02'));
  assert.is(r.result, 0, r.err);
  assert.match(r.out, /grpo: 3 steps/);
  const metrics = await lines(path('grpo', 'metrics.jsonl'));
  assert.equal(metrics.map((m) => m.step), [1, 2, 3]);
  for (const key of ['reward', 'reward_std', 'frac_reward_zero_std', 'rewards/count_a/mean', 'rewards/says_letter/mean', 'rewards/repetition_penalty_reward/mean', 'completions/mean_length', 'completions/clipped_ratio', 'kl', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'loss', 'grad_norm', 'num_tokens']) {
    assert.ok(Number.isFinite(metrics[2]![key]), `${key} = ${metrics[2]![key]}`);
  }
  const rollouts = await lines(path('grpo', 'rollouts.jsonl'));
  assert.is(rollouts.length, 3 * 8);
  assert.equal(Object.keys(rollouts[0]!.rewards as object), ['count_a', 'says_letter', 'repetition_penalty_reward']);
  const config = JSON.parse(await readFile(path('grpo', 'config.json'), 'utf8'));
  assert.equal(config.reward_weights, [1, 0.5, 0.1]);
  assert.ok((await readFile(path('grpo', 'final', 'model.safetensors'))).length > 0);
});

test('webrlhf rloo on a LoRA adapter: β > 0 with the base as π_ref, an adapter folder in final/', async () => {
  const r = await cli('rloo', '--model_name_or_path', path('base'), '--output_dir', path('rloo'), ...args('--reward_funcs', `${path('rewards.mjs')}#count_a`, '--use_peft', '--lora_r', '4'));
  assert.is(r.result, 0, r.err);
  const metrics = await lines(path('rloo', 'metrics.jsonl'));
  assert.ok(Number.isFinite(metrics.at(-1)!.kl), 'the KL of the reward is reported');
  assert.ok((await readFile(path('rloo', 'final', 'adapter_model.safetensors'))).length > 0);
  assert.is(JSON.parse(await readFile(path('rloo', 'final', 'adapter_config.json'), 'utf8')).r, 4);
});

test('errors name the function, the completion and the fix; --help lists the keys and the reward_funcs forms', async () => {
  const thrown = await cli('grpo', '--model_name_or_path', path('base'), '--output_dir', path('bad'), ...args('--reward_funcs', `${path('rewards.mjs')}#broken`));
  assert.is(thrown.result, 1);
  assert.match(thrown.err, /RewardFunctionError: reward function broken threw on completion \d+ \(prompt ">"\): cannot score letter d/);
  const unknown = await cli('grpo', '--model_name_or_path', path('base'), '--output_dir', path('bad'), ...args('--reward_funcs', 'acuracy'));
  assert.is(unknown.result, 1);
  assert.match(unknown.err, /"acuracy" is neither a built-in nor an existing file or folder; each entry is accuracy, format:REGEX/);
  const weights = await cli('grpo', '--model_name_or_path', path('base'), '--output_dir', path('bad'), ...args('--reward_funcs', 'accuracy', '--reward_weights', '1,2'));
  assert.is(weights.result, 1);
  assert.match(weights.err, /reward_weights has 2 weight\(s\) for 1 reward function/);
  const missing = await cli('grpo', '--model_name_or_path', path('base'), '--output_dir', path('bad'), ...args('--reward_funcs', `${path('rewards.mjs')}#nope`));
  assert.match(missing.err, /exports no function named "nope" \(its exported functions: broken, count_a, says_letter\)/);
  const help = await cli('grpo', '--help');
  assert.is(help.result, 0);
  for (const key of ['num_generations', 'loss_type', 'scale_rewards', 'epsilon_high', 'importance_sampling_level', 'mask_truncated_completions', 'reward_weights']) assert.match(help.out, new RegExp(`\\n  ${key}`));
  assert.match(help.out, /soft_overlong\[:CACHE\]/);
});

test('the CLI under Deno loads a reward module the same way', async () => {
  const r = await runDeno(['bin/webrlhf.js', 'grpo', '--model_name_or_path', path('base'), '--output_dir', path('deno'), ...args('--reward_funcs', `${path('rewards.mjs')}#count_a`, '--max_steps', '1'), '--backend', 'wasm']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /grpo: 1 steps on wasm/);
  const metrics = await lines(path('deno', 'metrics.jsonl'));
  assert.ok(Number.isFinite(metrics[0]!['rewards/count_a/mean']));
});

test('importRewardFuncs: every exported function in the namespace\'s order, each named after its export', async () => {
  const funcs = await importRewardFuncs(new URL(`file://${path('rewards.mjs')}`));
  assert.equal(funcs.map((f) => f.name), ['broken', 'count_a', 'says_letter']);
});

test.run();
