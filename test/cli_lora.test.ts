// `--use_peft` on every trainer of the command line, on a small Llama model (the toy task):
// run folders hold PEFT adapters (checkpoints too, with their optimizer state), a run resumes
// from one, PPO's four roles share the SFT base, and generate, grad and merge take --adapter.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CausalLM, generate, loadModel, parseSafetensors, saveModel, saveTokenizer } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { rng } from './harness/reference.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, TOY_LLAMA_CONFIG, randomLetters, toyPairs, toyTokenizer } from './harness/toy_task.js';

const test = suite('cli lora');

let root = '';
const path = (...p: string[]) => join(root, ...p);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const cli = (...args: string[]) => quiet(() => main([...args, '--backend', legBackend()]));
const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const LORA = ['--use_peft', 'true', '--lora_r', '4', '--lora_alpha', '8', '--lora_target_modules', 'all-linear'];

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-lora-'));
  const base = CausalLM.create(await backend(), TOY_LLAMA_CONFIG, { seed: 1 });
  await saveModel(base, path('base'));
  await saveTokenizer(toyTokenizer, path('base'));
  base.dispose();
  const r = rng(21);
  await writeFile(path('sft.jsonl'), jsonl(Array.from({ length: 128 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }))));
  await writeFile(path('prefs.jsonl'), jsonl(toyPairs(64, 22)));
  await writeFile(path('prompts.jsonl'), jsonl(Array.from({ length: 32 }, () => ({ prompt: PROMPT }))));
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('sft, reward, dpo and ppo with --use_peft write adapters; checkpoints resume; generate, grad and merge take --adapter', async () => {
  const sft = await cli('sft', '--model_name_or_path', path('base'), '--train_file', path('sft.jsonl'), '--output_dir', path('sft'),
    '--max_steps', '12', '--per_device_train_batch_size', '8', '--learning_rate', '1e-2', '--save_steps', '6', ...LORA);
  assert.is(sft.result, 0, sft.err);
  assert.equal((await readdir(path('sft', 'final'))).filter((f) => f.startsWith('adapter')).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
  const config = JSON.parse(await readFile(path('sft', 'final', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal([config.peft_type, config.r, config.lora_alpha, config.lora_dropout, config.base_model_name_or_path], ['LORA', 4, 8, 0.05, path('base')]);
  const losses = (await lines(path('sft', 'metrics.jsonl'))).map((m) => m.loss!);
  // The random base starts near the uniform ln V ≈ 5.55; 12 LoRA steps take about 0.25 off.
  assert.ok(Math.abs(losses[0]! - Math.log(toyTokenizer.vocabSize)) < 0.1, `first loss ${losses[0]}`);
  assert.ok(losses.at(-1)! < losses[0]! - 0.1, `LoRA SFT lowers the loss: ${losses[0]} → ${losses.at(-1)}`);
  // A checkpoint holds the adapter and its optimizer state only.
  const optimizer = parseSafetensors(await readFile(path('sft', 'checkpoint-00000006', 'optimizer.safetensors')), 'optimizer.safetensors');
  const adapterFile = parseSafetensors(await readFile(path('sft', 'final', 'adapter_model.safetensors')), 'adapter_model.safetensors');
  const adapterSize = [...adapterFile.values()].reduce((n, t) => n + t.data.length, 0);
  assert.ok(optimizer.get('model.exp_avg')!.data.length < 2 * adapterSize, 'optimizer state of the adapter, not the model');
  // Resume: a run stopped after its checkpoint continues to the same metrics.
  await rm(path('sft', 'final'), { recursive: true });
  const metrics = await readFile(path('sft', 'metrics.jsonl'), 'utf8');
  await writeFile(path('sft', 'metrics.jsonl'), metrics.split('\n').slice(0, 6).join('\n') + '\n');
  for (const c of (await readdir(path('sft'))).filter((d) => d.startsWith('checkpoint-') && d !== 'checkpoint-00000006')) await rm(path('sft', c), { recursive: true });
  const resumed = await cli('sft', '--model_name_or_path', path('base'), '--train_file', path('sft.jsonl'), '--output_dir', path('sft'),
    '--max_steps', '12', '--per_device_train_batch_size', '8', '--learning_rate', '1e-2', '--save_steps', '6', ...LORA, '--resume');
  assert.is(resumed.result, 0, resumed.err);
  assert.equal((await lines(path('sft', 'metrics.jsonl'))).map((m) => m.loss), losses.map((l) => l), 'the resumed run\'s losses');

  const reward = await cli('reward', '--model_name_or_path', path('base'), '--train_file', path('prefs.jsonl'), '--output_dir', path('reward'),
    '--max_steps', '6', '--per_device_train_batch_size', '8', '--learning_rate', '1e-2', ...LORA);
  assert.is(reward.result, 0, reward.err);
  const rewardConfig = JSON.parse(await readFile(path('reward', 'final', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.is(rewardConfig.task_type, 'SEQ_CLS');
  assert.ok(parseSafetensors(await readFile(path('reward', 'final', 'adapter_model.safetensors')), 'f').has('base_model.model.score.weight'), 'the score head saved as PEFT saves modules_to_save');
  // The zero score head starts at ln 2 (every pair tied); 6 steps separate the pairs (to about 0.52 on WASM).
  const rewardMetrics = await lines(path('reward', 'metrics.jsonl'));
  assert.ok(Math.abs(rewardMetrics[0]!.loss! - Math.LN2) < 1e-6, `first reward loss ${rewardMetrics[0]!.loss}`);
  assert.ok(rewardMetrics.at(-1)!.loss! < Math.LN2 - 0.1 && rewardMetrics.at(-1)!.margin! > 0.1, `reward loss ${rewardMetrics.at(-1)!.loss}, margin ${rewardMetrics.at(-1)!.margin}`);

  // DPO on a bf16 base (TRL's dtype key): the adapter trains on 16-bit frozen weights.
  const dpo = await cli('dpo', '--model_name_or_path', path('base'), '--train_file', path('prefs.jsonl'), '--output_dir', path('dpo'),
    '--max_steps', '4', '--per_device_train_batch_size', '8', '--learning_rate', '1e-2', ...LORA, '--dtype', 'bfloat16');
  assert.is(dpo.result, 0, dpo.err);
  const dpoMetrics = await lines(path('dpo', 'metrics.jsonl'));
  // π_ref is the base and the adapter starts at zero: the first step's margins are 0.
  assert.ok(Math.abs(dpoMetrics[0]!['rewards/margins']!) < 1e-6, `first margins ${dpoMetrics[0]!['rewards/margins']}`);
  // ... and four steps widen them (to about 0.055 on WASM).
  assert.ok(dpoMetrics.at(-1)!['rewards/margins']! > 0.02, `DPO margins ${dpoMetrics.map((m) => m['rewards/margins']!.toFixed(4)).join(' ')}`);

  const fullBf16 = await cli('sft', '--model_name_or_path', path('base'), '--train_file', path('sft.jsonl'), '--output_dir', path('bad'), '--dtype', 'bfloat16');
  assert.is(fullBf16.result, 1);
  assert.match(fullBf16.err, /dtype bfloat16 stores the model frozen in 16 bits.*set use_peft true/);

  // PPO: the reward model is an adapter on the same base as the policy: one set of weights for all four roles.
  await writeFile(path('ppo.json'), JSON.stringify({
    sft_model_path: path('base'), reward_model_path: path('reward', 'final'), train_file: path('prompts.jsonl'), output_dir: path('ppo'),
    per_device_train_batch_size: 8, num_mini_batches: 2, response_length: 6, max_steps: 2, learning_rate: 1e-3,
  }));
  const ppo = await cli('ppo', '--config', path('ppo.json'), ...LORA);
  assert.is(ppo.result, 0, ppo.err);
  assert.equal((await readdir(path('ppo', 'final'))).filter((f) => f.startsWith('adapter')).sort(), ['adapter_config.json', 'adapter_model.safetensors']);

  // The adapter folder works wherever a model does.
  const generated = await cli('generate', '--model', path('base'), '--adapter', path('sft', 'final'), '--prompt', PROMPT, '--max-new-tokens', '4', '--greedy');
  assert.is(generated.result, 0, generated.err);
  await writeFile(path('batch.json'), JSON.stringify({ input_ids: [[1, 5, 6, 7]], labels: [[1, 5, 6, 7]] }));
  const grad = await cli('grad', '--model', path('base'), '--adapter', path('sft', 'final'), '--batch', path('batch.json'), '--out', path('grad.safetensors'));
  assert.is(grad.result, 0, grad.err);
  const gradNames = [...parseSafetensors(await readFile(path('grad.safetensors')), 'grad').keys()].filter((k) => k.includes('lora_'));
  assert.equal(gradNames.sort(), [...adapterFile.keys()].sort(), 'gradients under the adapter file\'s names');
  const merged = await cli('merge', '--model', path('base'), '--adapter', path('sft', 'final'), '--out', path('merged'));
  assert.is(merged.result, 0, merged.err);
  const be = await backend();
  const [full, adapted] = [await loadModel(be, path('merged')), await loadModel(be, path('sft', 'final'))];
  const [a, b] = [await generate(full, [PROMPT], { tokenizer: toyTokenizer, do_sample: false, max_new_tokens: 6 }), await generate(adapted, [PROMPT], { tokenizer: toyTokenizer, do_sample: false, max_new_tokens: 6 })];
  assert.is(a[0]!.text, b[0]!.text, 'the merged folder generates as base + adapter');
  full.dispose();
  adapted.dispose();
});

test.run();
